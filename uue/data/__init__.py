"""Datasets in the ``users.jsonl`` format: a registry, a factory, and an atomic JSONL writer.

    from uue.data import load_dataset, write_jsonl
    ds = load_dataset("synthetic", n_users=10_000, seed=1)
    for user in ds.iter_users(): ...           # plain dicts, streamed one at a time
    ds.statement_pool()                         # [{"text": ..., "category": ...}, ...]
    write_jsonl(ds, "users.jsonl", "statements.jsonl")

Every user dict passes ``storage.records.validate_user``.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from index.files import atomic_write
from storage.errors import UUEError
from uue.data.movielens import MovieLensDataset
from uue.data.parlspeech import ParlSpeechDataset
from uue.data.synthetic import SyntheticDataset

logger = logging.getLogger(__name__)


class Dataset(Protocol):
    name: str

    def iter_users(self) -> Iterator[dict[str, Any]]: ...

    def statement_pool(self) -> list[dict[str, Any]]: ...


# name -> factory(**options) -> Dataset (the class; its keyword arguments are the options).
DATASETS: dict[str, Callable[..., Dataset]] = {"synthetic": SyntheticDataset, "movielens": MovieLensDataset,
                                               "parlspeech": ParlSpeechDataset}


def load_dataset(name: str, **options: Any) -> Dataset:
    """The dataset ``name`` built with ``options``; unknown names or options raise ``UUEError``."""
    factory = DATASETS.get(name)
    if factory is None:
        raise UUEError(f"unknown dataset {name!r}; choose one of: {', '.join(sorted(DATASETS))}")
    allowed = [p for p in inspect.signature(factory).parameters if p != "self"]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise UUEError(f"dataset {name!r} does not take option(s) {', '.join(unknown)}; "
                       f"it takes: {', '.join(allowed)}")
    try:
        return factory(**options)
    except ValueError as exc:
        raise UUEError(f"dataset {name!r}: {exc}") from None


def _atomic_lines(path: str | os.PathLike[str], lines: Iterable[str]) -> int:
    """Write ``lines`` atomically (temporary file, fsync, rename). Returns the line count."""
    count = 0

    def write(out) -> None:
        nonlocal count
        for line in lines:
            out.write(line.encode("utf-8") + b"\n")
            count += 1

    atomic_write(path, write)
    return count


def write_jsonl(dataset: Dataset, users_path: str | os.PathLike[str],
                statements_path: str | os.PathLike[str] | None = None, progress: bool = True) -> int:
    """Write the dataset's users (and optionally its statement pool) as JSONL, atomically.

    Users are streamed: memory does not grow with the number of users. Returns the
    number of users written.
    """
    from tqdm import tqdm

    total = len(dataset) if hasattr(dataset, "__len__") else None  # type: ignore[arg-type]
    users = tqdm(dataset.iter_users(), total=total, unit="user", desc=f"{getattr(dataset, 'name', 'dataset')}",
                 disable=not progress, mininterval=1.0)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    n = _atomic_lines(users_path, (dumps(u) for u in users))
    logger.info("wrote %d users to %s", n, users_path)
    if statements_path is not None:
        pool = dataset.statement_pool()
        _atomic_lines(statements_path, (dumps(s) for s in pool))
        logger.info("wrote %d statements to %s", len(pool), statements_path)
    return n


__all__ = ["DATASETS", "Dataset", "load_dataset", "write_jsonl"]
