"""The embedded database through Python: results, formulas, and the C++ CLI's own answers."""
import subprocess

import numpy as np
import pytest

import engram
from conftest import _engram_bin, rng, unit_rows


def make_memory(db, n=200, dk=16, dv=8, name="m", **options):
    m = db.create_memory(name, key_dim=dk, value_dim=dv, **options)
    keys, values = unit_rows(n, dk, 1), rng(2).standard_normal((n, dv)).astype(np.float32)
    ids = m.insert(keys, values, [f"p{i}" for i in range(n)])
    return m, keys, values, ids


def fvecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    d = raw[0]
    return raw.reshape(-1, d + 1)[:, 1:].copy().view(np.float32)


def ivecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    return raw.reshape(-1, raw[0] + 1)[:, 1:]


def test_database_lifecycle(tmp_path):
    with engram.open(tmp_path / "db") as db:
        db.create_memory("a", key_dim=4, value_dim=2, index="HNSW32", metric="l2")
        db.create_memory("b", key_dim=3, value_dim=3)
        assert sorted(db.list_memories()) == ["a", "b"]
        assert db.describe("a")["index"] == "HNSW32" and db.describe("a")["metric"] == "l2"
        assert db.memory("a").config["key_dim"] == 4
        with pytest.raises(engram.AlreadyExistsError, match="a"):
            db.create_memory("a", key_dim=4, value_dim=2)
        with pytest.raises(engram.InvalidArgumentError, match="no_such_option"):
            db.create_memory("c", key_dim=4, value_dim=2, no_such_option=1)
        db.drop_memory("b")
        with pytest.raises(engram.NotFoundError):
            db.memory("b")
        m = db.memory("a")
        m.insert(np.eye(4, dtype=np.float32)[:2], np.ones((2, 2), np.float32))
    with engram.open(tmp_path / "db") as db:  # reopened: the slots are still there
        assert db.list_memories() == ["a"] and len(db.memory("a")) == 2
    with pytest.raises(engram.NotFoundError):
        engram.open(tmp_path / "missing", create_if_missing=False)


def test_insert_get_update_erase_round_trip(db):
    m, keys, values, ids = make_memory(db, n=10)
    assert ids.dtype == np.int64 and ids.shape == (10,)
    k, v, p = m.get(ids[[3, 1]])
    np.testing.assert_array_equal(k, keys[[3, 1]])
    np.testing.assert_array_equal(v, values[[3, 1]])
    assert p == ["p3", "p1"]
    m.update([ids[0]], values=np.full((1, 8), 7, np.float32), payloads=[b"\xff raw"])
    k, v, p = m.get([ids[0]])
    np.testing.assert_array_equal(k[0], keys[0])  # keys untouched by a values-only patch
    assert (v == 7).all() and p[0].encode("utf-8", "surrogateescape") == b"\xff raw"
    m.erase(ids[:4])
    assert len(m) == 6 and m.stats()["slots"] == 6
    assert m.stats()["store_bytes"] > 6 * 16 * 4  # six slots' keys and values at least
    assert list(m.list_ids()) == list(ids[4:])


def test_read_equals_dense_softmax_formula(db):
    # Flat index and k = every slot: the read is exactly softmax(s/t) over all keys.
    m, keys, values, _ = make_memory(db, n=50, temperature=0.5)
    q = unit_rows(7, 16, 3)
    for t in (None, 0.2):
        reads, ids, w = m.read(q, k=50, temperature=t)
        tau = 0.5 if t is None else t
        s = q.astype(np.float64) @ keys.T.astype(np.float64)
        a = np.exp((s - s.max(1, keepdims=True)) / tau)
        a /= a.sum(1, keepdims=True)
        np.testing.assert_allclose(reads, a @ values.astype(np.float64), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(np.take_along_axis(a, ids, 1), w, rtol=1e-4, atol=1e-6)
        assert (np.diff(w, axis=1) <= 1e-7).all()  # best first


def test_search_matches_exact_scores_and_pads_with_minus_one(db):
    m, keys, _, ids = make_memory(db, n=5, metric="l2")
    q = unit_rows(3, 16, 4)
    scores, got = m.search(q, k=8)
    assert scores.shape == (3, 8) and got.dtype == np.int64
    assert (got[:, 5:] == -1).all()  # only 5 slots: FAISS's miss marker
    d = -((q[:, None, :] - keys[None, :, :]) ** 2).sum(-1)
    order = np.argsort(-d, axis=1)
    np.testing.assert_array_equal(got[:, :5], ids[order])
    np.testing.assert_allclose(scores[:, :5], np.take_along_axis(d, order, 1), rtol=1e-5, atol=1e-5)
    _, _, payloads = m.search(q, k=2, with_payloads=True)
    assert len(payloads) == 6 and all(p.startswith("p") for p in payloads)


def test_ef_and_nprobe_tune_one_call(db):
    dk = 32
    keys = rng(5).standard_normal((3000, dk)).astype(np.float32)
    q = rng(6).standard_normal((100, dk)).astype(np.float32)
    exact = db.create_memory("exact", key_dim=dk, value_dim=2, metric="l2")
    exact.insert(keys, np.zeros((3000, 2), np.float32))
    _, truth = exact.search(q, k=10)
    for name, index, params, knob in [("h", "HNSW32", "efSearch=16", "ef"), ("i", "IVF32,Flat", "nprobe=2", "nprobe")]:
        m = db.create_memory(name, key_dim=dk, value_dim=2, metric="l2", index=index, search_params=params)
        m.insert(keys, np.zeros((3000, 2), np.float32))
        _, before = m.search(q, k=10)
        recall = {}
        for v in (1, 256):
            _, got = m.search(q, k=10, **{knob: v})
            recall[v] = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, truth)])
            _, read_ids, _ = m.read(q, k=10, **{knob: v})
            np.testing.assert_array_equal(read_ids, got)
        assert recall[256] > recall[1] + 0.1, (index, recall)
        np.testing.assert_array_equal(m.search(q, k=10)[1], before)  # the memory's own is unchanged
        with pytest.raises(ValueError):
            m.search(q, k=10, **{knob: 0})
        with pytest.raises(engram.InvalidArgumentError):
            m.search(q, k=10, **{knob: 70000})


