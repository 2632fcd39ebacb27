"""engram.connect: the C++ HTTP client against a real `engram serve`, equal to embedded."""
import os
import numpy as np
import pytest

import engram
from conftest import TOKEN, rng, unit_rows


def fill(m, n=100):
    keys, values = unit_rows(n, 16, 1), rng(2).standard_normal((n, 8)).astype(np.float32)
    return m.insert(keys, values, [f"p{i}" for i in range(n)])


def test_remote_equals_embedded(remote, db):
    if remote.has_memory("eq"):
        remote.drop_memory("eq")
    r = remote.create_memory("eq", key_dim=16, value_dim=8, index="Flat", temperature=0.7)
    e = db.create_memory("eq", key_dim=16, value_dim=8, index="Flat", temperature=0.7)
    assert isinstance(r, engram.RemoteMemory) and isinstance(r, engram.MemoryInterface)
    np.testing.assert_array_equal(fill(r), fill(e))
    q = unit_rows(10, 16, 3)
    for a, b in zip(r.read(q, k=8), e.read(q, k=8)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(r.search(q, k=5, with_payloads=True), e.search(q, k=5, with_payloads=True)):
        np.testing.assert_array_equal(a, b)
    ra, ea = r.retrieve(q, k=4), e.retrieve(q, k=4)
    for f in ("scores", "ids", "keys", "values"):
        np.testing.assert_array_equal(getattr(ra, f), getattr(ea, f))
    w = unit_rows(10, 8, 4)
    for a, b in zip(r.write(q, w, k=2), e.write(q, w, k=2)):
        np.testing.assert_array_equal(a, b)
    ids = e.list_ids()[:5]
    for a, b in zip(r.get(ids), e.get(ids)):
        np.testing.assert_array_equal(a, b)
    r.erase(ids[:2])
    e.erase(ids[:2])
    assert len(r) == len(e) == 98
    assert "eq" in remote.list_memories()
    assert remote.describe("eq")["temperature"] == pytest.approx(0.7)


def test_remote_errors_are_the_same_classes(remote):
    if not remote.has_memory("err"):
        remote.create_memory("err", key_dim=4, value_dim=2)
    m = remote.memory("err")
    with pytest.raises(engram.NotFoundError):
        m.get([987654])
    with pytest.raises(engram.NotFoundError):
        remote.memory("no-such-memory")
    bad = np.ones((1, 4), np.float32)
    bad[0, 0] = np.nan
    with pytest.raises(engram.InvalidArgumentError):
        m.insert(bad, np.ones((1, 2), np.float32))
    with pytest.raises(ValueError, match=r"\(n, 4\)"):
        m.read(np.ones((1, 3), np.float32))
    with pytest.raises(engram.AlreadyExistsError):
        remote.create_memory("err", key_dim=4, value_dim=2)


def test_wrong_token_and_unreachable_server(server):
    with pytest.raises(engram.Error):
        engram.connect(server, token="wrong").list_memories()
    with engram.connect(server, token=TOKEN) as ok:
        assert ok.healthy()
    with pytest.raises(engram.UnavailableError):
        engram.connect("http://127.0.0.1:1", timeout=2).list_memories()
    with pytest.raises(ValueError, match="url"):
        engram.connect("https://example.org")


def test_a_remote_memory_snapshot_holds_that_memory_alone(remote, tmp_path):
    for name in ("snap-a", "snap-b"):
        if remote.has_memory(name):
            remote.drop_memory(name)
    a = remote.create_memory("snap-a", key_dim=16, value_dim=8)
    fill(a, 30)
    fill(remote.create_memory("snap-b", key_dim=16, value_dim=8), 10)
    # A name resolves inside the server's snapshot root; the answer is the absolute path.
    target = a.snapshot("remote-only-a")
    assert os.path.isabs(target) and target.endswith("/snapshots/remote-only-a"), target
    with engram.open(target, create_if_missing=False) as copy:
        assert copy.list_memories() == ["snap-a"] and len(copy.memory("snap-a")) == 30
