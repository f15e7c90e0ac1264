"""Compound audiences: several statements and users, wanted or excluded, in one query.

The scoring (chosen by measurement on the synthetic set, README "Compound audiences"):

- **wanted** inputs (``--statement``, ``--like-user``) make one query vector: the
  weighted mean of their unit vectors, normalised (a liked user's vector is the one the
  index holds). ``positive(u) = cos(u, p)``. For one statement this is the plain audience.
- **excluded** inputs (``--not-statement``, ``--unlike-user``) are a penalty, calibrated per
  input: each one's score for a user in standard deviations above the typical user
  (``uue.search.calibration``, over the same user sample as profiles), counted only above
  the typical user: ``z_j(u)⁺ = max(0, (cos(u, n_j) − mean_j) / std_j)``.
- ``score(u) = positive(u) − std_p · Σ_j λ · w_j · z_j(u)⁺`` with ``λ = NEGATIVE_PENALTY``
  (0.5) and ``std_p`` the spread of the positive query over users, so the penalty is in
  the positive score's own units: a user as typical as everyone else for "camping" loses
  nothing; one 2 standard deviations into "camping" (weight 1) loses one standard deviation
  of "hiking". A hard drop above a calibrated threshold, Qdrant's ``average_vector`` and
  ``best_score`` were measured too and ranked worse (README).

The liked and unliked users themselves are never in the result. The search runs in FAISS
with the positive vector and over-fetches: candidates are rescored from the stored vectors,
and the search widens (×4) until the ``k``-th best score is at least the lowest positive
score fetched: a penalty only lowers scores, so no user beyond that can enter the top ``k``
(exact for an exact index). Filters (``--where``, ``--since``, ``--until``) apply inside
the search as in a plain audience.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from storage.filters import UserFilter
from uue.search.calibration import statement_stats, user_sample
from uue.search.compound_query import CompoundQuery, CompoundQueryError, Term
from uue.search.queries import Searcher
from uue.search.results import QueryError, StaleIndex, UserHit, check_k

logger = logging.getLogger(__name__)

NEGATIVE_PENALTY = 0.5  # λ: standard deviations of the positive score lost per standard deviation of an exclusion
OVERFETCH = 4  # candidates fetched per result asked, and the widening factor

__all__ = ["CompoundQuery", "CompoundQueryError", "CompoundScorer", "Term", "compound_audience",
           "compound_scores", "positive_vector", "query_vector", "NEGATIVE_PENALTY"]


def positive_vector(vectors: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The normalised weighted mean of unit ``vectors`` ``[m, d]``."""
    vectors = np.asarray(vectors, dtype=np.float32)
    units = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    mean = (np.asarray(weights, dtype=np.float32)[:, None] * units).sum(0)
    norm = float(np.linalg.norm(mean))
    if norm < 1e-6:
        raise QueryError("the wanted inputs cancel out (their vectors point in opposite directions): "
                         "leave one out or change the weights")
    return (mean / norm).astype(np.float32)


@dataclass
class CompoundScorer:
    """The scoring of one compound query, ready for blocks of user vectors."""

    positive: np.ndarray  # [d]
    negatives: np.ndarray  # [m, d]
    weights: np.ndarray  # [m] weights of the negatives
    negative_stats: np.ndarray  # [m, 2] mean, std of each negative over the user sample
    positive_std: float

    @classmethod
    def build(cls, positives: np.ndarray, positive_weights: np.ndarray, negatives: np.ndarray,
              negative_weights: np.ndarray, sample: np.ndarray) -> CompoundScorer:
        """``sample``: user vectors the exclusions are calibrated on (``calibration.user_sample``)."""
        p = positive_vector(positives, positive_weights)
        negatives = np.asarray(negatives, dtype=np.float32).reshape(-1, len(p))
        stats = statement_stats(negatives, sample) if len(negatives) else np.zeros((0, 2), np.float32)
        positive_std = float(statement_stats(p[None], sample)[0, 1]) if len(negatives) else 0.0
        return cls(p, negatives, np.asarray(negative_weights, dtype=np.float32), stats, positive_std)

    def penalty(self, users: np.ndarray) -> np.ndarray:
        """``[n]``: what the exclusions take off each user's positive score (≥ 0)."""
        users = np.asarray(users, dtype=np.float32)
        if not len(self.negatives):
            return np.zeros(len(users), dtype=np.float32)
        z = (users @ self.negatives.T - self.negative_stats[:, 0]) / self.negative_stats[:, 1]
        return self.positive_std * (np.maximum(z, 0.0) * (NEGATIVE_PENALTY * self.weights)).sum(1)

    def score(self, users: np.ndarray) -> np.ndarray:
        users = np.asarray(users, dtype=np.float32)
        return (users @ self.positive - self.penalty(users)).astype(np.float32)


