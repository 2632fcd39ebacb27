#!/usr/bin/env python3
"""The `engram` command as a whole process, against the same work done in-process.

    PYTHONPATH=build/python OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/cli_bench.py --engram build/cli/engram

Measures, on one memory of --slots clustered unit keys (128-d, --index, inner product) that
`engram ingest` loads:
  search    `engram search` of --queries queries (k 10), the whole process from exec to exit,
            against m.search of the same queries in this process on the same database (the
            Python call runs the C++ search; opening the database is not timed): the ratio
            whole-process rate / in-process rate (target >= 0.5);
  help      `engram --help`: wall time and peak RSS of the process (targets <= 30 ms, <= 30 MB).
The two sides run interleaved (A B B A ...), best of --rounds; the database is closed in this
process before each `engram search` (RocksDB allows one process at a time).
"""
import argparse
import os
import resource
import subprocess
import tempfile
import time

import numpy as np

import engram


def clustered(n, dim, seed, centres):
    rng = np.random.default_rng(seed)
    x = centres[rng.integers(0, len(centres), n)] + 0.12 * rng.standard_normal((n, dim)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def run(cmd):
    """Wall seconds of a child process, and the peak RSS (MiB) of the children so far."""
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main():
    p = argparse.ArgumentParser(description="whole-process engram command benchmark")
    p.add_argument("--engram", default="build/cli/engram")
    p.add_argument("--slots", type=int, default=100000)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--index", default="HNSWlib32")
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    dim = 128
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((1000, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    with tempfile.TemporaryDirectory() as tmp:
        keys, values, queries = (os.path.join(tmp, f) for f in ("keys.npy", "values.npy", "queries.npy"))
        np.save(keys, clustered(args.slots, dim, 2, centres))
        np.save(values, clustered(args.slots, dim, 3, centres))
        q = clustered(args.queries, dim, 4, centres)
        np.save(queries, q)
        db_path = os.path.join(tmp, "db")
        t0 = time.perf_counter()
        subprocess.run([args.engram, "ingest", keys, "--values", values, "--data", db_path, "--memory", "m",
                        "--create", "--index", args.index, "-q"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        print(f"{args.slots} slots, {args.index}: ingested in {time.perf_counter() - t0:.1f} s", flush=True)
        search = [args.engram, "search", "--data", db_path, "--memory", "m", "--queries", queries,
                  "--k", "10", "--out", os.path.join(tmp, "out.ivecs")]

        def in_process():
            with engram.open(db_path) as db:
                m = db.memory("m")
                m.search(q, k=10)  # the first call pays for nothing the timed ones do not
                t = time.perf_counter()
                m.search(q, k=10)
                return time.perf_counter() - t

        inside, whole = [], []
        for r in range(args.rounds):
            pair = [(inside, in_process), (whole, lambda: run(search)[0])]
            for out, fn in (pair if r % 2 == 0 else pair[::-1]):
                out.append(fn())
        ratio = min(inside) / min(whole)
        print(f"search {args.queries} queries: in-process {min(inside) * 1e3:.1f} ms "
              f"({args.queries / min(inside):.0f} q/s), whole process {min(whole) * 1e3:.1f} ms "
              f"({args.queries / min(whole):.0f} q/s): whole/in-process rate {ratio:.3f} (target >= 0.5)", flush=True)

    walls = []
    for _ in range(args.rounds):
        walls.append(run([args.engram, "--help"])[0])
    # The children's peak RSS: --help runs last, but ingest and search ran before; measure it
    # in a child of its own so their peaks do not count.
    peak = subprocess.run(["/usr/bin/python3", "-c",
                           "import resource,subprocess,sys;"
                           "subprocess.run([sys.argv[1],'--help'],stdout=subprocess.DEVNULL,check=True);"
                           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)", args.engram],
                          check=True, capture_output=True, text=True).stdout.strip()
    print(f"engram --help: {min(walls) * 1e3:.1f} ms (best of {args.rounds}; target <= 30), "
          f"peak RSS {int(peak) / 1024:.1f} MiB (target <= 30)", flush=True)


if __name__ == "__main__":
    main()
