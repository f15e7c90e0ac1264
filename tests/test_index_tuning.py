"""A re-ranked quantized index (SQ8 + exact re-ranking from the float vectors) and HNSW efSearch
calibrated at build time for a target recall. Seeded synthetic data, exact ground truth by brute
force (the faiss contrib way: ``faiss.knn`` over all vectors)."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pytest

from index import IndexConfigError, IndexFileError, create_index, load_index
from index.base import sidecar_path
from index.faiss_tuning import ef_for_recall

DIM, N, NQ, K = 48, 6000, 100, 10


def normalised(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def mixture(n: int, seed: int) -> np.ndarray:
    """Clustered vectors (centres shared by every seed) plus isotropic noise, L2-normalised."""
    centres = np.random.default_rng(0).standard_normal((60, DIM)).astype(np.float32)
    rng = np.random.default_rng(seed)
    return normalised(centres[rng.integers(0, 60, n)] + 0.7 * rng.standard_normal((n, DIM)).astype(np.float32))


DATA, QUERIES = mixture(N, 1), mixture(NQ, 2)
IDS = np.arange(N, dtype=np.int64) * 7 + 3  # store keys, not row numbers


def truth(allow: np.ndarray | None = None, k: int = K) -> np.ndarray:
    rows = np.arange(N) if allow is None else np.flatnonzero(np.isin(IDS, allow))
    _, found = faiss.knn(QUERIES, DATA[rows], k, metric=faiss.METRIC_INNER_PRODUCT)
    return IDS[rows][found]


def recall(found: np.ndarray, expected: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, expected)]))


@pytest.fixture(scope="module")
def sq8():
    index = create_index("SQ8,RFlat", DIM)
    index.train(DATA)
    index.add(IDS, DATA)
    return index


def test_sq8_refined_recall_and_exact_scores(sq8) -> None:
    scores, ids = sq8.search(QUERIES, K)
    assert recall(ids, truth()) >= 0.99
    rows = np.searchsorted(IDS, ids)
    np.testing.assert_allclose(scores, np.sum(QUERIES[:, None, :] * DATA[rows], axis=2), atol=1e-5)  # re-ranked
    # without re-ranking candidates (k_factor 1) the 8-bit codes alone rank less well
    _, raw = sq8.search(QUERIES, K, params={"k_factor": 1})
    assert recall(raw, truth()) < recall(ids, truth())
    assert sq8.stats()["k_factor"] == 4.0 and {"k_factor", "exact"} <= sq8.search_settings


def test_sq8_filters_and_deletions(sq8, tmp_path) -> None:
    allow = IDS[np.random.default_rng(3).random(N) < 0.4]
    _, ids = sq8.search(QUERIES, K, ids=allow, params={"exact": False})  # the selector inside the base scan
    assert np.isin(ids, allow).all() and recall(ids, truth(allow)) >= 0.99
    deny = truth()[:, :3].ravel()  # the three best of every query, deleted since the build
    _, ids = sq8.search(QUERIES, K, exclude=deny)
    assert not np.isin(ids, deny).any()
    assert recall(ids, truth(np.setdiff1d(IDS, deny))) >= 0.99
    path = tmp_path / "sq8.faiss"
    copy = load_index(sq8.save(path) and path)
    assert copy.remove(deny[:5]) == 5 and copy.stats()["removed_marked"] == 5  # marked, as HNSW
    _, ids = copy.search(QUERIES, K)
    assert not np.isin(ids, deny[:5]).any()


def test_refined_index_is_memory_mapped_by_default(sq8, tmp_path) -> None:
    path = tmp_path / "sq8.faiss"
    sq8.save(path)
    assert json.loads(sidecar_path(path).read_text())["mmap_default"] is True
    mapped = load_index(path, mmap=None)
    assert mapped.read_only and not load_index(path).read_only
    a, b = mapped.search(QUERIES, K), sq8.search(QUERIES, K)
    np.testing.assert_array_equal(a[1], b[1])
    flat = create_index("Flat", DIM)
    flat.add(IDS[:10], DATA[:10])
    flat.save(tmp_path / "flat.faiss")
    assert not load_index(tmp_path / "flat.faiss", mmap=None).read_only  # others keep reading into memory


def test_refinement_over_ivf_is_refused() -> None:
    with pytest.raises(IndexConfigError, match="not IVF"):
        create_index("IVF16,SQ8,RFlat", DIM)


@pytest.mark.parametrize("factory", ["HNSW16", "HNSW16_SQ8,RFlat"])
def test_hnsw_calibration_picks_ef_for_the_target_and_is_saved(factory, tmp_path) -> None:
    index = create_index(factory, DIM)
    index.train(DATA)
    index.add(IDS, DATA)
    assert "recall" not in index.search_settings
    with pytest.raises(IndexConfigError, match="calibrated"):
        index.search(QUERIES[:1], K, params={"recall": 0.9})
    loo = index.calibrate(DATA, IDS)  # no queries: leave-one-out on the indexed vectors
    assert loo["method"].startswith("leave-one-out") and loo["queries"] == 200
    cal = index.calibrate(DATA, IDS, mixture(300, 5))  # a sample of queries like the ones to come
    assert cal["method"] == "sample of the queries"
    curve = cal["recall_by_efSearch"]
    assert cal["queries"] == 200 and curve[0][0] == 16 and all(0 <= r <= 1 for _, r in curve)
    assert index.stats()["efSearch"] == cal["efSearch"] == ef_for_recall(curve, 0.98)
    assert cal["efSearch"] == next((ef for ef, r in curve if r >= 0.98), curve[-1][0])
    # the sample's recall predicts fresh queries' recall at the chosen efSearch
    _, ids = index.search(QUERIES, K)
    assert recall(ids, truth()) >= 0.95
    # a per-query target picks a smaller or larger efSearch from the curve
    low = ef_for_recall(curve, 0.5)
    _, at_low = index.search(QUERIES, K, params={"recall": 0.5})
    _, at_ef = index.search(QUERIES, K, params={"efSearch": low})
    np.testing.assert_array_equal(at_low, at_ef)
    for bad in (0, 1.5, "high", True):
        with pytest.raises(IndexConfigError, match="recall must be a number"):
            index.search(QUERIES[:1], K, params={"recall": bad})
    with pytest.raises(IndexConfigError, match="either efSearch or recall"):
        index.search(QUERIES[:1], K, params={"recall": 0.9, "efSearch": 64})
    path = tmp_path / "h.faiss"
    index.save(path)
    again = load_index(path)
    assert again.calibration == cal and again.stats()["efSearch"] == cal["efSearch"] and "recall" in again.search_settings
    meta = json.loads(sidecar_path(path).read_text())
    meta["calibration"]["recall_by_efSearch"] = [["x", 1]]
    sidecar_path(path).write_text(json.dumps(meta))
    with pytest.raises(IndexFileError, match="malformed 'calibration'"):
        load_index(path)


def test_small_and_flat_indexes_are_not_calibrated() -> None:
    flat = create_index("Flat", DIM)
    flat.add(IDS, DATA)
    assert flat.calibrate(DATA, IDS) is None and flat.calibration is None
    small = create_index("HNSW16", DIM)
    small.add(IDS[:100], DATA[:100])
    assert small.calibrate(DATA[:100], IDS[:100]) is None
