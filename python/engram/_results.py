"""Result types the compiled module returns (plain named tuples, so they unpack)."""
from typing import List, NamedTuple, Optional

import numpy as np


class Retrieved(NamedTuple):
    """The top-k slots of each of n queries, as ``MemoryInterface.retrieve`` returns them."""

    scores: np.ndarray  #: (n, k) float32; q.k for "ip", -|q-k|^2 for "l2"
    ids: np.ndarray  #: (n, k) int64, -1 where fewer than k slots exist
    keys: np.ndarray  #: (n, k, key_dim) float32, zeros where the id is -1
    values: np.ndarray  #: (n, k, value_dim) float32, zeros where the id is -1
    payloads: Optional[List[str]]  #: n*k payloads when asked for, else None
