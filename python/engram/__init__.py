"""Engram: a vector memory database — FAISS indexes over a RocksDB store — for Python.

    import numpy as np, engram
    with engram.open("./engram-data") as db:
        m = db.create_memory("facts", key_dim=128, value_dim=128, index="HNSW32")
        ids = m.insert(keys, values)                 # (n, 128) float32 each
        reads, ids, weights = m.read(queries, k=32)  # softmax attention over the top 32
        scores, ids = m.search(queries, k=10)        # FAISS's (D, I) order

The same calls work on a server: ``engram.connect("http://127.0.0.1:8420", token=...)``.

Arrays: float32 C-contiguous arrays are used in place, without a copy. float16 and
int8/int16/uint8/uint16 arrays are converted to float32 (exact for every value they hold); a
1-D array is one row. float64 (rounding would change values), non-contiguous and Fortran-order
arrays, and wrong widths raise TypeError/ValueError naming the argument, the expected shape
and the received one. Results are numpy arrays; slot ids are int64 with -1 for "no slot".

Errors: every library error is an ``engram.Error`` subclass carrying the C++ message —
InvalidArgumentError (also a ValueError), NotFoundError (also a LookupError),
AlreadyExistsError, FailedPreconditionError, BusyError, CorruptionError, IOError (also an
OSError), UnavailableError (also a ConnectionError), NoSpaceError, InternalError.

Threads: every operation releases the GIL while the C++ core runs, so threads read in parallel.
"""
from ._engram import (  # noqa: F401  (re-exported)
    AlreadyExistsError,
    BusyError,
    CorruptionError,
    Database,
    Error,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    IOError,
    Memory,
    MemoryInterface,
    NoSpaceError,
    NotFoundError,
    RemoteDatabase,
    RemoteMemory,
    UnavailableError,
)
from ._results import Retrieved  # noqa: F401

__all__ = [
    "open", "connect", "Database", "RemoteDatabase", "MemoryInterface", "Memory", "RemoteMemory",
    "Retrieved", "Error", "InvalidArgumentError", "NotFoundError", "AlreadyExistsError",
    "FailedPreconditionError", "BusyError", "CorruptionError", "IOError", "UnavailableError",
    "NoSpaceError", "InternalError",
]


def open(path, create_if_missing=True):  # noqa: A001  (engram.open, like io.open)
    """Opens the embedded database in folder ``path`` (created if missing unless told not to).

    Returns an :class:`engram.Database`, usable as a context manager; closing it checkpoints
    every index. Raises BusyError if another process has the folder open.
    """
    import os

    return Database(os.fspath(path), create_if_missing)


def connect(url, token=None, timeout=60.0):
    """Connects to an Engram server (``engram serve``) at ``url``, e.g. "http://127.0.0.1:8420".

    Returns an :class:`engram.RemoteDatabase` whose memories have the same methods as embedded
    ones. ``token`` is sent as a Bearer token; ``timeout`` bounds each request, in seconds.
    """
    return RemoteDatabase(url, token, timeout)
