"""Bad input raises the right exception, names what was wrong, and changes nothing."""
import numpy as np
import pytest

import engram
from conftest import unit_rows


@pytest.fixture
def mem(db):
    m = db.create_memory("m", key_dim=4, value_dim=2)
    m.insert(unit_rows(3, 4), np.ones((3, 2), np.float32))
    return m


def unchanged(m):
    s = m.stats()
    return s["slots"], s["op_seq"]


@pytest.mark.parametrize("keys, exc, words", [
    (np.ones((2, 4), np.float64), TypeError, ["keys", "float32", "float64"]),
    (np.ones((2, 4), np.complex64), TypeError, ["keys", "complex64"]),
    ([[1.0, 0, 0, 0]], TypeError, ["keys", "(n, 4)", "list"]),
    (np.ones((2, 5), np.float32), ValueError, ["keys", "(n, 4)", "(2, 5)"]),
    (np.ones((2, 2, 4), np.float32), ValueError, ["keys", "(n, 4)", "(2, 2, 4)"]),
    (np.ones((4, 2), np.float32).T, ValueError, ["keys", "contiguous", "(2, 4)"]),
    (np.ones((2, 8), np.float32)[:, ::2], ValueError, ["keys", "contiguous"]),
])
def test_bad_keys_raise_and_change_nothing(mem, keys, exc, words):
    before = unchanged(mem)
    with pytest.raises(exc) as info:
        mem.insert(keys, np.ones((2, 2), np.float32))
    for w in words:
        assert w in str(info.value)
    assert unchanged(mem) == before


def test_nan_is_invalid_argument_and_changes_nothing(mem):
    keys = np.ones((2, 4), np.float32)
    keys[1, 2] = np.nan
    before = unchanged(mem)
    with pytest.raises(engram.InvalidArgumentError) as info:
        mem.insert(keys, np.ones((2, 2), np.float32))
    assert isinstance(info.value, ValueError) and isinstance(info.value, engram.Error)
    assert info.value.code == "invalid_argument"
    assert unchanged(mem) == before
    with pytest.raises(engram.InvalidArgumentError):
        mem.read(np.full((1, 4), np.inf, np.float32))


def test_row_counts_must_agree(mem):
    with pytest.raises(ValueError, match="values: expected 2 rows"):
        mem.insert(np.ones((2, 4), np.float32), np.ones((3, 2), np.float32))
    with pytest.raises(ValueError, match="payloads: expected 2 payloads"):
        mem.insert(np.ones((2, 4), np.float32), np.ones((2, 2), np.float32), ["x"])


def test_lossless_dtypes_are_converted(mem):
    ids = mem.insert(np.eye(4, dtype=np.float16)[:2], np.array([[1, 2], [3, 4]], np.int16))
    k, v, _ = mem.get(ids)
    np.testing.assert_array_equal(k, np.eye(4, dtype=np.float32)[:2])
    np.testing.assert_array_equal(v, [[1, 2], [3, 4]])
    assert v.dtype == np.float32
    # A 1-D array is one row.
    reads, ids1, _ = mem.read(np.array([1, 0, 0, 0], np.float32), k=2)
    assert reads.shape == (1, 2) and ids1.shape == (1, 2)


def test_unknown_id_is_not_found_and_changes_nothing(mem):
    ids = mem.list_ids()
    before = unchanged(mem)
    with pytest.raises(engram.NotFoundError, match="12345"):
        mem.erase([int(ids[0]), 12345])
    with pytest.raises(engram.NotFoundError):
        mem.update([12345], values=np.ones((1, 2), np.float32))
    with pytest.raises(engram.NotFoundError):
        mem.get([12345])
    assert isinstance(engram.NotFoundError("x"), LookupError)
    assert unchanged(mem) == before
    with pytest.raises(ValueError, match="ids"):
        mem.erase([-1])
    with pytest.raises(TypeError, match="ids"):
        mem.erase(np.array([1.0]))


def test_bad_k_and_temperature(mem):
    q = np.ones((1, 4), np.float32)
    with pytest.raises(engram.InvalidArgumentError):
        mem.read(q, k=5000)
    with pytest.raises(ValueError, match="k"):
        mem.search(q, k=0)
    with pytest.raises(ValueError, match="temperature"):
        mem.read(q, temperature=-1.0)


def test_closed_database_raises_not_crashes(tmp_path):
    db = engram.open(tmp_path / "db")
    m = db.create_memory("m", key_dim=4, value_dim=2)
    m.insert(unit_rows(3, 4), np.ones((3, 2), np.float32))
    db.close()
    db.close()  # idempotent
    assert db.closed
    with pytest.raises(engram.FailedPreconditionError, match="closed"):
        db.list_memories()
    with pytest.raises(engram.FailedPreconditionError, match="closed"):
        db.memory("m")
    with pytest.raises(engram.NotFoundError, match="closed"):
        m.read(np.ones((1, 4), np.float32))
    with pytest.raises(engram.NotFoundError, match="closed"):
        m.insert(np.ones((1, 4), np.float32), np.ones((1, 2), np.float32))
    with pytest.raises(engram.FailedPreconditionError, match="closed"):
        m.snapshot(str(tmp_path / "snap"))
    assert not (tmp_path / "snap").exists()
    with engram.open(tmp_path / "db") as again:  # closing released the folder's lock
        assert len(again.memory("m")) == 3


def test_second_open_of_a_folder_is_busy(tmp_path):
    with engram.open(tmp_path / "db"):
        with pytest.raises(engram.BusyError):
            engram.open(tmp_path / "db")


def test_memory_keeps_its_database_open(tmp_path):
    m = engram.open(tmp_path / "db").create_memory("m", key_dim=4, value_dim=2)
    import gc
    gc.collect()  # the Database object has no name left; the memory keeps it alive
    assert len(m.insert(unit_rows(2, 4), np.ones((2, 2), np.float32))) == 2