def test_retrieve_and_write(db):
    m, keys, values, ids = make_memory(db, n=20, gate_bias=-1.0)
    q = keys[:2].copy()
    r = m.retrieve(q, k=3, with_payloads=True)
    assert r.keys.shape == (2, 3, 16) and r.values.shape == (2, 3, 8) and len(r.payloads) == 6
    assert r.ids[0, 0] == ids[0] and r.ids[1, 0] == ids[1]
    np.testing.assert_array_equal(r.keys[0, 0], keys[0])
    np.testing.assert_array_equal(r.values[1, 0], values[1])
    w = np.ones((2, 8), np.float32)
    got_ids, gates = m.write(q, w, k=1)
    np.testing.assert_array_equal(got_ids[:, 0], ids[:2])
    s = (q * keys[:2]).sum(1)
    np.testing.assert_allclose(gates[:, 0], 1 / (1 + np.exp(-(s - 1.0))), rtol=1e-5)
    _, v, _ = m.get(ids[:2])
    np.testing.assert_allclose(v, gates[:, :1] * 1 + (1 - gates[:, :1]) * values[:2], rtol=1e-5, atol=1e-6)


def test_results_equal_the_cpp_cli_bit_for_bit(tmp_path):
    # The same database read and searched by the `engram` command (C++, embedded) and by Python.
    q = unit_rows(40, 16, 5)
    with engram.open(tmp_path / "db") as db:
        make_memory(db, n=300)
        reads, _, _ = db.memory("m").read(q, k=10)
        scores, ids = db.memory("m").search(q, k=10)
    np.save(tmp_path / "q.npy", q)
    binary = _engram_bin()
    common = ["--data", str(tmp_path / "db"), "--memory", "m", "--queries", str(tmp_path / "q.npy"),
              "--k", "10", "--batch", "40"]
    subprocess.run([binary, "read", *common, "--out", str(tmp_path / "r.fvecs")], check=True, capture_output=True)
    subprocess.run([binary, "search", *common, "--out", str(tmp_path / "i.ivecs"), "--scores",
                    str(tmp_path / "s.fvecs")], check=True, capture_output=True)
    assert fvecs(tmp_path / "r.fvecs").tobytes() == reads.tobytes()
    assert fvecs(tmp_path / "s.fvecs").tobytes() == scores.tobytes()
    np.testing.assert_array_equal(ivecs(tmp_path / "i.ivecs"), ids)


def test_a_memory_snapshot_holds_that_memory_alone(db, tmp_path):
    a, _, _, _ = make_memory(db, n=30, name="a")
    b, _, _, _ = make_memory(db, n=20, name="b")
    a.snapshot(str(tmp_path / "only-a"))
    with engram.open(tmp_path / "only-a") as copy:
        assert copy.list_memories() == ["a"] and len(copy.memory("a")) == 30
    db.snapshot(str(tmp_path / "only-b"), memories=["b"])
    with engram.open(tmp_path / "only-b") as copy:
        assert copy.list_memories() == ["b"] and len(copy.memory("b")) == 20
    with pytest.raises(engram.NotFoundError):
        db.snapshot(str(tmp_path / "none"), memories=["nope"])
    assert not (tmp_path / "none").exists()


