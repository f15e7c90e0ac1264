"""Queries over the ``interests`` build (``--interests``): a user is as close as their best interest.

- ``audience``: a user's score is the cosine of their best-matching interest. The index is
  searched by row; the search over-fetches rows (×4 per round, up to every allowed row) until
  ``k`` distinct users are found, keeping each user's best row. Filters and deletions act
  inside the FAISS search: the allowed users' rows form the allow-list, deleted users' rows
  the deny-list.
- ``similar``: how well a candidate's interests cover the user's: the weighted average, over
  the user's interests (weights: their share of the user's chunks), of each one's best cosine
  with any of the candidate's interests (``interests.set_similarity``). Candidates are the
  owners of the rows nearest to each of the user's interests, rescored exactly.
- ``profile``: each interest (largest first) with its weight, its example chunk and the pool
  statements that describe it best.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

import numpy as np

from index.vectors import build_stem
from storage.errors import NotFound
from uue.data.schema import history_texts
from uue.search.interest_build import InterestRows
from uue.search.interests import set_similarity
from uue.search.results import StaleIndex, StatementHit, UserHit

FETCH_GROWTH = 4
SCAN_BLOCK = 65_536  # interest rows scored per block by an exact scan
INTERESTS_ENV = "UUE_INTERESTS"  # the config key: 1 / true / yes / on makes interest scoring the default


def interests_default() -> bool:
    """Whether queries use the interests when not told (``$UUE_INTERESTS``; CLI and HTTP alike)."""
    return os.environ.get(INTERESTS_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def use_interests(flag: bool | None) -> bool:
    return interests_default() if flag is None else bool(flag)


def search_owners(index, owners: np.ndarray, queries: np.ndarray, k: int, *, allow: np.ndarray | None = None,
                  deny: np.ndarray | None = None, exclude: int | None = None,
                  params: dict | None = None) -> list[dict[int, float]]:
    """Per query, ``{owner: best score}`` of at least ``k`` owners (fewer when fewer exist), from a
    ``VectorIndex`` whose ids are rows of ``owners``: the search over-fetches rows, ×``FETCH_GROWTH``
    per round up to every searchable row, until ``k`` distinct owners (other than ``exclude``) are found."""
    limit = len(allow) if allow is not None else index.count
    fetch = min(limit, max(2 * k + 8, k + 16))
    while True:
        scores, found = index.search(queries, max(fetch, 1), ids=allow, params=params, exclude=deny)
        best: list[dict[int, float]] = []
        for score_row, id_row in zip(scores, found):
            users: dict[int, float] = {}
            for s, r in zip(score_row, id_row):
                if r < 0:
                    continue
                owner = int(owners[r])
                if owner != exclude and owner not in users:
                    users[owner] = float(s)
            best.append(users)
        if fetch >= limit or all(len(b) >= k for b in best):
            return best
        fetch = min(limit, fetch * FETCH_GROWTH)


@dataclass
class Interest:
    weight: float
    chunks: int
    example: str
    top: list = field(default_factory=list)  # StatementHit


@dataclass
class InterestProfile:
    user_id: str
    interests: list[Interest]

    def to_json(self) -> list[dict]:
        """Statement rows like ``Profile.to_json``'s, each with its interest (0 = largest) and weight."""
        return [{"statement": h.statement, "score": h.score, "requested": False, "interest": i,
                 "weight": it.weight, "chunks": it.chunks, "example": it.example}
                for i, it in enumerate(self.interests) for h in it.top]


