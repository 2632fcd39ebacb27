"""engram.torch: gradients reach W_q, W_o and the gate, never the store."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from engram.torch import MemoryAttention, MemoryWriter  # noqa: E402
from conftest import unit_rows  # noqa: E402


@pytest.fixture
def memory(db):
    m = db.create_memory("t", key_dim=8, value_dim=6, sync=False)
    m.insert(unit_rows(64, 8, 1), np.random.default_rng(2).standard_normal((64, 6)).astype(np.float32))
    return m


def test_gradients_reach_wq_wo_gate_and_not_the_store(memory):
    torch.manual_seed(0)
    attn = MemoryAttention(d_model=16, key_dim=8, value_dim=6, k=4)
    h = torch.randn(2, 5, 16, requires_grad=True)
    before = memory.get(memory.list_ids())
    out = attn(h, memory)
    assert out.shape == h.shape
    out.pow(2).sum().backward()
    for name in ("w_q.weight", "w_o.weight", "gate", "log_scale"):
        g = dict(attn.named_parameters())[name].grad
        assert g is not None and g.abs().sum() > 0, name
    assert h.grad.abs().sum() > 0
    after = memory.get(memory.list_ids())
    for a, b in zip(before[:2], after[:2]):
        np.testing.assert_array_equal(a, b)  # backward wrote nothing into the store


def test_attention_equals_engram_read(memory):
    # Dot-product scores over sqrt(dk) are Engram's read at temperature sqrt(dk).
    torch.manual_seed(0)
    attn = MemoryAttention(d_model=8, key_dim=8, value_dim=6, k=5, cosine=False)
    q = torch.from_numpy(unit_rows(3, 8, 7))
    r = memory.retrieve(q.numpy(), k=5)
    with torch.no_grad():
        attn.gate.fill_(1.0)
        attn.w_o.weight.zero_()
        attn.w_o.weight[:6, :6] = torch.eye(6)
        got = attn.attend(q, torch.from_numpy(r.keys), torch.from_numpy(r.values), torch.from_numpy(r.ids >= 0))
    reads, _, _ = memory.read(q.numpy(), k=5, temperature=math.sqrt(8))
    np.testing.assert_allclose(got[:, :6].numpy(), reads, rtol=1e-5, atol=1e-6)


def test_no_memory_and_empty_memory_add_nothing(db):
    attn = MemoryAttention(d_model=16, key_dim=8, value_dim=6, k=4)
    h = torch.randn(3, 16)
    assert attn(h, None).abs().sum() == 0
    empty = db.create_memory("empty", key_dim=8, value_dim=6)
    assert attn(h, empty).abs().sum() == 0


def test_writer_inserts_refreshes_and_evicts(db):
    m = db.create_memory("w", key_dim=8, value_dim=6, sync=False)
    w = MemoryWriter(m, capacity=10)
    keys = torch.from_numpy(unit_rows(8, 8, 1)).requires_grad_()
    w.insert(keys, torch.zeros(8, 6))
    w.insert(keys[:4], torch.ones(4, 6))
    assert len(m) == 10 and len(w.ids) == 10  # the two oldest were evicted
    w.refresh(w.ids[:1], values=torch.full((1, 6), 5.0))
    assert (m.get(w.ids[:1])[1] == 5).all()
    ids, gates = w.write(keys[:1], torch.ones(1, 6), k=1)
    assert ids.shape == (1, 1) and 0 < gates[0, 0] < 1
    w.clear()
    assert len(m) == 0
