"""FAISS indexes addressed by store primary keys: build, filter, save/load, versioned builds.

``create_index(factory, dim)`` makes an empty index; ``load_index(path)`` reads one
written by ``VectorIndex.save``. The backend is named in each file's JSON sidecar.
"""

from __future__ import annotations

import os

from index.base import VectorIndex, read_sidecar
from index.errors import IndexConfigError, IndexFileError
from index.faiss_factory import FACTORY_EXAMPLES
from index.faiss_index import FaissIndex
from index.files import sha256_file

BACKENDS: dict[str, type[VectorIndex]] = {FaissIndex.backend: FaissIndex}

__all__ = ["BACKENDS", "FACTORY_EXAMPLES", "FaissIndex", "IndexConfigError", "IndexFileError", "VectorIndex",
           "create_index", "load_index", "sha256_file"]


def _backend(name: str) -> type[VectorIndex]:
    try:
        return BACKENDS[name]
    except KeyError:
        raise IndexConfigError(f"unknown index backend {name!r}; known: {', '.join(sorted(BACKENDS))}") from None


def create_index(factory: str, dim: int, *, backend: str = "faiss") -> VectorIndex:
    """An empty index. ``factory`` is a FAISS factory string, e.g. ``"Flat"``, ``"HNSW32"``,
    ``"IVF1024,Flat"``, ``"IVF1024,PQ32"``; an invalid one raises ``IndexConfigError``."""
    return _backend(backend)(factory, dim)


def load_index(path: str | os.PathLike, mmap: bool | None = False, checksum: str | None = None) -> VectorIndex:
    """Load an index saved by ``VectorIndex.save`` (``IndexFileError`` when missing or corrupt).

    ``checksum``: the sha256 recorded for the file (``IndexBuild.checksum``); a file with
    another one is refused. It is hashed in the same pass that reads it (a memory-mapped
    load hashes it in a separate pass first).
    """
    meta = read_sidecar(path)
    try:
        cls = _backend(meta["backend"])
    except IndexConfigError as exc:
        raise IndexFileError(f"{path}: {exc}") from None
    return cls.load(path, mmap=mmap, checksum=checksum)
