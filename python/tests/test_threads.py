"""The GIL is released inside every operation: other Python threads run while one reads."""
import sys
import threading
import time

import numpy as np
import pytest

from conftest import unit_rows


@pytest.fixture
def big(db):
    m = db.create_memory("big", key_dim=64, value_dim=64)
    m.insert(unit_rows(20000, 64, 1), unit_rows(20000, 64, 2))
    return m


@pytest.fixture
def no_preemption():
    # With a 100 s switch interval Python never takes the GIL from a thread by itself: another
    # thread can run only while the first has released it (inside an Engram call, here). The
    # main thread sleeps between steps, which hands the GIL back when the call returns.
    old = sys.getswitchinterval()
    sys.setswitchinterval(100)
    yield
    sys.setswitchinterval(old)


@pytest.mark.parametrize("op", ["read", "search", "retrieve", "write"])
def test_python_runs_while_an_operation_runs(big, no_preemption, op):
    q = unit_rows(1000, 64, 3)
    calls = {
        "read": lambda: big.read(q, k=32),
        "search": lambda: big.search(q, k=32),
        "retrieve": lambda: big.retrieve(q, k=32),
        "write": lambda: big.write(q, q, k=4),
    }
    state = {"inside": False, "done": False}
    ticks = 0

    def worker():
        state["inside"] = True
        for _ in range(2):
            calls[op]()
        state["done"] = True

    t = threading.Thread(target=worker)
    t.start()
    while not state["done"]:
        if state["inside"]:
            ticks += 1  # Python bytecode running while the worker is inside Engram
        time.sleep(0.0002)
    t.join()
    assert ticks >= 5, f"the main thread made {ticks} steps while {op} ran: the GIL was held"


def test_parallel_reads_agree_with_serial_ones(big):
    queries = [unit_rows(64, 64, s) for s in range(8)]
    serial = [big.read(q, k=16) for q in queries]
    out = [None] * len(queries)

    def run(i):
        for _ in range(3):
            out[i] = big.read(queries[i], k=16)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(queries))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (r0, i0, w0), (r1, i1, w1) in zip(serial, out):
        np.testing.assert_array_equal(i0, i1)
        np.testing.assert_array_equal(r0, r1)
        np.testing.assert_array_equal(w0, w1)
