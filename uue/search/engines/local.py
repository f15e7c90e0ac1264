"""The local engine (default): embeds in the building process, shard adds in worker processes."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from storage.store import Store
from uue.search.active_model import LazyModel
from uue.search.engines.base import USER_BATCH, EmbeddingEngine


class LocalEngine(EmbeddingEngine):
    """``workers``: processes for the shard adds of a sharded build (default: one per CPU)."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers

    def embed_users(self, store: Store, model: LazyModel, pks: np.ndarray, out: np.ndarray, progress: bool) -> None:
        bar = tqdm(total=len(pks), desc="embed users", unit=" users", disable=not progress)
        position = {int(pk): i for i, pk in enumerate(pks)}
        batch_rows, batch_texts = [], []

        def flush() -> None:
            out[batch_rows] = model.encode_users(batch_texts)
            bar.update(len(batch_rows))
            batch_rows.clear()
            batch_texts.clear()

        for pk, texts in store.iter_histories(pks.tolist()):
            batch_rows.append(position[pk])
            batch_texts.append(texts)
            if len(batch_rows) >= USER_BATCH:
                flush()
        if batch_rows:
            flush()
        bar.close()

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        items = list(items)
        if len(items) <= 1 or self.workers == 1:
            yield from map(fn, items)
            return
        # spawn, not fork: a forked child of a process whose FAISS / torch thread pools are up can hang
        with ProcessPoolExecutor(max_workers=self.workers or None,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            yield from pool.map(fn, items)
