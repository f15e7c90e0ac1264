"""Sharded builds of IVF indexes: train once, add shards in parallel, merge with FAISS.

The recipe of faiss' ``demos/demo_ondisk_ivf.py``: the coarse quantizer (and PQ / SQ
codebooks) are trained once, on the same seeded sample as a one-piece build; the trained,
empty index is serialized and each shard of the vectors is added to a copy of it by a
worker (``map``: processes or Ray tasks; ``add_shard`` is what runs there). The shards
are then merged with FAISS's own mechanisms:

- in memory: ``faiss.merge_into`` (``IndexIVF.merge_from`` on the inverted lists);
- on disk (``ondisk=PATH``), for indexes bigger than memory: each shard is written to a
  temporary file, memory-mapped, and ``faiss.contrib.ondisk.merge_ondisk`` merges the
  inverted lists into ``OnDiskInvertedLists`` stored in ``PATH`` (the ``.ivfdata`` file
  that the saved index refers to by name; keep it beside the index file).

IVF encodes each vector independently of the others, so the merged index holds exactly
the codes of a one-piece build: it returns the same neighbours. The id → list map
(hashtable direct map) is built after the merge (FAISS cannot merge direct maps).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from faiss.contrib.ondisk import merge_ondisk

from index.base import as_ids, as_vectors, ivfdata_path, normalised
from index.errors import IndexConfigError
from index.faiss_index import FaissIndex
from index.files import fsync_dir

logger = logging.getLogger(__name__)

__all__ = ["add_shard", "build_sharded", "check_shardable", "ivfdata_path"]

Mapper = Callable[[Callable[[Any], Any], Iterable[Any]], Iterator[Any]]


def add_shard(job: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """``(serialized trained empty index, ids, vectors)`` → the serialized index holding them."""
    template, ids, vectors = job
    index = faiss.deserialize_index(template)
    index.add_with_ids(vectors, ids)
    return faiss.serialize_index(index)


def check_shardable(factory: str, dim: int) -> FaissIndex:
    """An empty index of ``factory``; ``IndexConfigError`` unless it is an IVF type (the ones that shard)."""
    index = FaissIndex(factory, dim)
    if index.ivf is None:
        raise IndexConfigError(f"a sharded or on-disk build needs an IVF factory (e.g. \"IVF1024,Flat\", "
                               f"\"IVF1024,PQ32\"), not {factory!r}: build it in one piece (no --shards / --ondisk)")
    return index


def _trained_template(factory: str, dim: int, vectors: np.ndarray) -> FaissIndex:
    index = check_shardable(factory, dim)
    index.train(vectors)
    index.ivf.set_direct_map_type(faiss.DirectMap.NoMap)  # FAISS merges inverted lists, not direct maps
    return index


def build_sharded(factory: str, dim: int, ids: np.ndarray, vectors: np.ndarray, *, shards: int,
                  map: Mapper | None = None, ondisk: str | os.PathLike | None = None) -> FaissIndex:
    """An IVF index of ``vectors`` (ids ``ids``) built in ``shards`` parallel parts and merged.

    ``map(fn, jobs)`` runs the shard adds (default: one after the other here); ``ondisk``: merge
    into on-disk inverted lists in that file instead of memory.
    """
    ids, x = as_ids(ids), as_vectors(vectors, dim)
    if len(ids) != len(x):
        raise ValueError(f"{len(ids)} ids for {len(x)} vectors")
    if shards < 1:
        raise IndexConfigError(f"shards must be >= 1, got {shards}")
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f"duplicate ids: {unique[counts > 1][:5].tolist()}")
    index = _trained_template(factory, dim, x)
    template = faiss.serialize_index(index.faiss_index)
    x = normalised(x)
    bounds = np.linspace(0, len(ids), min(shards, max(len(ids), 1)) + 1).astype(int)
    jobs = [(template, ids[a:b], x[a:b]) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    logger.info("adding %d vectors to %s in %d shard(s)", len(ids), factory, len(jobs))
    results = (map or _serial)(add_shard, jobs)
    if ondisk is None:
        merged = index.faiss_index
        for data in results:
            faiss.merge_into(merged, faiss.deserialize_index(data), False)
    else:
        merged = _merge_on_disk(template, results, Path(ondisk))
    ivf = faiss.extract_index_ivf(merged)
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
    return FaissIndex.from_faiss(merged, factory)


def _serial(fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
    return (fn(item) for item in items)


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _merge_on_disk(template: np.ndarray, results: Iterable[np.ndarray], target: Path) -> faiss.Index:
    """Write each shard to a temporary file as it arrives, then merge them into ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.stem}.shards.") as scratch:
        names = []
        for i, data in enumerate(results):
            name = Path(scratch) / f"shard-{i}.faiss"
            name.write_bytes(np.asarray(data).tobytes())  # the serialized form is the file format
            names.append(str(name))
        merged = faiss.deserialize_index(template)
        with _stdout_to_stderr():  # faiss prints "resizing <file>" on stdout, where --json output goes
            merge_ondisk(merged, names, str(target))
    with open(target, "rb+") as f:
        os.fsync(f.fileno())
    fsync_dir(target.parent)
    return merged
