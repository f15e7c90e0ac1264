"""Conformance of every index type against exact (numpy) ground truth on seeded data."""

from __future__ import annotations

import logging
import os

import faiss
import numpy as np
import pytest

from index import FACTORY_EXAMPLES, IndexConfigError, IndexFileError, create_index, load_index, sha256_file
from index.base import sidecar_path
from storage.errors import UUEError

DIM, N, NQ, K = 32, 4000, 50, 10
ID_OFFSET = 1000  # ids are store primary keys, not positions

# factory -> recall@10 floor with default search settings
TYPES = {
    "Flat": 1.0,
    "IDMap2,Flat": 1.0,
    "HNSW32": 0.9,
    "IVF32,Flat": 0.9,
    "IVF32,PQ8x4": 0.3,
    "SQ8,RFlat": 0.99,  # 8-bit codes scanned, 4 × k candidates re-ranked from the float vectors
    "HNSW32_SQ8,RFlat": 0.9,
}
# store vectors losslessly (a refined index reconstructs from its float vectors)
EXACT_TYPES = {"Flat", "IDMap2,Flat", "HNSW32", "IVF32,Flat", "SQ8,RFlat", "HNSW32_SQ8,RFlat"}


def clustered(n: int, dim: int, seed: int, centers: int = 40) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centers, dim)).astype(np.float32)
    x = c[rng.integers(0, centers, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


DATA = clustered(N, DIM, seed=0)
IDS = np.arange(N, dtype=np.int64) + ID_OFFSET
QUERIES = clustered(NQ, DIM, seed=1)


def exact(queries: np.ndarray, k: int, allow: np.ndarray | None = None) -> np.ndarray:
    """Brute-force top-k ids (restricted to ``allow`` when given)."""
    ids, x = IDS, DATA
    if allow is not None:
        mask = np.isin(IDS, allow)
        ids, x = IDS[mask], DATA[mask]
    scores = queries @ x.T
    return ids[np.argsort(-scores, axis=1, kind="stable")[:, :k]]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def build(factory: str):
    index = create_index(factory, DIM)
    index.train(DATA)
    index.add(IDS, DATA)
    return index


@pytest.fixture(scope="module", params=list(TYPES))
def built(request):
    return request.param, build(request.param)


def test_recall_and_shapes(built):
    factory, index = built
    assert index.count == N and index.is_trained and index.factory == factory and index.dim == DIM
    scores, ids = index.search(QUERIES, K)
    assert scores.shape == ids.shape == (NQ, K) and scores.dtype == np.float32 and ids.dtype == np.int64
    assert np.all(np.diff(scores, axis=1) <= 1e-5)  # best first
    assert recall(ids, exact(QUERIES, K)) >= TYPES[factory]


def test_filtered_search_selector(built):
    factory, index = built
    allow = IDS[np.random.default_rng(2).random(N) < 0.3]
    scores, ids = index.search(QUERIES, K, ids=allow, params={"exact": False, "nprobe": 32})
    assert np.isin(ids[ids >= 0], allow).all()
    truth = exact(QUERIES, K, allow)
    if factory in ("Flat", "IDMap2,Flat", "IVF32,Flat"):  # nprobe = nlist: exhaustive
        np.testing.assert_array_equal(ids, truth)
    else:
        assert recall(ids, truth) >= TYPES[factory] - 0.05


def test_tiny_allow_list_scans_exactly(built, caplog):
    factory, index = built
    allow = IDS[::400]  # 10 ids, far below the threshold
    with caplog.at_level(logging.DEBUG, logger="index.faiss_search"):
        scores, ids = index.search(QUERIES[:5], K, ids=np.append(allow, [10**9]))  # unknown id is ignored
    assert "exact scan over 11 allowed ids" in caplog.text
    assert np.isin(ids, allow).all()  # 10 present, k=10: every slot filled
    if factory in EXACT_TYPES:
        np.testing.assert_array_equal(ids, exact(QUERIES[:5], K, allow))
        np.testing.assert_allclose(scores, np.sort(QUERIES[:5] @ DATA[::400].T, axis=1)[:, ::-1], atol=1e-5)


def test_k_larger_than_allow_list_pads(built):
    _, index = built
    scores, ids = index.search(QUERIES[:2], 5, ids=IDS[:3])
    assert (ids[:, 3:] == -1).all() and np.isneginf(scores[:, 3:]).all()
    assert set(ids[0, :3]) == set(IDS[:3])
    _, ids = index.search(QUERIES[:2], 5, ids=np.array([], dtype=np.int64))
    assert (ids == -1).all()


def test_exact_param_without_filter_matches_ground_truth(built):
    factory, index = built
    _, ids = index.search(QUERIES, K, params={"exact": True})
    if factory in EXACT_TYPES:
        np.testing.assert_array_equal(ids, exact(QUERIES, K))


def test_contains_and_ids(built):
    _, index = built
    np.testing.assert_array_equal(index.ids(), IDS)
    np.testing.assert_array_equal(index.contains(np.array([IDS[0], 5, IDS[-1], IDS[-1] + 1])),
                                  [True, False, True, False])


@pytest.mark.parametrize("factory", list(TYPES))
def test_remove_and_upsert(factory):
    index = build(factory)
    gone = IDS[:200]
    assert index.remove(np.append(gone, [5])) == 200  # absent ids are ignored
    assert index.remove(gone) == 0
    assert index.count == N - 200 and not index.contains(gone).any()
    _, ids = index.search(DATA[:200], K, params={"nprobe": 32, "efSearch": 128})
    assert not np.isin(ids, gone).any()
    _, ids = index.search(DATA[:20], K, ids=IDS[:400])  # exact path skips removed ids too
    assert not np.isin(ids, gone).any()
    if factory == "HNSW32":  # HNSW: remove marks, rebuild compacts
        assert index.stats()["removed_marked"] == 200 and index.stats()["stored"] == N
    # upsert: ids 200..209 get the vectors of 3000..3009; removed ids 0..9 come back
    moved = np.r_[IDS[200:210], IDS[:10]]
    index.upsert(moved, DATA[3000:3020])
    assert index.count == N - 190
    scores, ids = index.search(DATA[3000:3020], 3, params={"nprobe": 32, "efSearch": 128})
    for row, target in enumerate(moved):
        assert len(set(ids[row])) == 3  # no stale duplicate
        assert target in ids[row] or factory not in EXACT_TYPES  # PQ codes are lossy
    if factory in EXACT_TYPES:
        _, own = index.search(DATA[200:201], 1, ids=moved[:1])
        assert own[0, 0] == moved[0]
    with pytest.raises(ValueError, match="already in the index"):
        index.add(IDS[500:502], DATA[500:502])


@pytest.mark.parametrize("factory", list(TYPES))
def test_save_load_round_trip(factory, tmp_path):
    index = build(factory)
    index.remove(IDS[:7])
    path = tmp_path / "users.faiss"
    checksum = index.save(path)
    assert checksum == sha256_file(path)
    meta = __import__("json").loads(sidecar_path(path).read_text())
    assert meta["factory"] == factory and meta["dim"] == DIM and meta["metric"] == "ip"
    assert meta["count"] == N - 7 and meta["checksum"] == checksum and meta["faiss_version"] == faiss.__version__
    before = index.search(QUERIES, K)
    for mmap in (False, True):
        loaded = load_index(path, mmap=mmap)
        assert loaded.count == N - 7 and loaded.factory == factory
        after = loaded.search(QUERIES, K)
        np.testing.assert_array_equal(before[1], after[1])
        np.testing.assert_allclose(before[0], after[0], atol=1e-6)
        np.testing.assert_array_equal(loaded.ids(), IDS[7:])
        checked = load_index(path, mmap=mmap, checksum=checksum)  # hashed while read (mmap: before)
        np.testing.assert_array_equal(checked.search(QUERIES, K)[1], before[1])
    with pytest.raises(IndexConfigError, match="read-only"):
        loaded.add(IDS[:1], DATA[:1])


def test_atomic_save_keeps_previous_file(tmp_path, monkeypatch):
    index = build("Flat")
    path = tmp_path / "users.faiss"
    checksum = index.save(path)
    index.remove(IDS[:100])

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(faiss, "write_index", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        index.save(path)
    assert sorted(os.listdir(tmp_path)) == ["users.faiss", "users.faiss.json"]  # no temp file left
    assert sha256_file(path) == checksum
    monkeypatch.undo()
    assert load_index(path).count == N


def test_corrupt_missing_and_mismatched_files(tmp_path):
    path = tmp_path / "users.faiss"
    with pytest.raises(IndexFileError, match="uue index rebuild"):
        load_index(path)
    build("Flat").save(path)
    data = path.read_bytes()
    path.write_bytes(b"\x00garbage" * 100)  # sidecar size no longer matches
    with pytest.raises(IndexFileError, match="sidecar says"):
        load_index(path)
    path.write_bytes(b"XXXX" + data[4:])  # same size, bad header
    with pytest.raises(IndexFileError, match="corrupt or unreadable.*uue index rebuild"):
        load_index(path)
    sidecar_path(path).write_text("{not json")
    with pytest.raises(IndexFileError, match="uue index rebuild"):
        load_index(path)
    assert issubclass(IndexFileError, UUEError)


@pytest.mark.parametrize("factory", ["Flat", "HNSW32", "IVF16,Flat"])
def test_same_size_corruption_fails_the_checksum(factory, tmp_path):
    path = tmp_path / "users.faiss"
    checksum = build(factory).save(path)
    data = bytearray(path.read_bytes())
    data[-200:-100] = bytes(b ^ 0x5A for b in data[-200:-100])  # vector bytes: the file still parses
    path.write_bytes(bytes(data))
    assert load_index(path).count == N  # size and header unchanged: only the checksum can tell
    for mmap in (False, True):
        with pytest.raises(IndexFileError, match="checksum .* does not match the recorded .*uue index rebuild"):
            load_index(path, mmap=mmap, checksum=checksum)
    path.write_bytes(b"XXXX" + bytes(data[4:]))  # unparseable too: the checksum is still the reason given
    with pytest.raises(IndexFileError, match="does not match the recorded"):
        load_index(path, checksum=checksum)


def test_ivf_nprobe_per_query():
    index = build("IVF32,Flat")
    truth = exact(QUERIES, K)
    one = recall(index.search(QUERIES, K, params={"nprobe": 1})[1], truth)
    full = recall(index.search(QUERIES, K, params={"nprobe": 32})[1], truth)
    assert one < full == 1.0
    assert index.stats()["nprobe"] == 8  # the per-query setting does not stick


def test_hnsw_ef_search_per_query():
    index = build("HNSW32")
    truth = exact(QUERIES, K)
    low = recall(index.search(QUERIES, K, params={"efSearch": 10})[1], truth)
    high = recall(index.search(QUERIES, K, params={"efSearch": 256})[1], truth)
    assert high >= low and high >= 0.99


def test_unnormalised_input_is_normalised():
    index = create_index("Flat", DIM)
    index.add(IDS[:100], DATA[:100] * 7.5)
    scores, ids = index.search(DATA[:3] * 0.1, 1)
    np.testing.assert_array_equal(ids[:, 0], IDS[:3])
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)


def test_bad_factories_and_inputs():
    with pytest.raises(IndexConfigError, match="'Bogus42'.*'HNSW32'.*'IVF1024,PQ32'"):
        create_index("Bogus42", DIM)
    with pytest.raises(IndexConfigError, match="PQ5"):
        create_index("PQ5", DIM)  # 32 is not divisible by 5
    with pytest.raises(IndexConfigError, match="dimension"):
        create_index("Flat", 0)
    assert set(FACTORY_EXAMPLES) >= {"Flat", "HNSW32"}
    small = create_index("IVF1024,Flat", DIM)
    with pytest.raises(IndexConfigError, match=r"nlist=1024 but only 500 vectors.*IVF8,Flat"):
        small.train(DATA[:500])
    with pytest.raises(IndexConfigError, match="nlist=1024"):
        small.add(IDS[:500], DATA[:500])  # add trains an untrained index on its batch
    index = create_index("Flat", DIM)
    with pytest.raises(ValueError, match="duplicate"):
        index.add(np.array([1, 1]), DATA[:2])
    with pytest.raises(ValueError, match=r"shape \[n, 32\]"):
        index.add(np.array([1]), np.zeros((1, 16), dtype=np.float32))
    with pytest.raises(ValueError, match=">= 0"):
        index.add(np.array([-3]), DATA[:1])
    with pytest.raises(IndexConfigError, match="unknown search parameter"):
        index.search(QUERIES, 3, params={"nprobes": 4})


def test_empty_index_search_pads():
    index = create_index("HNSW32", DIM)
    scores, ids = index.search(QUERIES[:2], 4)
    assert (ids == -1).all() and np.isneginf(scores).all()
    assert index.count == 0 and index.remove(IDS[:3]) == 0 and index.ids().size == 0


def test_exact_scan_merges_blocks(monkeypatch):
    import index.faiss_search as faiss_search

    monkeypatch.setattr(faiss_search, "EXACT_SCAN_BLOCK", 300)  # 1000 allowed ids -> 4 blocks
    index = build("Flat")
    allow = IDS[1::4]
    scores, ids = index.search(QUERIES, K, ids=allow)
    np.testing.assert_array_equal(ids, exact(QUERIES, K, allow))
    assert np.all(np.diff(scores, axis=1) <= 1e-6)
