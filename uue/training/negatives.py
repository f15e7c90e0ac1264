"""Extra negative statements for a training batch, chosen from the statement pool.

Pool indices index into the training statement pool (a list of texts, held-out
statements excluded) that the trainer owns. The trainer calls ``refresh`` before every
step (a miner decides from ``step`` / ``epoch`` when to re-embed the pool, and must
re-embed on its first call — also after a resume) and then ``sample`` for the batch.
When ``needs_user_vectors`` is True, ``sample`` gets the batch users' current vectors
(float32 ``[B, d]``, L2-normalised, detached), else ``None``.

Samplers register in ``SAMPLERS`` (name → factory ``(pool, **options) -> NegativeSampler``);
``uue.training.hard_negatives`` adds ``hard`` and ``semi-hard``.
"""

from __future__ import annotations

import importlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

import numpy as np

from storage.errors import UUEError

logger = logging.getLogger(__name__)


class NegativeSampler(ABC):
    """Chooses extra negative statements (pool indices) for each user of a batch."""

    needs_user_vectors: bool = False

    def refresh(self, encode_statements: Callable[[list[str]], np.ndarray], step: int, epoch: int) -> None:
        """Called before every training step; the default does nothing. Miners re-embed the pool."""

    @abstractmethod
    def sample(self, positives: Sequence[set[int]], k: int, user_vectors: np.ndarray | None,
               rng: np.random.Generator) -> list[list[int]]:
        """Up to ``k`` pool indices per user, none of them among that user's ``positives``."""


class RandomNegatives(NegativeSampler):
    """Uniform from the pool, excluding the user's positives (fewer when the pool is too small)."""

    def __init__(self, pool: list[str], **options: object) -> None:
        if options:
            raise UUEError(f"random negatives take no options, got: {', '.join(sorted(options))}")
        self.pool_size = len(pool)

    def sample(self, positives: Sequence[set[int]], k: int, user_vectors: np.ndarray | None,
               rng: np.random.Generator) -> list[list[int]]:
        out: list[list[int]] = []
        for pos in positives:
            available = self.pool_size - len({p for p in pos if 0 <= p < self.pool_size})
            want = min(k, available)
            chosen: list[int] = []
            if want > 0 and available <= 2 * want:  # small pool: choose without rejection
                candidates = np.array([i for i in range(self.pool_size) if i not in pos])
                chosen = rng.choice(candidates, size=want, replace=False).tolist()
            else:
                seen: set[int] = set()
                while len(chosen) < want:
                    i = int(rng.integers(self.pool_size))
                    if i not in pos and i not in seen:
                        seen.add(i)
                        chosen.append(i)
            out.append([int(i) for i in chosen])
        return out


SAMPLERS: dict[str, Callable[..., NegativeSampler]] = {"random": RandomNegatives}
_PLUGINS = ("uue.training.hard_negatives",)  # modules that register more samplers when imported


def create_sampler(name: str, pool: list[str], **options: object) -> NegativeSampler:
    """Build the sampler registered under ``name`` over ``pool``; unknown name → ``UUEError``."""
    if name not in SAMPLERS:
        for module in _PLUGINS:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name != module:
                    raise
    if name not in SAMPLERS:
        raise UUEError(f"unknown negative sampler {name!r}; choose one of: {', '.join(sorted(SAMPLERS))}")
    return SAMPLERS[name](pool, **options)
