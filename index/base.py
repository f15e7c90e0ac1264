"""The pluggable vector-index layer: one small abstract class, one file per backend.

Contract shared by every backend:

- ids are int64 store primary keys (>= 0); one id space per index, no mapping table;
- vectors are float32 ``[n, dim]``, L2-normalised (the index re-normalises a copy
  defensively when norms deviate), compared by inner product (= cosine);
- ``search`` returns ``(scores float32 [n, k], ids int64 [n, k])`` padded with
  ``-inf`` / ``-1`` when fewer than ``k`` results exist; an allow-list (``ids``) and a
  deny-list (``exclude``) apply inside the search;
- ``save(path)`` writes the index file atomically plus a JSON sidecar
  ``<path>.json`` (backend, factory, dim, count, metric, library version, size,
  checksum); ``load(path)`` mirrors it. ``save`` returns the file's sha256;
  ``load(path, checksum=...)`` refuses a file whose sha256 differs.
"""

from __future__ import annotations

import json
import logging
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from index.errors import IndexConfigError, IndexFileError
from index.files import atomic_write
from storage import strict_json

logger = logging.getLogger(__name__)

NORM_TOLERANCE = 1e-3  # |‖x‖² − 1| above this triggers re-normalisation
REBUILD_HINT = "run `uue index rebuild` to rebuild it from the store"


