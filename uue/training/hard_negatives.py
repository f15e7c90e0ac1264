"""The "hard" and "semi-hard" negative samplers: ``mine_hard_negatives`` over a pool index refreshed as the model trains.

The samplers: ``refresh(encode_statements, step, epoch)`` re-embeds the pool with the
current model and rebuilds the index (``index_factory``, default ``"Flat"``) on its
first call, then every ``refresh_every`` steps (int) or at each new epoch (``"epoch"``,
default). ``sample`` mines for the batch users' vectors; a user left short gets random
pool statements that are neither its positives nor candidates dropped as likely false
negatives, by ``max_score`` or by ``range_min`` (counted as ``random_fill``). Semi-hard fallback order: band negatives,
then the ``"hard"`` choice from the same window with the same options (band ignored;
``fallback_hard``), then random. ``stats()`` covers the current refresh window and is
logged at INFO when the next refresh starts a new one.

Both register in ``uue.training.negatives.SAMPLERS`` when this module is imported (``create_sampler``
imports it). The mining rules and options are ``uue.training.mining``'s.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from index.base import VectorIndex, normalised
from storage.errors import UUEError
from uue.training.mining import BANNED_FROM_FILL, MiningOptions, build_index, mine_batch, new_counts, summarise_counts
from uue.training.negatives import SAMPLERS, NegativeSampler

logger = logging.getLogger(__name__)


class HardNegatives(NegativeSampler):
    """Nearest non-positive pool statements to each user, from an index refreshed as the model trains."""

    needs_user_vectors = True
    DEFAULTS: dict[str, Any] = {"refresh_every": "epoch", "index_factory": "Flat", "search_params": None,
                                "range_min": 0, "range_max": None, "max_score": None, "min_score": None,
                                "absolute_margin": None, "relative_margin": 0.05, "sampling_strategy": "top"}
    name = "hard"

    def __init__(self, pool: list[str], **options: Any) -> None:
        if "num_negatives" in options:
            raise UUEError(f"{self.name} negatives: num_negatives is the model config's num_negative_samples, "
                           "not a sampler option")
        unknown = sorted(set(options) - set(self.DEFAULTS))
        if unknown:
            raise UUEError(f"unknown option(s) for {self.name} negatives: {', '.join(unknown)}; "
                           f"known: {', '.join(sorted(self.DEFAULTS))}")
        cfg = {**self.DEFAULTS, **options}
        every = cfg.pop("refresh_every")
        if every != "epoch" and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
            raise UUEError(f"refresh_every must be 'epoch' or an integer >= 1, got {every!r}")
        self.refresh_every: int | str = every
        self.index_factory = str(cfg.pop("index_factory"))
        params = cfg.pop("search_params")
        if params is not None and not isinstance(params, dict):
            raise UUEError(f"search_params must be a mapping like {{'nprobe': 16}}, got {params!r}")
        self.search_params: dict[str, Any] | None = params
        self.options = MiningOptions(**cfg)
        self.pool = list(pool)
        self._vectors: np.ndarray | None = None
        self._index: VectorIndex | None = None
        self._last: tuple[int, int] | None = None  # (step, epoch) of the last refresh
        self.refreshes = 0
        self._counts = new_counts()

    # ---- refresh ----------------------------------------------------------------------

    def _due(self, step: int, epoch: int) -> bool:
        if self._last is None:
            return True
        if self.refresh_every == "epoch":
            return epoch != self._last[1]
        return step - self._last[0] >= int(self.refresh_every)

    def refresh(self, encode_statements: Callable[[list[str]], np.ndarray], step: int, epoch: int) -> None:
        if not self._due(step, epoch):
            return
        if self._last is not None:
            logger.info("%s negatives, steps %d-%d: %s", self.name, self._last[0], step - 1, self._format_stats())
        started = time.perf_counter()
        vectors = np.asarray(encode_statements(self.pool), dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(self.pool):
            raise UUEError(f"encode_statements returned shape {vectors.shape} for {len(self.pool)} statements")
        self._vectors = normalised(np.ascontiguousarray(vectors))
        self._index = build_index(self._vectors, self.index_factory) if len(self.pool) else None
        self._last = (step, epoch)
        self.refreshes += 1
        self._counts = new_counts()
        logger.info("%s negatives: re-embedded %d statements and rebuilt the %s index at step %d (epoch %d) in %.2fs",
                    self.name, len(self.pool), self.index_factory, step, epoch, time.perf_counter() - started)

    # ---- sample -----------------------------------------------------------------------

    def sample(self, positives: Sequence[set[int]], k: int, user_vectors: np.ndarray | None,
               rng: np.random.Generator) -> list[list[int]]:
        if self._vectors is None:
            raise UUEError(f"{self.name} negatives: refresh() must run before sample()")
        if user_vectors is None:
            raise UUEError(f"{self.name} negatives need the batch users' vectors")
        if k <= 0 or not len(positives):
            return [[] for _ in positives]
        semi = self.options.semi_hard_margin is not None
        mined = mine_batch(np.asarray(user_vectors), positives, self._vectors, k, self.options, self._index,
                      self.index_factory, self.search_params, rng, self._counts, fallback=semi)
        out: list[list[int]] = []
        for row, pos in enumerate(positives):
            chosen = [int(i) for i in mined[0].ids[row] if i >= 0]
            if semi and len(chosen) < k:
                taken = set(chosen)
                extra = [int(i) for i in mined[1].ids[row] if i >= 0 and int(i) not in taken][:k - len(chosen)]
                self._counts["fallback_hard"] += len(extra)
                chosen += extra
            if len(chosen) < k:
                banned = set(pos) | set(chosen)
                banned.update(mined[0].cand_ids[row][np.isin(mined[0].status[row], BANNED_FROM_FILL)].tolist())
                filled = self._random_fill(k - len(chosen), banned, rng)
                self._counts["random_fill"] += len(filled)
                self._counts["random_fill_queries"] += 1
                chosen += filled
            out.append(chosen)
        return out

    def _random_fill(self, want: int, banned: set[int], rng: np.random.Generator) -> list[int]:
        n = len(self.pool)
        if n - len(banned) <= 4 * want:  # small pool: choose from the explicit remainder
            rest = np.setdiff1d(np.arange(n), np.fromiter(banned, dtype=np.int64, count=len(banned)))
            return [int(i) for i in rng.choice(rest, size=min(want, len(rest)), replace=False)]
        out: list[int] = []
        while len(out) < want:
            i = int(rng.integers(n))
            if i not in banned:
                banned.add(i)
                out.append(i)
        return out

    # ---- statistics -------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counters and mean scores since the last refresh (see the module docstring)."""
        out: dict[str, Any] = summarise_counts(self._counts)
        out.update(refreshes=self.refreshes, pool_size=len(self.pool),
                   since_step=self._last[0] if self._last else None)
        return out

    def _format_stats(self) -> str:
        s = self.stats()
        mean = {k: "n/a" if s[k] is None else f"{s[k]:.3f}" for k in ("mean_positive_score", "mean_negative_score")}
        slots = max(1, s["negatives"] + s["fallback_hard"] + s["random_fill"])
        return (f"{s['queries']} users, mean positive score {mean['mean_positive_score']}, mean negative "
                f"score {mean['mean_negative_score']}; skipped {s['skipped_positive']} positives, "
                f"{s['skipped_false_negative']} likely false negatives, {s['skipped_max_score']} by max_score, "
                f"{s['skipped_min_score']} by min_score, {s['skipped_band']} outside the band, "
                f"{s['skipped_range_min']} by range_min; hard fallback {s['fallback_hard']}, random fill "
                f"{s['random_fill']} ({s['random_fill'] / slots:.1%} of negatives, {s['random_fill_queries']} users)")


class SemiHardNegatives(HardNegatives):
    """Pool statements scored just below the user's lowest positive: ``pos - semi_hard_margin <= neg < pos``."""

    DEFAULTS = {**HardNegatives.DEFAULTS, "relative_margin": None, "semi_hard_margin": 0.1}
    name = "semi-hard"


SAMPLERS["hard"] = HardNegatives
SAMPLERS["semi-hard"] = SemiHardNegatives
