"""engram.torch: an Engram memory as a PyTorch sublayer, and helpers that write it in training.

    attn = MemoryAttention(d_model=64, key_dim=32, value_dim=32, k=8)
    h = h + attn(h, memory)        # memory: engram.Memory or engram.RemoteMemory (or None)

The sublayer is the memory attention of Engram's C++ LM (lm/memory_layer.h), in PyTorch:

    q = W_q LN(h);  (K, V) = memory.retrieve(q, k)   -- constants: no gradient into the store
    a = softmax(scale * cos(q, K))  (or q.K / sqrt(dk) with cosine=False)
    out = g * W_o(a . V)

Engram selects the top-k slots; the scores and the softmax are recomputed in torch from the
retrieved keys, so gradients reach W_q (through the scores), W_o, the gate g and the scale,
and never the stored keys and values.
"""
import math
from typing import Iterable, List, Optional

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["MemoryAttention", "MemoryWriter", "to_numpy"]


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """A detached float32 C-contiguous CPU copy-free view where possible, as Engram takes."""
    return t.detach().to("cpu", torch.float32).contiguous().numpy()


class MemoryAttention(nn.Module):
    """Attention over the k nearest slots of an Engram memory, with a learned output gate.

    d_model: width of the hidden states h [..., d_model]; key_dim/value_dim: the memory's.
    cosine: unit-length queries and keys with a learned scale (keys must be stored unit length;
    ``slot_keys`` does that), else dot products over sqrt(key_dim).
    gate_init: the gate's starting value; small, so the sublayer starts close to the identity
    while W_o and W_q still receive gradient from the first step.
    """

    def __init__(self, d_model: int, key_dim: int, value_dim: int, k: int = 32, cosine: bool = True,
                 gate_init: float = 0.1, scale_init: float = 10.0):
        super().__init__()
        self.k, self.cosine = k, cosine
        self.ln = nn.LayerNorm(d_model)
        self.w_q = nn.Linear(d_model, key_dim, bias=False)
        self.w_o = nn.Linear(value_dim, d_model, bias=False)
        self.gate = nn.Parameter(torch.full((d_model,), float(gate_init)))
        self.log_scale = nn.Parameter(torch.tensor(math.log(scale_init)))

    def queries(self, h: torch.Tensor) -> torch.Tensor:
        """h [..., d_model] -> q [..., key_dim] (unit length with cosine scores)."""
        q = self.w_q(self.ln(h))
        return F.normalize(q, dim=-1) if self.cosine else q

    def slot_keys(self, h: torch.Tensor) -> torch.Tensor:
        """The keys to store for hidden states h: the queries those states would make (W_k tied
        to W_q, so a state retrieves the slots written by equal states), detached."""
        return self.queries(h).detach()

    def attend(self, q: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
               valid: torch.Tensor) -> torch.Tensor:
        """q [N, dk], keys [N, k, dk], values [N, k, dv], valid [N, k] bool -> [N, d_model].
        Rows without a valid slot contribute 0."""
        if self.cosine:
            s = torch.einsum("nd,nkd->nk", q, F.normalize(keys, dim=-1)) * self.log_scale.exp()
        else:
            s = torch.einsum("nd,nkd->nk", q, keys) / math.sqrt(q.shape[-1])
        s = s.masked_fill(~valid, float("-inf"))
        any_valid = valid.any(dim=-1, keepdim=True)
        a = torch.softmax(torch.where(any_valid, s, torch.zeros_like(s)), dim=-1) * valid  # [N, k]
        read = torch.einsum("nk,nkv->nv", a, values)  # [N, dv]
        return self.gate * self.w_o(read)

    def forward(self, h: torch.Tensor, memory=None) -> torch.Tensor:
        """h [..., d_model] -> the residual update [..., d_model]; zeros when memory is None or
        empty. Retrieval runs in Engram (GIL released); scoring runs in torch."""
        if memory is None:
            return torch.zeros_like(h)
        q = self.queries(h)
        flat = q.reshape(-1, q.shape[-1])  # [N, dk]
        r = memory.retrieve(to_numpy(flat), k=self.k)
        keys = torch.from_numpy(r.keys).to(h.device)      # [N, k, dk]  constants
        values = torch.from_numpy(r.values).to(h.device)  # [N, k, dv]  constants
        valid = torch.from_numpy(r.ids >= 0).to(h.device)  # [N, k]
        return self.attend(flat, keys, values, valid).reshape(h.shape)


class MemoryWriter:
    """Inserts and refreshes slots of a memory during training (the dynamic update).

    Keeps the ids it inserted, oldest first; with ``capacity`` set, inserting past it erases
    the oldest slots, so the memory holds the most recent ``capacity`` slots.
    """

    def __init__(self, memory, capacity: Optional[int] = None):
        self.memory, self.capacity = memory, capacity
        self.ids: List[int] = []

    def insert(self, keys: torch.Tensor, values: torch.Tensor,
               payloads: Optional[Iterable[str]] = None) -> np.ndarray:
        """keys [..., key_dim], values [..., value_dim] (detached, flattened to rows) -> ids."""
        k = to_numpy(keys.reshape(-1, keys.shape[-1]))
        v = to_numpy(values.reshape(-1, values.shape[-1]))
        ids = self.memory.insert(k, v, None if payloads is None else list(payloads))
        self.ids.extend(int(i) for i in ids)
        if self.capacity is not None and len(self.ids) > self.capacity:
            self.evict(len(self.ids) - self.capacity)
        return ids

    def refresh(self, ids, keys: Optional[torch.Tensor] = None, values: Optional[torch.Tensor] = None):
        """Rewrites the keys and/or values of slots already stored (e.g. after W_q moved)."""
        self.memory.update([int(i) for i in ids],
                           keys=None if keys is None else to_numpy(keys.reshape(-1, keys.shape[-1])),
                           values=None if values is None else to_numpy(values.reshape(-1, values.shape[-1])))

    def write(self, queries: torch.Tensor, values: torch.Tensor, k: Optional[int] = None):
        """Engram's gated write: blends `values` into the top-k slots of each query."""
        return self.memory.write(to_numpy(queries.reshape(-1, queries.shape[-1])),
                                 to_numpy(values.reshape(-1, values.shape[-1])), k)

    def evict(self, n: int):
        """Erases the n oldest slots this writer inserted."""
        old, self.ids = self.ids[:n], self.ids[n:]
        if old:
            self.memory.erase(old)

    def clear(self):
        """Erases every slot this writer inserted."""
        self.evict(len(self.ids))
