"""Evaluation metrics as small free functions on numpy arrays.

Retrieval metrics take a score matrix ``scores[n_queries, n_items]`` (higher = better)
and, per query, the column indices of its relevant items. Each returns a float: the
macro-average over the queries that have at least one relevant item (queries without
any are excluded, not counted as zero); ``nan`` when no query has one.

Rankings are deterministic: ties are broken by the lower column index first, and NaN
scores rank last.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

__all__ = [
    "top_k", "recall_at_k", "precision_at_k", "mrr_at_k", "ndcg_at_k", "average_precision_at_k",
    "retrieval_metrics", "recall_curve", "roc_auc", "average_precision", "grouped_roc_auc", "trait_regression",
    "neighbour_agreement", "neighbour_agreement_chance", "silhouette", "calibrate_per_statement",
]


def _as_scores(scores: np.ndarray) -> np.ndarray:
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"scores must be 2-D [n_queries, n_items], got shape {arr.shape}")
    return np.where(np.isnan(arr), -np.inf, arr)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` best items per row, best first: ``int64[n_queries, min(k, n_items)]``.

    Uses a partition to find each row's k-th best value, then a stable sort of the
    candidates at or above it, so ties go to the lower index whatever the partition did.
    """
    arr = _as_scores(scores)
    n_q, n_items = arr.shape
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    k = min(k, n_items)
    if n_items == 0 or n_q == 0:
        return np.zeros((n_q, 0), dtype=np.int64)
    neg = -arr
    if k >= n_items // 2:
        return np.argsort(neg, axis=1, kind="stable")[:, :k].astype(np.int64)
    kth = -np.partition(neg, k - 1, axis=1)[:, k - 1]  # k-th largest value per row
    out = np.empty((n_q, k), dtype=np.int64)
    for i in range(n_q):
        cand = np.flatnonzero(arr[i] >= kth[i])  # ascending indices, >= k of them
        order = np.argsort(neg[i, cand], kind="stable")[:k]
        out[i] = cand[order]
    return out