def _scorer(searcher: Searcher, query: CompoundQuery) -> tuple[CompoundScorer, np.ndarray]:
    """The query's scorer, and the store ids of the users it names (left out of results)."""
    users = searcher.loaded_build("users")
    texts = [t.value for t in query.terms if t.kind == "statement"]
    statement_rows = iter(searcher.statement_vectors(texts) if texts else ())
    vectors, seeds = [], []
    for term in query.terms:
        if term.kind == "statement":
            vectors.append(next(statement_rows))
        else:
            try:
                pk, vector = searcher.user_vector(term.value)
            except StaleIndex as exc:
                raise StaleIndex(f"{term.option}: {exc}") from None
            vectors.append(vector)
            seeds.append(pk)
    negative = np.array([t.negative for t in query.terms])
    weights = np.array([t.weight for t in query.terms], dtype=np.float32)
    matrix = np.stack(vectors).astype(np.float32)
    sample = user_sample(users.vectors.vectors) if negative.any() else np.zeros((0, matrix.shape[1]), np.float32)
    scorer = CompoundScorer.build(matrix[~negative], weights[~negative], matrix[negative], weights[negative], sample)
    return scorer, np.unique(np.asarray(seeds, dtype=np.int64))


def query_vector(searcher: Searcher, query: CompoundQuery) -> np.ndarray:
    """The wanted inputs' query vector (what ``--explain`` scores chunks against)."""
    return _scorer(searcher, query)[0].positive


def compound_audience(searcher: Searcher, query: CompoundQuery, k: int = 10, user_filter: UserFilter | None = None,
                      params: dict | None = None) -> list[UserHit]:
    """The ``k`` users the compound query describes best, among those passing the filter."""
    check_k(k)
    if (text := query.single_statement) is not None:
        return searcher.audience(text, k, user_filter, params)  # one statement: exactly the plain audience
    users = searcher.loaded_build("users")
    searcher.check_search_params(users, params)
    scorer, seeds = _scorer(searcher, query)
    matching = allowed = searcher.allowed_ids(user_filter)
    exclude = searcher.deleted_ids(users)
    if allowed is not None:
        allowed = np.setdiff1d(allowed, seeds, assume_unique=True)
        if len(allowed) == 0:
            return []
    elif len(seeds):
        exclude = seeds if exclude is None else np.union1d(exclude, seeds)
    total = len(allowed) if allowed is not None else len(users.vectors)
    fetch = min(total, k if not len(scorer.negatives) else max(OVERFETCH * k, k + 32))
    while True:
        found, ids = users.index.search(scorer.positive[None, :], max(fetch, 1), ids=allowed, params=params,
                                        exclude=exclude)
        keep = ids[0] >= 0
        ids, found = ids[0][keep], found[0][keep]
        ids = np.unique(ids)  # one row per user, whatever the index holds
        bound = float(found.min()) if len(found) else -np.inf
        scores = scorer.score(users.vectors.get(ids)) if len(ids) else np.zeros(0, np.float32)
        order = np.argsort(-scores, kind="stable")[:k]
        done = keep.sum() < fetch or fetch >= total  # nothing more to fetch
        if done or (len(order) == k and scores[order[-1]] >= bound - 1e-5):
            break
        fetch = min(total, fetch * OVERFETCH)
        logger.debug("compound audience: widening the search to %d candidates", fetch)
    if len(order) < k and matching is not None:
        searcher.check_indexed(users, matching)
    names = searcher.store.user_ids([int(ids[i]) for i in order])
    return [UserHit(names[int(ids[i])], float(scores[i])) for i in order if int(ids[i]) in names]


def compound_scores(searcher: Searcher, query: CompoundQuery, user_filter: UserFilter | None = None,
                    min_score: float | None = None, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every indexed user, best first, as ``(ids, scores)``: an exact scan for exports
    (``uue audience ... --out``), the named users left out."""
    if (text := query.single_statement) is not None:
        return searcher.audience_scores(text, user_filter, min_score=min_score, limit=limit)
    scorer, seeds = _scorer(searcher, query)
    return searcher.scan_users(scorer.score, user_filter, min_score=min_score, limit=limit, leave_out=seeds)
