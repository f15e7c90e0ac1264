"""Metrics against values computed by hand on tiny arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uue.evaluation import metrics as M

# Query 0 ranks items 0 (.9), 2 (.8), 4 (.5), 3 (.3), 1 (.1); relevant {2, 3} -> hits at ranks 2 and 4.
# Query 1 ranks items 4, 3, 2, 1, 0; relevant {4} -> hit at rank 1.
# Query 2 has no relevant item: excluded from every average.
SCORES = np.array([
    [0.9, 0.1, 0.8, 0.3, 0.5],
    [0.2, 0.4, 0.6, 0.8, 1.0],
    [0.5, 0.5, 0.5, 0.5, 0.5],
])
POS = [{2, 3}, {4}, set()]
L2, L3, L5 = math.log2(2), math.log2(3), math.log2(5)


def test_top_k_orders_best_first_and_breaks_ties_by_index() -> None:
    assert M.top_k(SCORES, 3).tolist() == [[0, 2, 4], [4, 3, 2], [0, 1, 2]]
    # k larger than the number of items: the whole row
    assert M.top_k(SCORES[:1], 50).tolist() == [[0, 2, 4, 3, 1]]
    # partition path (k < n_items / 2) with ties across the boundary
    row = np.array([[0.5, 1.0, 0.5, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]])
    assert M.top_k(row, 3).tolist() == [[1, 3, 0]]
    assert M.top_k(np.zeros((1, 10)), 2).tolist() == [[0, 1]]
    # NaN ranks last
    assert M.top_k(np.array([[np.nan, 0.0, -1.0]]), 3).tolist() == [[1, 2, 0]]


def test_recall_precision_mrr() -> None:
    # recall@1: q0 0/2, q1 1/1 -> 0.5 ; recall@2: q0 1/2, q1 1 -> 0.75 ; recall@5: 1, 1
    assert M.recall_at_k(SCORES, POS, 1) == pytest.approx(0.5)
    assert M.recall_at_k(SCORES, POS, 2) == pytest.approx(0.75)
    assert M.recall_at_k(SCORES, POS, 5) == pytest.approx(1.0)
    # precision@2: q0 1/2, q1 1/2 -> 0.5 ; precision@10 (k > items, denominator k): 2/10, 1/10 -> 0.15
    assert M.precision_at_k(SCORES, POS, 2) == pytest.approx(0.5)
    assert M.precision_at_k(SCORES, POS, 10) == pytest.approx(0.15)
    # mrr: q0 first hit rank 2 -> 1/2, q1 rank 1 -> 1 ; mean 0.75. @1: q0 0, q1 1 -> 0.5
    assert M.mrr_at_k(SCORES, POS, 10) == pytest.approx(0.75)
    assert M.mrr_at_k(SCORES, POS, 1) == pytest.approx(0.5)


def test_ndcg_binary() -> None:
    # q0: DCG = 1/log2(3) + 1/log2(5); IDCG (2 relevant) = 1/log2(2) + 1/log2(3)
    q0 = (1 / L3 + 1 / L5) / (1 / L2 + 1 / L3)  # = 0.65092
    assert q0 == pytest.approx(0.650921, abs=1e-6)
    assert M.ndcg_at_k(SCORES, POS, 10) == pytest.approx((q0 + 1.0) / 2)
    # @3: q0 only the rank-2 hit counts; IDCG still 2 hits (min(|rel|=2, k=3))
    assert M.ndcg_at_k(SCORES[:1], POS[:1], 3) == pytest.approx((1 / L3) / (1 / L2 + 1 / L3))
    # @1: q0 has no hit, ideal = 1 -> 0
    assert M.ndcg_at_k(SCORES[:1], POS[:1], 1) == 0.0


def test_average_precision_at_k() -> None:
    # q0: precision at the hit ranks 2 and 4 = 1/2, 2/4 -> (0.5 + 0.5) / 2 = 0.5 ; q1: 1
    assert M.average_precision_at_k(SCORES, POS, 100) == pytest.approx(0.75)
    # @3: only the rank-2 hit, divided by min(|rel|=2, 3) = 2 -> 0.25
    assert M.average_precision_at_k(SCORES[:1], POS[:1], 3) == pytest.approx(0.25)
    # @1 with 2 relevant: divisor min(2, 1) = 1; no hit -> 0
    assert M.average_precision_at_k(SCORES[:1], POS[:1], 1) == 0.0


def test_retrieval_metrics_dict_and_no_positives() -> None:
    out = M.retrieval_metrics(SCORES, POS, ks=(1, 5), prefix="retrieval/")
    assert out["retrieval/recall@1"] == pytest.approx(0.5)
    assert out["retrieval/precision@5"] == pytest.approx((2 / 5 + 1 / 5) / 2)
    assert out["retrieval/mrr@10"] == pytest.approx(0.75)
    assert out["retrieval/map@100"] == pytest.approx(0.75)
    assert out["retrieval/n_queries"] == 2.0
    empty = M.retrieval_metrics(SCORES, [set(), set(), set()])
    assert empty["n_queries"] == 0 and math.isnan(empty["recall@10"])
    assert math.isnan(M.recall_at_k(SCORES, [set()] * 3, 5))


def test_retrieval_input_errors() -> None:
    with pytest.raises(ValueError):
        M.recall_at_k(SCORES, POS[:2], 1)
    with pytest.raises(ValueError):
        M.recall_at_k(SCORES, [{7}, set(), set()], 1)


def test_roc_auc_and_average_precision() -> None:
    labels = [1, 0, 1, 0]
    scores = [0.9, 0.8, 0.4, 0.1]
    # pos x neg pairs ranked right: (.9>.8) (.9>.1) (.4>.1), wrong: (.4<.8) -> 3/4
    assert M.roc_auc(labels, scores) == pytest.approx(0.75)
    # ranking P N P N: precision at the positives 1/1 and 2/3 -> (1 + 2/3) / 2
    assert M.average_precision(labels, scores) == pytest.approx((1 + 2 / 3) / 2)
    assert M.roc_auc([1, 0], [0.5, 0.5]) == pytest.approx(0.5)  # a tie counts half
    assert math.isnan(M.roc_auc([1, 1], [0.2, 0.3]))
    assert math.isnan(M.average_precision([0, 0], [0.2, 0.3]))


def test_grouped_roc_auc_ranks_each_statement_on_its_own() -> None:
    # statement A: pos .9 > neg .8; statement B: pos .2 > neg .1 -> 1.0 each. Pooled, B's
    # positive (.2) falls below A's negative (.8): 3 of 4 pairs ordered -> 0.75.
    labels, scores, groups = [1, 0, 1, 0], [0.9, 0.8, 0.2, 0.1], ["A", "A", "B", "B"]
    assert M.roc_auc(labels, scores) == pytest.approx(0.75)
    assert M.grouped_roc_auc(labels, scores, groups) == (pytest.approx(1.0), 2)
    # C has no negative: not counted. A tie counts half: D (.5 vs .5) 0.5; E: .3 beats .1, not .4 -> 0.5
    labels, scores, groups = [1, 1, 0, 1, 0, 0], [0.7, 0.5, 0.5, 0.3, 0.1, 0.4], ["C", "D", "D", "E", "E", "E"]
    assert M.grouped_roc_auc(labels, scores, groups) == (pytest.approx(0.5), 2)
    auc, n = M.grouped_roc_auc([1, 1], [0.1, 0.2], ["A", "B"])
    assert math.isnan(auc) and n == 0
    with pytest.raises(ValueError):
        M.grouped_roc_auc([1, 0], [0.1, 0.2], ["A"])


def test_trait_regression_recovers_linear_trait() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    linear = 2.0 * X[:, 0] - X[:, 3] + 1.0
    noise = rng.normal(size=60)
    with_missing = linear.copy()
    with_missing[:5] = np.nan
    out = M.trait_regression(X, {"lin": linear, "noise": noise, "gappy": with_missing, "tiny": np.full(60, np.nan)})
    assert out["lin/r2"] > 0.99 and out["lin/pearson_r"] > 0.99
    assert out["gappy/n"] == 55 and out["gappy/r2"] > 0.99
    assert out["noise/r2"] < 0.2
    assert "tiny/r2" not in out
    assert out == M.trait_regression(X, {"lin": linear, "noise": noise, "gappy": with_missing})  # seeded


def test_neighbour_agreement_and_chance() -> None:
    X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    # k=1: a<->b and c<->d are nearest pairs
    assert M.neighbour_agreement(X, ["x", "x", "y", "y"], k=1) == 1.0
    assert M.neighbour_agreement(X, ["x", "y", "x", "y"], k=1) == 0.0
    # k=3 (everyone else): 1 of 3 neighbours shares the label
    assert M.neighbour_agreement(X, ["x", "x", "y", "y"], k=3) == pytest.approx(1 / 3)
    # k > n-1 is clipped; None labels are dropped: 3 users left, k -> 2
    # a: {b: x, d: y} -> 1/2 ; b: {a, d} -> 1/2 ; d: {b, a} -> 0
    assert M.neighbour_agreement(X, ["x", "x", None, "y"], k=10) == pytest.approx(1 / 3)
    # chance: 2 groups of 2 -> (2*1 + 2*1) / (4*3)
    assert M.neighbour_agreement_chance(["x", "x", "y", "y"]) == pytest.approx(1 / 3)
    assert math.isnan(M.neighbour_agreement(X[:1], ["x"]))
    # block processing gives the same answer
    assert M.neighbour_agreement(X, ["x", "x", "y", "y"], k=1, block_size=1) == 1.0


def test_silhouette() -> None:
    X = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, 3.0]])
    # cosine distance 0 inside each cluster, 1 between -> s = (1 - 0) / 1 = 1 for every point
    assert M.silhouette(X, ["x", "x", "y", "y"]) == pytest.approx(1.0)
    # mixed: a=(1,0) own cluster {c} at distance 1, other {b, d} mean (0 + 1)/2 -> s = (0.5 - 1)/1 = -0.5
    # every point is symmetric to a -> -0.5
    assert M.silhouette(X, ["x", "y", "x", "y"]) == pytest.approx(-0.5)
    assert math.isnan(M.silhouette(X, ["x"] * 4))


def test_recall_curve_matches_recall_at_k() -> None:
    curve = M.recall_curve(SCORES, POS, max_k=8)
    assert curve.shape == (8,)
    # k=1: 0.5, k=2: 0.75, k=3: 0.75, k=4..: 1 (q0's second hit at rank 4); padded past 5 items
    assert curve.tolist() == pytest.approx([0.5, 0.75, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0])
    for k in (1, 3, 5):
        assert curve[k - 1] == pytest.approx(M.recall_at_k(SCORES, POS, k))


def test_sparse_vectors_are_accepted() -> None:
    from scipy import sparse

    X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    labels = ["x", "x", "y", "y"]
    assert M.neighbour_agreement(sparse.csr_matrix(X), labels, k=1) == 1.0
    assert M.silhouette(sparse.csr_matrix(X), labels) == pytest.approx(M.silhouette(X, labels))