def _relevance(scores: np.ndarray, positives: Sequence[Collection[int]], k: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """(rel[n_valid, k'] bool: is the item at rank r relevant, n_pos[n_valid]) for queries with positives."""
    arr = _as_scores(scores)
    if len(positives) != arr.shape[0]:
        raise ValueError(f"{len(positives)} positive sets for {arr.shape[0]} queries")
    valid = [i for i, p in enumerate(positives) if len(p) > 0]
    if not valid:
        return np.zeros((0, min(k, arr.shape[1])), dtype=bool), np.zeros(0, dtype=np.int64)
    n_items = arr.shape[1]
    for i in valid:
        bad = [j for j in positives[i] if not 0 <= int(j) < n_items]
        if bad:
            raise ValueError(f"query {i}: positive index {bad[0]} outside 0..{n_items - 1}")
    ranked = top_k(arr[valid], k)
    rel = np.zeros(ranked.shape, dtype=bool)
    n_pos = np.zeros(len(valid), dtype=np.int64)
    for row, i in enumerate(valid):
        pos = {int(j) for j in positives[i]}
        n_pos[row] = len(pos)
        rel[row] = [int(j) in pos for j in ranked[row]]
    return rel, n_pos


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if values.size else math.nan


def _recall(rel: np.ndarray, n_pos: np.ndarray, k: int) -> np.ndarray:
    return rel[:, :k].sum(axis=1) / n_pos


def _precision(rel: np.ndarray, n_pos: np.ndarray, k: int) -> np.ndarray:
    return rel[:, :k].sum(axis=1) / k  # denominator k even when fewer than k items exist


def _mrr(rel: np.ndarray, n_pos: np.ndarray, k: int) -> np.ndarray:
    r = rel[:, :k]
    first = np.argmax(r, axis=1)
    return np.where(r.any(axis=1), 1.0 / (first + 1), 0.0)


def _ndcg(rel: np.ndarray, n_pos: np.ndarray, k: int) -> np.ndarray:
    r = rel[:, :k]
    discounts = 1.0 / np.log2(np.arange(2, r.shape[1] + 2))
    dcg = (r * discounts).sum(axis=1)
    ideal_n = np.minimum(n_pos, r.shape[1])
    cum = np.concatenate([[0.0], np.cumsum(discounts)])
    idcg = cum[ideal_n]
    return np.divide(dcg, idcg, out=np.zeros_like(dcg), where=idcg > 0)


def _ap(rel: np.ndarray, n_pos: np.ndarray, k: int) -> np.ndarray:
    r = rel[:, :k].astype(np.float64)
    prec_at_r = np.cumsum(r, axis=1) / np.arange(1, r.shape[1] + 1)
    return (prec_at_r * r).sum(axis=1) / np.minimum(n_pos, k)


def recall_at_k(scores: np.ndarray, positives: Sequence[Collection[int]], k: int) -> float:
    """|top-k ∩ relevant| / |relevant|, averaged over queries."""
    rel, n_pos = _relevance(scores, positives, k)
    return _mean(_recall(rel, n_pos, k))


def precision_at_k(scores: np.ndarray, positives: Sequence[Collection[int]], k: int) -> float:
    """|top-k ∩ relevant| / k, averaged over queries."""
    rel, n_pos = _relevance(scores, positives, k)
    return _mean(_precision(rel, n_pos, k))


def mrr_at_k(scores: np.ndarray, positives: Sequence[Collection[int]], k: int) -> float:
    """1 / rank of the first relevant item within the top k (0 if none), averaged."""
    rel, n_pos = _relevance(scores, positives, k)
    return _mean(_mrr(rel, n_pos, k))


def ndcg_at_k(scores: np.ndarray, positives: Sequence[Collection[int]], k: int) -> float:
    """Binary-relevance nDCG@k: Σ_rel 1/log2(rank+1) over the ideal DCG of min(|rel|, k) hits."""
    rel, n_pos = _relevance(scores, positives, k)
    return _mean(_ndcg(rel, n_pos, k))


def average_precision_at_k(scores: np.ndarray, positives: Sequence[Collection[int]], k: int = 100) -> float:
    """AP@k: Σ over relevant ranks r ≤ k of precision@r, divided by min(|rel|, k); the mean is MAP@k."""
    rel, n_pos = _relevance(scores, positives, k)
    return _mean(_ap(rel, n_pos, k))


def retrieval_metrics(scores: np.ndarray, positives: Sequence[Collection[int]], ks: Sequence[int] = (1, 5, 10),
                      prefix: str = "", *, mrr_k: int = 10, ndcg_k: int = 10, map_k: int = 100
                      ) -> dict[str, float]:
    """Recall@k and Precision@k for each k, MRR@10, nDCG@10, MAP@100 from one ranking.

    Keys: ``{prefix}recall@{k}``, ``{prefix}precision@{k}``, ``{prefix}mrr@10``,
    ``{prefix}ndcg@10``, ``{prefix}map@100`` plus ``{prefix}n_queries`` (queries with
    at least one relevant item).
    """
    k_max = max([*ks, mrr_k, ndcg_k, map_k])
    rel, n_pos = _relevance(scores, positives, k_max)
    out: dict[str, float] = {}
    for k in ks:
        out[f"{prefix}recall@{k}"] = _mean(_recall(rel, n_pos, k))
    for k in ks:
        out[f"{prefix}precision@{k}"] = _mean(_precision(rel, n_pos, k))
    out[f"{prefix}mrr@{mrr_k}"] = _mean(_mrr(rel, n_pos, mrr_k))
    out[f"{prefix}ndcg@{ndcg_k}"] = _mean(_ndcg(rel, n_pos, ndcg_k))
    out[f"{prefix}map@{map_k}"] = _mean(_ap(rel, n_pos, map_k))
    out[f"{prefix}n_queries"] = float(len(n_pos))
    return out


def recall_curve(scores: np.ndarray, positives: Sequence[Collection[int]], max_k: int = 50) -> np.ndarray:
    """Recall@k for k = 1..max_k from one ranking: ``float64[max_k]`` (nan when no query has positives)."""
    rel, n_pos = _relevance(scores, positives, max_k)
    if not n_pos.size:
        return np.full(max_k, math.nan)
    hits = np.cumsum(rel, axis=1) / n_pos[:, None]  # recall at each rank
    if hits.shape[1] < max_k:  # fewer items than max_k: recall stays at its final value
        pad = np.repeat(hits[:, -1:], max_k - hits.shape[1], axis=1)
        hits = np.concatenate([hits, pad], axis=1)
    return hits.mean(axis=0)


def _binary_inputs(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    y = np.asarray(labels).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels {y.shape} and scores {s.shape} differ in length")
    if y.all() or not y.any():
        logger.warning("ROC-AUC / AP need both positive and negative pairs; got %d positives of %d",
                       int(y.sum()), y.size)
        return None
    return y, s


def roc_auc(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Area under the ROC curve (ties count half); ``nan`` unless both classes occur."""
    from sklearn.metrics import roc_auc_score

    data = _binary_inputs(labels, scores)
    return math.nan if data is None else float(roc_auc_score(*data))


def grouped_roc_auc(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray,
                    groups: Sequence[Hashable]) -> tuple[float, int]:
    """Macro ROC-AUC: the AUC within each group (e.g. one statement's users), averaged.

    Only groups with both a positive and a negative count; returns ``(mean AUC, number of
    groups counted)``, ``(nan, 0)`` when none qualifies. Unlike one AUC over all pairs, a
    statement that scores high for everybody cannot push another statement's positives
    below its negatives: each group is ranked on its own.
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(labels).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if not (len(y) == len(s) == len(groups)):
        raise ValueError(f"labels ({len(y)}), scores ({len(s)}) and groups ({len(groups)}) differ in length")
    members: dict[Hashable, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    aucs = [float(roc_auc_score(y[idx], s[idx])) for idx in map(np.asarray, members.values())
            if y[idx].any() and not y[idx].all()]
    return (float(np.mean(aucs)) if aucs else math.nan), len(aucs)


def average_precision(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Non-interpolated average precision, Σ_n (R_n − R_{n−1}) P_n over score thresholds."""
    from sklearn.metrics import average_precision_score

    data = _binary_inputs(labels, scores)
    return math.nan if data is None else float(average_precision_score(*data))


def trait_regression(vectors: np.ndarray, targets: Mapping[str, np.ndarray], folds: int = 5, seed: int = 0,
                     alphas: Sequence[float] = tuple(10.0 ** np.arange(-3, 4))) -> dict[str, float]:
    """Ridge regression from vectors to each trait, scored on k-fold out-of-fold predictions.

    The ridge penalty is chosen inside each training fold (``RidgeCV``, efficient
    leave-one-out), so no test fold influences its own prediction. Users whose target is
    NaN are left out for that trait. Returns ``{trait}/r2``, ``{trait}/pearson_r`` and
    ``{trait}/n``; a trait with fewer than 2 * folds known values (or < 4) is skipped.
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold, cross_val_predict

    X = _as_matrix(vectors)
    out: dict[str, float] = {}
    for trait, raw in sorted(targets.items()):
        y = np.asarray(raw, dtype=np.float64).ravel()
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"trait {trait!r}: {y.shape[0]} targets for {X.shape[0]} vectors")
        known = np.isfinite(y)
        n = int(known.sum())
        n_splits = min(folds, n // 2)
        if n_splits < 2 or n < 4:
            logger.warning("trait %r: only %d known values, skipped", trait, n)
            continue
        cv = KFold(n_splits=n_splits, shuffle=True, random_state=seed)
        pred = cross_val_predict(RidgeCV(alphas=list(alphas)), X[known], y[known], cv=cv)
        yk = y[known]
        ss_res = float(np.sum((yk - pred) ** 2))
        ss_tot = float(np.sum((yk - yk.mean()) ** 2))
        out[f"{trait}/r2"] = 1.0 - ss_res / ss_tot if ss_tot > 0 else math.nan
        out[f"{trait}/pearson_r"] = _pearson(yk, pred)
        out[f"{trait}/n"] = float(n)
    return out


def _as_matrix(vectors: Any) -> Any:
    """float64 ndarray, or CSR float64 for a scipy sparse matrix (TF-IDF rows)."""
    from scipy import sparse

    if sparse.issparse(vectors):
        return sparse.csr_matrix(vectors, dtype=np.float64)
    return np.asarray(vectors, dtype=np.float64)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    denom = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b) / denom if denom > 0 else math.nan


def _known_labels(vectors: np.ndarray, labels: Sequence[Hashable | None]) -> tuple[np.ndarray, np.ndarray]:
    X = _as_matrix(vectors)
    if len(labels) != X.shape[0]:
        raise ValueError(f"{len(labels)} labels for {X.shape[0]} vectors")
    keep = np.array([lab is not None for lab in labels], dtype=bool)
    names = np.array([str(lab) for lab in labels if lab is not None], dtype=str)
    _, codes = np.unique(names, return_inverse=True)
    return X[keep], codes.ravel().astype(np.int64)


def neighbour_agreement(vectors: np.ndarray, labels: Sequence[Hashable | None], k: int = 10,
                        block_size: int = 1024) -> float:
    """Mean fraction of each user's k cosine-nearest other users that share its label.

    Users whose label is None are dropped (as queries and as neighbours). ``nan`` when
    fewer than two labelled users remain.
    """
    X, codes = _known_labels(vectors, labels)
    n = X.shape[0]
    if n < 2:
        return math.nan
    k = min(k, n - 1)
    from sklearn.preprocessing import normalize

    X = normalize(X)  # rows to unit length (zero rows stay zero); keeps sparse sparse
    fractions = np.empty(n, dtype=np.float64)
    for start in range(0, n, block_size):
        stop = min(start + block_size, n)
        sims = X[start:stop] @ X.T
        sims = np.asarray(sims.toarray() if hasattr(sims, "toarray") else sims, dtype=np.float64)
        sims[np.arange(stop - start), np.arange(start, stop)] = -np.inf  # exclude self
        nn = top_k(sims, k)
        fractions[start:stop] = (codes[nn] == codes[start:stop, None]).mean(axis=1)
    return float(fractions.mean())


def neighbour_agreement_chance(labels: Sequence[Hashable | None]) -> float:
    """Expected neighbour agreement of random neighbours: Σ_c (n_c/n)·(n_c−1)/(n−1)."""
    known = [str(lab) for lab in labels if lab is not None]
    n = len(known)
    if n < 2:
        return math.nan
    _, counts = np.unique(np.array(known, dtype=str), return_counts=True)
    return float(np.sum(counts * (counts - 1)) / (n * (n - 1)))


def silhouette(vectors: np.ndarray, labels: Sequence[Hashable | None], sample_size: int = 5000,
               seed: int = 0) -> float:
    """Mean cosine silhouette of the label clusters (on a seeded sample of ≤ sample_size users).

    ``nan`` unless there are at least 2 labels and fewer labels than users.
    """
    from sklearn.metrics import silhouette_score

    X, codes = _known_labels(vectors, labels)
    n_labels = len(np.unique(codes))
    if n_labels < 2 or n_labels >= X.shape[0]:
        return math.nan
    sample = sample_size if X.shape[0] > sample_size else None
    return float(silhouette_score(X, codes, metric="cosine", sample_size=sample, random_state=seed))


def calibrate_per_statement(scores: np.ndarray) -> np.ndarray:
    """Standardise each statement's column over the users: ``(s - mean) / std`` per column.

    ``scores`` is ``[n_users, n_statements]``; a column with std 0 is only centred. Removes
    a statement's overall pull (one that scores high for everybody) before ranking the
    statements of one user against each other.
    """
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"scores must be 2-D [n_users, n_statements], got shape {arr.shape}")
    if arr.shape[0] == 0:
        return arr.copy()
    centred = arr - arr.mean(axis=0, keepdims=True)
    std = arr.std(axis=0, keepdims=True)
    return np.divide(centred, std, out=centred.copy(), where=std > 0)
