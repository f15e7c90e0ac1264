"""Hard and semi-hard negatives mined from a FAISS index over the statement pool (ANCE-style).

``mine_hard_negatives`` is the engine, usable on any vectors; ``HardNegatives`` ("hard")
and ``SemiHardNegatives`` ("semi-hard") in ``uue.training.hard_negatives`` wrap it as training
samplers (``mine_batch`` with running ``new_counts`` / ``summarise_counts``).

Parameters keep the names and meanings of sentence-transformers'
``util.mine_hard_negatives``. For each query (a user vector):

1. Window: the ``range_max + P`` statements nearest to the query, ``P`` being the most
   positives any query of the call has (as in sentence-transformers: room for the
   positives), minus the query's own positives (counted as ``skipped_positive``).
2. Likely false negatives are dropped, in this order (each counter only counts
   candidates still in play), against the query's *lowest* positive score ``pos``
   (positive pool vector · query, the harder positive, as in sentence-transformers):
   ``absolute_margin``: keep ``neg + absolute_margin <= pos``;
   ``relative_margin``: keep ``neg <= pos - |pos| * relative_margin`` (= ``pos * (1 -
   relative_margin)`` for ``pos >= 0``; sentence-transformers >= 5 uses ``|pos|`` so the
   rule keeps its sense for negative scores); both count as ``skipped_false_negative``.
   ``max_score``: keep ``neg <= max_score``; ``min_score``: keep ``neg >= min_score``.
3. Semi-hard only (``semi_hard_margin`` = m > 0): keep ``pos - m <= neg < pos``
   (``skipped_band``). A query without positives has no band, so nothing passes.
4. ``range_min`` / ``range_max``: of the survivors, best first, ranks ``[range_min,
   range_max)`` remain (the ``range_min`` best are counted as ``skipped_range_min``).
   Without ``range_max``: ``range_min + num_negatives`` (``+ 9 * num_negatives`` when a
   margin, ``max_score`` or the band is set) ``+ P``, as sentence-transformers derives it.
5. ``sampling_strategy``: ``"top"`` takes the next ``num_negatives`` survivors;
   ``"random"`` draws ``num_negatives`` of the remaining survivors with ``rng`` and
   returns them best-first. Missing slots are ``-1``.

Without ties this is sentence-transformers' output for ``sampling_strategy="top"``
(``tests/test_mining.py`` and ``benchmarks/mining.py`` check it); ``"random"`` draws
with ``rng`` instead of Python's ``random``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from index import create_index
from index.base import VectorIndex, normalised
from storage.errors import UUEError

STRATEGIES = ("top", "random")
QUERY_BATCH = 4096  # queries searched and filtered at once (bounds memory)
# candidate status codes
OUTSIDE, POSITIVE, ELIGIBLE, FALSE_NEG, MAX_SCORE, MIN_SCORE, BAND, RANGE_MIN = range(8)
BANNED_FROM_FILL = (POSITIVE, FALSE_NEG, MAX_SCORE, RANGE_MIN)
COUNTERS = ("queries", "positives", "negatives", "missing", "short_queries", "skipped_positive",
            "skipped_false_negative", "skipped_max_score", "skipped_min_score", "skipped_band",
            "skipped_range_min", "fallback_hard", "random_fill", "random_fill_queries")


@dataclass(frozen=True)
class MiningOptions:
    """The sentence-transformers-style selection rules (see the module docstring)."""

    range_min: int = 0
    range_max: int | None = None
    max_score: float | None = None
    min_score: float | None = None
    absolute_margin: float | None = None
    relative_margin: float | None = None
    sampling_strategy: str = "top"
    semi_hard_margin: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.range_min, bool) or not isinstance(self.range_min, int) or self.range_min < 0:
            raise UUEError(f"range_min must be an integer >= 0, got {self.range_min!r}")
        if self.range_max is not None and (isinstance(self.range_max, bool) or not isinstance(self.range_max, int)
                                           or self.range_max <= self.range_min):
            raise UUEError(f"range_max must be an integer > range_min ({self.range_min}), got {self.range_max!r}")
        for name in ("max_score", "min_score", "absolute_margin", "relative_margin", "semi_hard_margin"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value)):
                raise UUEError(f"{name} must be a finite number or null, got {value!r}")
        if self.semi_hard_margin is not None and self.semi_hard_margin <= 0:
            raise UUEError(f"semi_hard_margin must be > 0, got {self.semi_hard_margin!r}")
        if self.sampling_strategy not in STRATEGIES:
            raise UUEError(f"sampling_strategy must be one of {', '.join(STRATEGIES)}, "
                           f"got {self.sampling_strategy!r}")

    def window(self, num_negatives: int) -> int:
        """``range_max``, derived as in sentence-transformers when not given; checked against ``num_negatives``."""
        if isinstance(num_negatives, bool) or not isinstance(num_negatives, (int, np.integer)) or num_negatives < 1:
            raise UUEError(f"num_negatives must be an integer >= 1, got {num_negatives!r}")
        if self.range_max is not None:
            range_max = self.range_max
        else:
            filtered = any(v is not None for v in (self.absolute_margin, self.relative_margin, self.max_score,
                                                   self.semi_hard_margin))
            range_max = self.range_min + num_negatives * (10 if filtered else 1)  # mine_batch adds P
        if num_negatives > range_max - self.range_min:
            raise UUEError(f"cannot mine {num_negatives} negatives: range_min={self.range_min} and "
                           f"range_max={range_max} leave {range_max - self.range_min} candidates; raise range_max")
        return range_max


@dataclass
class _Mined:
    ids: np.ndarray  # [n, num] int64, -1 padded, best first
    cand_ids: np.ndarray  # [n, K] the searched candidates
    status: np.ndarray  # [n, K] int8 status codes


def _padded(positive_ids: Sequence[Collection[int]], pool_size: int) -> np.ndarray:
    width = max((len(p) for p in positive_ids), default=0)
    out = np.full((len(positive_ids), max(width, 1)), -1, dtype=np.int64)
    for row, pos in enumerate(positive_ids):
        if pos:
            ids = np.fromiter(pos, dtype=np.int64, count=len(pos))
            if ids.min() < 0 or ids.max() >= pool_size:
                raise UUEError(f"positive id out of range for a pool of {pool_size}: {sorted(pos)[:5]}")
            out[row, :len(ids)] = ids
    return out


def _select(q: np.ndarray, pos: np.ndarray, pool: np.ndarray, cand_scores: np.ndarray, cand_ids: np.ndarray,
            num: int, window: int, opts: MiningOptions, rng: np.random.Generator, counts: dict[str, float],
            band: bool) -> _Mined:
    """Steps 1-5 of the module docstring for one block of queries; updates ``counts``."""
    valid = cand_ids >= 0
    is_pos = (cand_ids[:, :, None] == pos[:, None, :]).any(-1) & valid
    nonpos = valid & ~is_pos
    status = np.full(cand_ids.shape, OUTSIDE, dtype=np.int8)
    status[is_pos] = POSITIVE
    status[nonpos] = ELIGIBLE
    counts["skipped_positive"] += int(is_pos.sum())

    has = pos >= 0
    pos_scores = np.einsum("nmd,nd->nm", pool[np.where(has, pos, 0)], q)
    counts["positives"] += int(has.sum())
    counts["positive_score_sum"] += float(pos_scores[has].sum())
    with np.errstate(invalid="ignore"):
        low = np.where(has, pos_scores, np.inf).min(axis=1).astype(np.float32)[:, None]  # inf: no positives

    def drop(mask: np.ndarray, code: int, counter: str) -> None:
        hit = (status == ELIGIBLE) & mask
        status[hit] = code
        counts[counter] += int(hit.sum())

    s = cand_scores
    finite = np.isfinite(low)
    if opts.absolute_margin is not None:
        drop(finite & (s + np.float32(opts.absolute_margin) > low), FALSE_NEG, "skipped_false_negative")
    if opts.relative_margin is not None:
        threshold = np.where(finite, low - np.abs(np.where(finite, low, 0)) * np.float32(opts.relative_margin), np.inf)
        drop(s > threshold, FALSE_NEG, "skipped_false_negative")
    if opts.max_score is not None:
        drop(s > np.float32(opts.max_score), MAX_SCORE, "skipped_max_score")
    if opts.min_score is not None:
        drop(s < np.float32(opts.min_score), MIN_SCORE, "skipped_min_score")
    if band:
        assert opts.semi_hard_margin is not None
        drop(~finite | (s >= low) | (s < low - np.float32(opts.semi_hard_margin)), BAND, "skipped_band")
    eligible = status == ELIGIBLE
    rank = np.cumsum(eligible, axis=1) - 1
    drop(rank < opts.range_min, RANGE_MIN, "skipped_range_min")
    status[(status == ELIGIBLE) & (rank >= window)] = OUTSIDE
    eligible = status == ELIGIBLE
    if opts.sampling_strategy == "top":
        chosen = eligible & (rank < opts.range_min + num)
    else:
        keys = np.where(eligible, rng.random(cand_ids.shape), np.inf)
        picked = np.argsort(keys, axis=1, kind="stable")[:, :num]
        chosen = np.zeros_like(eligible)
        np.put_along_axis(chosen, picked, True, axis=1)
        chosen &= eligible
    order = np.argsort(~chosen, axis=1, kind="stable")[:, :num]  # chosen columns first, in score order
    got = np.take_along_axis(chosen, order, axis=1)
    ids = np.where(got, np.take_along_axis(cand_ids, order, axis=1), -1)
    found = got.sum(axis=1)
    counts["negatives"] += int(found.sum())
    counts["negative_score_sum"] += float(np.take_along_axis(s, order, axis=1)[got].sum())
    counts["missing"] += int(num * len(ids) - found.sum())
    counts["short_queries"] += int((found < num).sum())
    counts["queries"] += len(ids)
    return _Mined(ids.astype(np.int64), cand_ids, status)


def new_counts() -> dict[str, float]:
    return {**dict.fromkeys(COUNTERS, 0), "positive_score_sum": 0.0, "negative_score_sum": 0.0}


def summarise_counts(counts: dict[str, float]) -> dict[str, Any]:
    """Counters plus mean scores (``None`` when there was nothing to average)."""
    out: dict[str, Any] = {c: int(counts[c]) for c in COUNTERS}
    out["mean_positive_score"] = counts["positive_score_sum"] / counts["positives"] if counts["positives"] else None
    out["mean_negative_score"] = counts["negative_score_sum"] / counts["negatives"] if counts["negatives"] else None
    return out


def build_index(pool_vectors: np.ndarray, index_factory: str = "Flat") -> VectorIndex:
    """An index over ``pool_vectors`` whose ids are the row numbers (pool indices)."""
    pool_vectors = np.ascontiguousarray(pool_vectors, dtype=np.float32)
    index = create_index(index_factory, pool_vectors.shape[1])
    index.add(np.arange(len(pool_vectors), dtype=np.int64), pool_vectors)
    return index


def mine_batch(query_vectors: np.ndarray, positive_ids: Sequence[Collection[int]], pool_vectors: np.ndarray,
          num_negatives: int, opts: MiningOptions, index: VectorIndex | None, index_factory: str,
          search_params: dict[str, Any] | None, rng: np.random.Generator, counts: dict[str, float],
          fallback: bool = False) -> list[_Mined]:
    """Search once, select per block; with ``fallback`` also the band-less selection (semi-hard)."""
    if query_vectors.ndim != 2 or pool_vectors.ndim != 2 or query_vectors.shape[1] != pool_vectors.shape[1]:
        raise UUEError(f"query vectors {query_vectors.shape} and pool vectors {pool_vectors.shape} do not match")
    if len(positive_ids) != len(query_vectors):
        raise UUEError(f"{len(positive_ids)} positive sets for {len(query_vectors)} queries")
    window = opts.window(num_negatives)  # validates before any work
    q_all = normalised(np.ascontiguousarray(query_vectors, dtype=np.float32))
    pool = normalised(np.ascontiguousarray(pool_vectors, dtype=np.float32))
    pos_all = _padded(positive_ids, len(pool))
    if not len(pool) or not len(q_all):
        return [_Mined(np.full((len(q_all), num_negatives), -1, dtype=np.int64), np.zeros((len(q_all), 0), np.int64),
                       np.zeros((len(q_all), 0), np.int8))] * (2 if fallback else 1)
    index = index if index is not None else build_index(pool, index_factory)
    most = int((pos_all >= 0).sum(axis=1).max())
    window += most if opts.range_max is None else 0
    depth = window + most
    band = opts.semi_hard_margin is not None
    parts: list[list[_Mined]] = [[], []]
    for start in range(0, len(q_all), QUERY_BATCH):
        q, pos = q_all[start:start + QUERY_BATCH], pos_all[start:start + QUERY_BATCH]
        scores, ids = index.search(q, depth, params=search_params)
        parts[0].append(_select(q, pos, pool, scores, ids, num_negatives, window, opts, rng, counts, band))
        if fallback:
            parts[1].append(_select(q, pos, pool, scores, ids, num_negatives, window, opts, rng, new_counts(),
                                    band=False))
    return [_Mined(*(np.concatenate([getattr(m, f) for m in part]) for f in ("ids", "cand_ids", "status")))
            for part in parts if part]


def mine_hard_negatives(query_vectors: np.ndarray, positive_ids: Sequence[Collection[int]],
                        pool_vectors: np.ndarray, *, num_negatives: int = 3, range_min: int = 0,
                        range_max: int | None = None, max_score: float | None = None,
                        min_score: float | None = None, absolute_margin: float | None = None,
                        relative_margin: float | None = None, sampling_strategy: str = "top",
                        semi_hard_margin: float | None = None, index_factory: str = "Flat",
                        index: VectorIndex | None = None, search_params: dict[str, Any] | None = None,
                        rng: np.random.Generator | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Negatives (pool row numbers) per query: ``(ids int64 [n, num_negatives], -1 padded; stats)``.

    ``positive_ids[i]`` are the pool rows that are positives of query ``i``. ``index`` (ids =
    pool rows) is reused when given, else one is built with ``index_factory``. See the
    module docstring for the rules; ``stats`` has the counters and mean scores.
    """
    opts = MiningOptions(range_min, range_max, max_score, min_score, absolute_margin, relative_margin,
                         sampling_strategy, semi_hard_margin)
    counts = new_counts()
    mined = mine_batch(np.asarray(query_vectors), positive_ids, np.asarray(pool_vectors), num_negatives, opts, index,
                  index_factory, search_params, rng if rng is not None else np.random.default_rng(0), counts)[0]
    return mined.ids, summarise_counts(counts)
