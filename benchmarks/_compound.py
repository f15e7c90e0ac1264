"""Compound audiences measured where the truth is known: "A but not B" and "like these 5 users".

On evaluation users whose true statements are known (the synthetic set: each user's topics):

- **A ∧ ¬B**: for every statement A true of ≥ 2 users and every statement B true of at
  least one of them, with ≥ 1 user having A but not B (and both with a non-zero vector:
  BM25 has none for a statement none of whose words occur), rank all users and count as
  relevant exactly the users with A and without B. Methods: the naive single statement
  (A alone), UUE's compound scoring (``uue.search.compound.CompoundScorer``: A wanted, B
  excluded, weight 1), and two peers from Qdrant's recommendation API: ``average_vector``
  (query ``2·a − b``) and ``best_score`` (a candidate closer to B than to A scores
  ``−cos(b)²``), plus a hard exclusion (drop users more than ``HARD_Z`` standard deviations
  into B). Metrics @10: precision, nDCG, recall, and ``leak`` (the share of the top 10
  who have B); ``ndcg@10_overlap``: nDCG on the pairs where ≥ 25% of A's users also have B
  (where an exclusion has the most to do).
- **like these users**: for every statement with ≥ ``SEEDS`` + 3 users, ``SEEDS`` of them
  (seeded draw) are the examples; relevant: the statement's other users; the examples are
  never ranked. Methods: one example alone (``uue similar``, averaged over the examples),
  UUE's liked users (the normalised mean of their vectors), and Qdrant's ``best_score``
  (each candidate's best cosine to any example).

Exclusions are calibrated on the evaluated users, as a served index calibrates them on its
users (``calibration.user_sample``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from uue.evaluation import metrics as M
from uue.evaluation.baselines import to_dense
from uue.search.calibration import statement_stats, user_sample
from uue.search.compound import CompoundScorer

K = 10
SEEDS = 5
HARD_Z = 2.0
OVERLAP = 0.25
PAIR_METHODS = ("naive", "compound", "average_vector", "best_score", "hard_exclude")
LIKE_METHODS = ("single", "compound", "best_score")


def compact(users: Any, statements: Any) -> tuple[np.ndarray, np.ndarray]:
    """Dense rows with the same inner products as ``users`` and ``statements`` (every score here is
    an inner product of their combinations): TF-IDF / BM25 rows (a vocabulary wide, sparse) become
    ``n_users + n_statements`` wide, through the eigendecomposition of their Gram matrix."""
    n = users.shape[0]
    if users.shape[1] <= users.shape[0] + statements.shape[0]:
        return to_dense(users), to_dense(statements)
    from scipy import sparse

    stacked = sparse.vstack([sparse.csr_matrix(users), sparse.csr_matrix(statements)]).tocsr()
    gram = np.asarray((stacked @ stacked.T).todense(), dtype=np.float64)
    values, vectors = np.linalg.eigh(gram)
    rows = (vectors * np.sqrt(np.maximum(values, 0.0))).astype(np.float32)
    return rows[:n], rows[n:]


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _ranked(scores: np.ndarray, relevant: set[int], excluded: set[int]) -> dict[str, float]:
    row = scores[None, :].astype(np.float64)
    top = np.argsort(-scores, kind="stable")[:K]
    return {"precision@10": M.precision_at_k(row, [relevant], K), "ndcg@10": M.ndcg_at_k(row, [relevant], K),
            "recall@10": M.recall_at_k(row, [relevant], K), "leak@10": sum(int(t) in excluded for t in top) / K}


def pair_scores(users: np.ndarray, a: np.ndarray, b: np.ndarray, sample: np.ndarray) -> dict[str, np.ndarray]:
    """Each method's scores of ``users`` for "a, not b" (``a``, ``b``: statement vectors)."""
    sa, sb = users @ a, users @ b
    stats = statement_stats(b[None], sample)[0]
    ours = CompoundScorer.build(a[None], np.ones(1), b[None], np.ones(1), sample)
    return {"naive": sa, "compound": ours.score(users),
            "average_vector": users @ _unit(2 * a - b),
            "best_score": np.where(sa > sb, sa, -sb * sb),
            "hard_exclude": np.where((sb - stats[0]) / stats[1] > HARD_Z, -np.inf, sa)}


