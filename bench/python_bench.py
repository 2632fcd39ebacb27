#!/usr/bin/env python3
"""The Python package against the C++ call beneath it and against FAISS's own Python binding.

    PYTHONPATH=build/python OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/python_bench.py

Measures, on one memory of --slots clustered unit keys (--dim wide, --index, inner product):
  read      m.read(Q, k) with a batch of --batch queries, against the same call timed in a C++
            loop on the same memory and queries (engram._engram._bench.time_cpp): the throughput
            ratio C++ time / Python time (target >= 0.95);
  read-1    a single-query read: Python time - C++ time, in microseconds (target <= 10 us),
            on the big memory and on a 1,000-slot one where the search itself is short;
  search    m.search(Q, k) against the python3-faiss index of the same factory string (--index:
            Flat, HNSW32, IVF1024,Flat, ...; the same efConstruction, efSearch and nprobe as
            Engram's memory) on the same keys and queries: the ratio FAISS time / Engram time
            (target >= 0.9).
Both sides of a ratio run interleaved (A B B A ...) in this process, and the best of --rounds
medians is kept: the machines are shared and noisy, the ratios are what to read.
"""
import argparse
import re
import statistics
import tempfile
import time

import numpy as np

import engram
from engram._engram import _bench


def clustered_rows(n, d, seed):
    """Unit rows around 1,000 fixed random centres (per-coordinate spread 0.12, as engram-bench's
    data): the cluster structure real embeddings have, so approximate indexes reach high recall
    and two builds of one index type return the same neighbours."""
    centres = unit_rows(1000, d, 12345)
    rng = np.random.default_rng(seed)
    x = centres[rng.integers(0, 1000, n)] + 0.12 * rng.standard_normal((n, d)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def unit_rows(n, d, seed):
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def per_call(fn, reps):
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def interleaved(a, b, reps, rounds):
    """Best (lowest) of `rounds` medians of seconds per call for a() and b(), run A B B A ..."""
    ta, tb = [], []
    for r in range(rounds):
        pair = [(ta, a), (tb, b)] if r % 2 == 0 else [(tb, b), (ta, a)]
        for out, fn in pair:
            out.append(fn(reps))
    return min(ta), min(tb), statistics.median(ta), statistics.median(tb)


def raw_faiss_twin(faiss, factory, dim, config, keys):
    """The python3-faiss index Engram's memory holds: same factory string, build and search settings
    (Engram's defaults where the config says 0 or nothing: efConstruction 200, efSearch 64, nprobe 16)."""
    index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    hnsw = faiss.downcast_index(index.quantizer if "IVF" in factory else index)
    if hasattr(hnsw, "hnsw"):
        hnsw.hnsw.efConstruction = config["ef_construction"] or 200
        hnsw.hnsw.efSearch = 64
    if "IVF" in factory:
        # Engram trains a memory by itself once it holds 39 keys a list, on the keys it holds
        # then: the batches fill() inserted up to that count.
        nlist = int(re.search(r"IVF(\d+)", factory).group(1))
        rows = min(len(keys), -(-39 * nlist // FILL_BATCH) * FILL_BATCH)
        index.train(keys[:rows])
        faiss.extract_index_ivf(index).nprobe = 16
    index.add(keys)
    return index


FILL_BATCH = 10000


def fill(m, n, d, seed):
    keys = clustered_rows(n, d, seed)
    for i in range(0, n, FILL_BATCH):
        m.insert(keys[i:i + FILL_BATCH], unit_rows(min(FILL_BATCH, n - i), d, seed + 1 + i))
    return keys


class Rows:
    """Prints each result as soon as it is measured (a slow machine still shows the first ones)."""

    def append(self, row):
        name, what, value, target, detail = row
        print(f"{name:28s} {what:24s} {value:8.3f}  target {target:6s}  {detail}", flush=True)


def main():
    p = argparse.ArgumentParser(description="engram Python package benchmark")
    p.add_argument("--slots", type=int, default=100000)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--k", type=int, default=32)
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--threads", type=int, default=0, help="OpenMP threads for both sides (0: default)")
    p.add_argument("--index", default="Flat", help="FAISS factory string of both sides' index")
    args = p.parse_args()
    import faiss
    if args.threads:
        faiss.omp_set_num_threads(args.threads)
    print(f"{args.slots} slots, {args.dim}-d, {args.index}, ip; faiss {faiss.__version__}; best of {args.rounds} rounds",
          flush=True)
    rows = Rows()
    with tempfile.TemporaryDirectory() as folder, engram.open(folder) as db:
        m = db.create_memory("bench", key_dim=args.dim, value_dim=args.dim, index=args.index, sync=False)
        keys = fill(m, args.slots, args.dim, 1)
        small = db.create_memory("small", key_dim=args.dim, value_dim=args.dim, sync=False)
        fill(small, 1000, args.dim, 7)
        q = clustered_rows(args.batch, args.dim, 3)
        q1 = q[:1].copy()

        py, cpp, pym, cppm = interleaved(lambda r: per_call(lambda: m.read(q, k=args.k), r),
                                         lambda r: _bench.time_cpp(m, "read", q, args.k, r), args.reps, args.rounds)
        rows.append(("read batch %d, k %d" % (args.batch, args.k), "C++/Python throughput", cpp / py, ">= 0.95",
                     f"python {py * 1e3:.3f} ms, C++ {cpp * 1e3:.3f} ms (medians {pym * 1e3:.3f} / {cppm * 1e3:.3f})"))
        for name, mem in (("read 1 query, %d slots" % args.slots, m), ("read 1 query, 1000 slots", small)):
            reps = args.reps * (50 if mem is small else 5)
            py, cpp, pym, cppm = interleaved(lambda r: per_call(lambda: mem.read(q1, k=args.k), r),
                                             lambda r: _bench.time_cpp(mem, "read", q1, args.k, r), reps, args.rounds)
            rows.append((name, "Python - C++ (us)", (py - cpp) * 1e6, "<= 10",
                         f"python {py * 1e6:.1f} us, C++ {cpp * 1e6:.1f} us (median overhead {(pym - cppm) * 1e6:.1f} us)"))

        index = raw_faiss_twin(faiss, args.index, args.dim, m.config, keys)
        s_e, ids_e = m.search(q, k=args.k)
        _, ids_f = index.search(q, args.k)
        agree = float((ids_e == ids_f).mean())
        eng, fai, engm, faim = interleaved(lambda r: per_call(lambda: m.search(q, k=args.k), r),
                                           lambda r: per_call(lambda: index.search(q, args.k), r), args.reps, args.rounds)
        rows.append(("search batch %d, k %d" % (args.batch, args.k), "FAISS/Engram throughput", fai / eng, ">= 0.9",
                     f"engram {eng * 1e3:.3f} ms, faiss {fai * 1e3:.3f} ms, same ids {agree:.3f}"))



if __name__ == "__main__":
    main()
