"""Where an index build does its heavy work: embedding users, adding index shards.

One small base class, one file per engine (``local``, ``ray``); ``create_engine`` names
them. An engine embeds the users an index build needs (``embed_users``) and runs the
shard adds of a sharded IVF build (``map``); everything else in a build (reusing
unchanged vectors, the statement side, writing files, the atomic switch) is the same
whichever engine ran.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from storage.store import Store
from uue.search.active_model import LazyModel

USER_BATCH = 256  # users embedded per model call (and per partition read from the store)


class EmbeddingEngine(ABC):
    """Embeds users for an index build; a context manager (``close`` frees its workers)."""

    name: str

    @abstractmethod
    def embed_users(self, store: Store, model: LazyModel, pks: np.ndarray, out: np.ndarray, progress: bool) -> None:
        """Fill ``out[i]`` with the vector of the user whose primary key is ``pks[i]``."""

    @abstractmethod
    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """``fn`` over ``items`` in parallel (picklable module-level ``fn``), results in order."""

    def close(self) -> None:
        """Release the workers this engine started."""

    def __enter__(self) -> EmbeddingEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def partitions(pks: np.ndarray, size: int = USER_BATCH) -> list[np.ndarray]:
    """Sorted primary keys cut into consecutive partitions of ``size``: the users of one model call."""
    ordered = np.sort(np.asarray(pks, dtype=np.int64))
    return [ordered[start:start + size] for start in range(0, len(ordered), size)]