class InterestSearch:
    """The ``--interests`` side of a ``Searcher`` (which loads, verifies and reloads the build)."""

    def __init__(self, searcher) -> None:
        self.searcher = searcher
        self._rows: tuple[int, InterestRows, np.ndarray] | None = None  # (build id, rows, row order by owner)
        self._deny: tuple[object, np.ndarray | None] | None = None
        self._lock = threading.Lock()

    def _load(self):
        try:
            loaded = self.searcher.loaded_build("interests")
        except NotFound as exc:  # a build is missing (HTTP 409), like the other indexes
            raise StaleIndex(str(exc)) from None
        cached = self._rows
        if cached is None or cached[0] != loaded.build.id:
            with self._lock:
                rows = InterestRows.load(build_stem(loaded.build))  # verified by the searcher's load
                cached = self._rows = (loaded.build.id, rows, np.argsort(rows.owners, kind="stable"))
        return loaded, cached[1], cached[2]

    @staticmethod
    def rows_of(rows: InterestRows, order: np.ndarray, users: np.ndarray) -> np.ndarray:
        """Sorted row ids of the interests of ``users`` (store ids)."""
        owners = rows.owners[order]
        users = np.asarray(users, dtype=np.int64)
        lo, hi = np.searchsorted(owners, users, "left"), np.searchsorted(owners, users, "right")
        hit = hi > lo
        if not hit.any():
            return np.zeros(0, dtype=np.int64)
        return np.sort(np.concatenate([order[a:b] for a, b in zip(lo[hit], hi[hit])]))

    def _deny_rows(self, rows: InterestRows, order: np.ndarray) -> np.ndarray | None:
        """Rows of users deleted since the build: one array object per deletion set (FAISS caches its selector)."""
        deleted = self.searcher.deleted_ids(self.searcher.loaded_build("users"))
        cached = self._deny
        if cached is None or cached[0] is not deleted:
            found = self.rows_of(rows, order, deleted) if deleted is not None else None
            cached = self._deny = (deleted, found if found is not None and len(found) else None)
        return cached[1]

    def _search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None, exclude: int | None,
                params: dict | None) -> list[dict[int, float]]:
        """Per query, the best score of each of at least ``k`` users (fewer when fewer exist)."""
        loaded, rows, order = self._load()
        allow = self.rows_of(rows, order, allowed) if allowed is not None else None
        if allow is not None and not len(allow):
            return [{} for _ in queries]
        return search_owners(loaded.index, rows.owners, queries, k, allow=allow, deny=self._deny_rows(rows, order),
                             exclude=exclude, params=params)

    def audience(self, query: np.ndarray, k: int, allowed: np.ndarray | None, params: dict | None) -> list:
        best = self._search(query[None, :], k, allowed, None, params)[0]
        pairs = sorted(best.items(), key=lambda p: (-p[1], p[0]))[:k]
        names = self.searcher.store.user_ids([i for i, _ in pairs])
        return [UserHit(names[i], s) for i, s in pairs if i in names]

    def audience_scores(self, query: np.ndarray, allowed: np.ndarray | None, min_score: float | None = None,
                        limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Every user with interests that passes ``allowed``, scored by their best-matching
        interest, best first, as ``(ids, scores)``: an exact scan of the interest rows (for
        exports; ``Searcher.scan_users`` is the single-vector one)."""
        _, rows, order = self._load()
        vectors = rows.vectors.vectors
        scores = np.empty(len(order), dtype=np.float32)
        for start in range(0, len(order), SCAN_BLOCK):  # memory-mapped vectors, read in blocks
            scores[start:start + SCAN_BLOCK] = np.asarray(vectors[start:start + SCAN_BLOCK], dtype=np.float32) @ query
        owners = rows.owners[order]
        if not len(owners):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        users, best = owners[starts], np.maximum.reduceat(scores[order], starts)
        keep = np.ones(len(users), dtype=bool)
        if allowed is not None:
            keep &= np.isin(users, allowed)
        deleted = self.searcher.deleted_ids(self.searcher.loaded_build("users"))
        if deleted is not None and len(deleted):
            keep &= ~np.isin(users, deleted)
        if min_score is not None:
            keep &= best >= min_score
        users, best = users[keep], best[keep]
        ranked = np.argsort(-best, kind="stable")[:limit]  # ties: the smaller id first
        return users[ranked].astype(np.int64), best[ranked]

    def user_rows(self, user_id: str) -> tuple[int, InterestRows, np.ndarray]:
        pk = self.searcher.store.user_pk(user_id)
        _, rows, order = self._load()
        mine = self.rows_of(rows, order, np.array([pk]))
        if not len(mine):
            raise StaleIndex(f"user {user_id!r} was ingested after the last index build: run `uue index build`")
        return pk, rows, mine

    def similar(self, user_id: str, k: int, allowed: np.ndarray | None, params: dict | None) -> list:
        pk, rows, mine = self.user_rows(user_id)
        queries = np.asarray(rows.vectors.vectors[mine], dtype=np.float32)
        weights = rows.weights[mine]
        found = self._search(queries, k, allowed, pk, params)
        candidates = sorted({u for per_query in found for u in per_query})
        _, _, order = self._load()
        scored = []
        for user in candidates:
            theirs = self.rows_of(rows, order, np.array([user]))
            scored.append((user, set_similarity(queries, weights, np.asarray(rows.vectors.vectors[theirs]))))
        pairs = sorted(scored, key=lambda p: (-p[1], p[0]))[:k]
        names = self.searcher.store.user_ids([i for i, _ in pairs])
        return [UserHit(names[i], s) for i, s in pairs if i in names]

    def profile(self, user_id: str, k: int) -> InterestProfile:
        pk, rows, mine = self.user_rows(user_id)
        pool = self.searcher.loaded_build("statements")
        history = history_texts(self.searcher.store.get_user(user_id)[1]["chunks"])
        interests = []
        for row in mine[np.argsort(-rows.weights[mine], kind="stable")]:
            scores = pool.served @ np.asarray(rows.vectors.vectors[row], dtype=np.float32)
            top_rows = np.argsort(-scores, kind="stable")[:k]
            ids = pool.vectors.ids[top_rows]
            texts = self.searcher.store.statement_texts([int(i) for i in ids])
            medoid = int(rows.medoids[row])
            interests.append(Interest(float(rows.weights[row]), int(rows.sizes[row]),
                                      history[medoid] if 0 <= medoid < len(history) else "",
                                      [StatementHit(texts[int(i)], float(scores[r]))
                                       for i, r in zip(ids, top_rows) if int(i) in texts]))
        return InterestProfile(user_id, interests)