def test_snapshot_compact_and_default_k(db, tmp_path):
    m, _, _, ids = make_memory(db, n=40, index="HNSW32", default_k=4)
    _, got, _ = m.read(unit_rows(1, 16, 6))
    assert got.shape == (1, 4)  # k=None: the memory's default_k
    m.erase(ids[:10])
    assert m.stats()["tombstones"] == 10
    m.compact()
    assert m.stats()["tombstones"] == 0 and m.stats()["slots"] == 30
    db.snapshot(str(tmp_path / "snap"))
    with engram.open(tmp_path / "snap") as copy:
        assert len(copy.memory("m")) == 30


def test_filters_limit_search_read_retrieve_write_and_erase(db):
    import json
    m = db.create_memory("f", key_dim=16, value_dim=8, index="HNSW16", metric="l2")
    keys, values = unit_rows(300, 16, 1), rng(2).standard_normal((300, 8)).astype(np.float32)
    payloads = [json.dumps({"bucket": i % 10, "source": ["wiki", "news"][i % 2]}) for i in range(300)]
    ids = m.insert(keys, values, payloads)
    q = unit_rows(5, 16, 3)
    wiki_low = {"must": [{"key": "source", "match": {"value": "wiki"}}, {"key": "bucket", "range": {"lt": 4}}]}
    accepted = {int(i) for i in ids if i % 2 == 0 and i % 10 < 4}
    for f in (wiki_low, json.dumps(wiki_low)):  # a dict or its JSON text
        scores, found = m.search(q, k=10, filter=f)
        assert found.shape == (5, 10) and set(found.ravel().tolist()) <= accepted
        # The exact top-10 among the accepted slots (a filtered HNSW walk finds them here).
        acc = np.array(sorted(accepted))
        d = ((q[:, None, :] - keys[acc][None, :, :]) ** 2).sum(-1)
        exact = acc[np.argsort(d, axis=1)[:, :10]]
        assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found.tolist(), exact.tolist())]) >= 0.9
    _, rids, _ = m.read(q, k=5, filter=wiki_low)
    assert set(rids.ravel().tolist()) <= accepted
    assert set(m.retrieve(q, k=5, filter=wiki_low).ids.ravel().tolist()) <= accepted
    wids, _ = m.write(q, np.zeros((5, 8), np.float32), k=3, filter=wiki_low)
    assert set(wids.ravel().tolist()) <= accepted
    with pytest.raises(engram.InvalidArgumentError, match=r"filter.must\[0\].range.gt: must be a number"):
        m.search(q, filter={"must": [{"key": "bucket", "range": {"gt": "3"}}]})
    assert m.erase_matching(wiki_low) == len(accepted)
    assert len(m) == 300 - len(accepted)
    _, found = m.search(q, k=10, filter=wiki_low)
    assert (found == -1).all()


def test_upsert_resolve_scroll_and_payload_index(db):
    import json
    m = db.create_memory("u", key_dim=8, value_dim=4)
    keys, values = unit_rows(50, 8, 4), rng(5).standard_normal((50, 4)).astype(np.float32)
    ext = [f"doc-{i}" if i % 2 else i for i in range(50)]
    payloads = [json.dumps({"n": i, "kind": ["a", "b"][i % 2]}) for i in range(50)]
    first = m.upsert(ext, keys, values, payloads)
    again = m.upsert(ext, keys, values * 2, payloads)  # replaces: same slots, new values
    assert (first == again).all() and len(m) == 50
    assert np.allclose(m.get(m.resolve(["doc-3"]))[1], values[3] * 2)
    with pytest.raises(engram.AlreadyExistsError):
        m.insert_with_ids([4], keys[:1], values[:1])
    with pytest.raises(engram.NotFoundError):
        m.resolve(["nobody"])
    m.create_payload_index("kind")
    m.create_payload_index("n")
    assert m.payload_indexes() == ["kind", "n"]
    seen, cursor = [], None
    while True:
        page = m.scroll(limit=7, cursor=cursor, filter={"must": [{"key": "kind", "match": {"value": "b"}}]},
                        with_keys=True)
        seen += [(s["id"], s["external_id"]) for s in page["slots"]]
        assert all(s["key"].shape == (8,) for s in page["slots"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [e for _, e in seen] == [f"doc-{i}" for i in range(1, 50, 2)]
    _, found = m.search(keys[:3], k=5, filter={"must": [{"key": "n", "range": {"gte": 40}}]})
    assert set(found.ravel().tolist()) <= set(first[40:].tolist())
    m.drop_payload_index("n")
    assert m.payload_indexes() == ["kind"]