def compound_metrics(users: Any, statement_vectors: Any, statements: Sequence[str],
                     truths: Sequence[Sequence[str]], seed: int = 0) -> dict[str, float]:
    """``compound/*`` and ``like_users/*`` metrics (see the module doc). ``users``: ``[n, d]`` user
    vectors; ``statement_vectors``: ``[m, d]`` for ``statements``; ``truths``: each user's true statements."""
    U, S = compact(users, statement_vectors)
    col = {s: j for j, s in enumerate(statements)}
    has = [{col[s] for s in truth if s in col} for truth in truths]
    holders = [{i for i, h in enumerate(has) if j in h} for j in range(len(statements))]
    sample = user_sample(U)
    scorable = np.linalg.norm(S, axis=1) > 1e-6  # BM25 gives no vector to a statement none of whose words occur
    out: dict[str, float] = {"compound/n_statements_unscorable": float((~scorable).sum())}
    rows: dict[str, list[dict[str, float]]] = {m: [] for m in PAIR_METHODS}
    overlap: list[bool] = []
    for ja in range(len(statements)):
        if len(holders[ja]) < 2 or not scorable[ja]:
            continue
        for jb in sorted({j for i in holders[ja] for j in has[i]} - {ja}):
            relevant = holders[ja] - holders[jb]
            if not relevant or not scorable[jb]:
                continue
            overlap.append(len(holders[ja] & holders[jb]) >= OVERLAP * len(holders[ja]))
            for method, scores in pair_scores(U, S[ja], S[jb], sample).items():
                rows[method].append(_ranked(scores, relevant, holders[jb]))
    out["compound/n_pairs"] = float(len(overlap))
    out["compound/n_pairs_overlap"] = float(sum(overlap))
    mask = np.array(overlap, dtype=bool)
    for method, results in rows.items():
        for key in ("precision@10", "ndcg@10", "recall@10", "leak@10"):
            values = np.array([r[key] for r in results], dtype=np.float64)
            out[f"compound/{method}/{key}"] = float(values.mean()) if len(values) else float("nan")
            if key == "ndcg@10":
                out[f"compound/{method}/ndcg@10_overlap"] = float(values[mask].mean()) if mask.any() else float("nan")
    out.update(like_users_metrics(U, holders, seed))
    return out


def like_users_metrics(U: np.ndarray, holders: Sequence[set[int]], seed: int = 0) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    results: dict[str, list[dict[str, float]]] = {m: [] for m in LIKE_METHODS}
    for members in holders:
        if len(members) < SEEDS + 3:
            continue
        examples = rng.choice(sorted(members), SEEDS, replace=False)
        relevant = set(members) - set(examples.tolist())
        hidden = np.zeros(len(U), dtype=bool)
        hidden[examples] = True

        def rank(scores: np.ndarray) -> dict[str, float]:
            return _ranked(np.where(hidden, -np.inf, scores), relevant, set())

        if (np.linalg.norm(U[examples], axis=1) < 1e-6).any():
            continue
        singles = [rank(U @ U[e]) for e in examples]
        results["single"].append({key: float(np.mean([s[key] for s in singles])) for key in singles[0]})
        liked = CompoundScorer.build(U[examples], np.ones(SEEDS), np.zeros((0, U.shape[1])), np.zeros(0), U[:0])
        results["compound"].append(rank(liked.score(U)))
        results["best_score"].append(rank((U @ U[examples].T).max(1)))
    out = {"like_users/n_statements": float(len(results["single"]))}
    for method, rows in results.items():
        for key in ("precision@10", "ndcg@10", "recall@10"):
            out[f"like_users/{method}/{key}"] = float(np.mean([r[key] for r in rows])) if rows else float("nan")
    return out