class VectorIndex(ABC):
    """An id-addressed vector index with inner-product search and id-filtered queries."""

    backend: ClassVar[str]
    factory: str
    dim: int

    @property
    @abstractmethod
    def count(self) -> int:
        """Number of searchable vectors (removed ones excluded)."""

    @property
    @abstractmethod
    def is_trained(self) -> bool:
        """False until ``train`` ran for index types that need training (IVF, PQ)."""

    @abstractmethod
    def train(self, vectors: np.ndarray) -> None:
        """Train on (a seeded sample of) ``vectors``; a no-op when not needed."""

    @abstractmethod
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add new ids (an id already present is an error: use ``upsert``)."""

    @abstractmethod
    def remove(self, ids: np.ndarray) -> int:
        """Remove ids; returns how many were present. Absent ids are ignored."""

    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Replace the vectors of ``ids`` (adding those not present)."""
        ids = as_ids(ids)
        self.remove(ids)
        self.add(ids, vectors)

    @abstractmethod
    def search(self, queries: np.ndarray, k: int, *, ids: np.ndarray | None = None,
               params: dict[str, Any] | None = None, exclude: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` by inner product; ``ids`` restricts results to an allow-list, ``exclude``
        leaves ids out (e.g. deleted users), still returning ``k`` results when that many remain."""

    @property
    def search_settings(self) -> frozenset[str]:
        """The per-query ``params`` that change this index's search (e.g. ``efSearch`` for
        HNSW); others are accepted by ``search`` and have no effect."""
        return frozenset()

    @abstractmethod
    def contains(self, ids: np.ndarray) -> np.ndarray:
        """Boolean mask: which of ``ids`` are searchable."""

    @abstractmethod
    def ids(self) -> np.ndarray:
        """All searchable ids, sorted."""

    @abstractmethod
    def stats(self) -> dict[str, Any]:
        """A JSON-ready description (type, count, removed-but-not-compacted, settings)."""

    @abstractmethod
    def save(self, path: str | os.PathLike) -> str:
        """Write atomically with a ``<path>.json`` sidecar; return the file's sha256."""

    @classmethod
    @abstractmethod
    def load(cls, path: str | os.PathLike, *, mmap: bool | None = False, checksum: str | None = None) -> VectorIndex:
        """Read a file written by ``save`` (``mmap``: map it read-only instead of reading; None:
        as the index prefers, e.g. mapped for a re-ranking index that keeps its float vectors;
        ``checksum``: the sha256 the file must have, else ``IndexFileError``)."""


# ---- helpers shared by backends ----------------------------------------------------


def as_ids(ids: Any) -> np.ndarray:
    """A 1-D C-contiguous int64 array of non-negative ids."""
    arr = np.ascontiguousarray(np.asarray(ids).reshape(-1), dtype=np.int64)
    if arr.size and arr.min() < 0:
        raise ValueError("ids must be >= 0 (store primary keys); -1 is reserved for padding")
    return arr


def as_vectors(vectors: Any, dim: int) -> np.ndarray:
    """A 2-D C-contiguous float32 ``[n, dim]`` array (no copy when already so)."""
    arr = np.asarray(vectors)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"expected vectors of shape [n, {dim}], got {list(np.shape(vectors))}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def normalised(x: np.ndarray) -> np.ndarray:
    """``x`` itself when every row has unit norm, else an L2-normalised copy.

    Zero rows stay zero (they score 0 against everything).
    """
    if x.size == 0:
        return x
    sq = np.einsum("ij,ij->i", x, x)
    if np.all(np.abs(sq - 1.0) <= NORM_TOLERANCE):
        return x
    norms = np.sqrt(sq, dtype=np.float32)
    norms[norms == 0] = 1.0
    return (x / norms[:, None]).astype(np.float32, copy=False)


def padded(nq: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """An empty result: ``-inf`` scores and ``-1`` ids, ``[nq, k]``."""
    return np.full((nq, k), -np.inf, dtype=np.float32), np.full((nq, k), -1, dtype=np.int64)


SIDECAR_FIELDS = {"backend": str, "factory": str, "dim": int, "size": int, "count": int, "stored": int,
                  "removed_marked": int, "layout": str, "checksum": str, "metric": str}


def sidecar_path(path: str | os.PathLike) -> Path:
    """``<path>.json``: the index configuration next to the index file."""
    return Path(f"{os.fspath(path)}.json")


def ivfdata_path(path: str | os.PathLike) -> Path:
    """``users-….faiss`` → ``users-….ivfdata``: where an on-disk IVF index keeps its inverted lists."""
    return Path(path).with_suffix(".ivfdata")


def write_sidecar(path: str | os.PathLike, meta: dict[str, Any]) -> None:
    data = json.dumps(meta, indent=2, sort_keys=True).encode("utf-8")
    atomic_write(sidecar_path(path), lambda out: out.write(data))


def read_sidecar(path: str | os.PathLike) -> dict[str, Any]:
    """The sidecar of an index file, checked against the file's size."""
    index_path, meta_path = Path(path), sidecar_path(path)
    if not index_path.is_file():
        raise IndexFileError(f"index file {index_path} not found: {REBUILD_HINT}")
    try:
        meta = strict_json.loads(meta_path.read_bytes())
    except FileNotFoundError:
        raise IndexFileError(f"index sidecar {meta_path} not found: {REBUILD_HINT}") from None
    except (OSError, ValueError) as exc:
        raise IndexFileError(f"index sidecar {meta_path} is unreadable ({exc}): {REBUILD_HINT}") from None
    if not isinstance(meta, dict) or not {"backend", "factory", "dim"} <= meta.keys():
        raise IndexFileError(f"index sidecar {meta_path} lacks backend/factory/dim: {REBUILD_HINT}")
    for field, kind in SIDECAR_FIELDS.items():
        value = meta.get(field)
        if field in meta and (not isinstance(value, kind) or isinstance(value, bool)
                              or (kind is int and (value < 0 or (field == "dim" and value < 1)))):
            raise IndexFileError(f"index sidecar {meta_path}: {field!r} is {value!r}, expected "
                                 f"{'a positive integer' if kind is int else 'a string'}: {REBUILD_HINT}")
    size = index_path.stat().st_size
    if "size" in meta and meta["size"] != size:
        raise IndexFileError(f"index file {index_path} has {size} bytes but its sidecar says "
                             f"{meta['size']} (interrupted write or corruption): {REBUILD_HINT}")
    return meta


def check_params(params: dict[str, Any] | None, allowed: frozenset[str]) -> dict[str, Any]:
    params = dict(params or {})
    unknown = params.keys() - allowed
    if unknown:
        raise IndexConfigError(f"unknown search parameter(s) {', '.join(sorted(unknown))}; "
                               f"known: {', '.join(sorted(allowed))}")
    return params
