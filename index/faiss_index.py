"""The FAISS backend: any ``faiss.index_factory`` string, inner product, store ids; build, change, save, load.

Layout by index family:

- IVF (``IVF1024,Flat``, ``IVF1024,PQ32``, ``OPQ16,IVF256,PQ16``...): ids go straight
  into the inverted lists (``add_with_ids``); a hashtable direct map makes ids
  reconstructable (exact scans) and removable.
- everything else (``Flat``, ``HNSW32``, ``PQ32``, ``SQ8``...): wrapped in
  ``IndexIDMap2``. An ``IDMap,`` / ``IDMap2,`` prefix in the factory string is accepted
  and means the same thing.

Removal: types that cannot remove (HNSW) *mark* instead: the id slot of the removed
vector is overwritten with ``-1`` in the id map (so the mark is saved with the file),
and searches exclude negative ids with an ``IDSelectorRange`` inside the graph search.
The vector stays in the graph until a rebuild: "HNSW: remove marks, rebuild compacts";
``stats()["removed_marked"]`` says how many are waiting.

Filtered search (allow-lists and deny-lists inside FAISS, exact scans of small allow-lists, efSearch
widened under a filter) is the query side, ``index.faiss_search.FaissSearch``, a base class of ``FaissIndex``.

Refinement (``SQ8,RFlat``, ``HNSW32_SQ8,RFlat``): the base index searches its compressed codes
for ``k_factor × k`` candidates (default ``DEFAULT_K_FACTOR``; ``params={"k_factor": n}``), which are
re-ranked exactly from the float vectors the file also holds (faiss ``IndexRefineFlat``). Such an
index is memory-mapped by default when loaded (``load(mmap=None)``): only the codes the scan reads
and the few float rows it re-ranks come into memory. Filters reach the base search translated to
its row numbers (``IDSelectorTranslated``).

HNSW efSearch: a build calibrates it (``calibrate``, ``index.faiss_tuning``): recall@10 per efSearch
on a sample, recorded in the sidecar; the default efSearch is the one reaching
``DEFAULT_TARGET_RECALL`` and ``params={"recall": r}`` picks the one reaching ``r``.

Defaults set here (faiss' own are lower): HNSW efSearch 128 until calibrated, efConstruction 80; IVF
nprobe max(8, nlist/32). IVF/PQ train on a seeded sample of at most
max(100k, 39·nlist) vectors; an nlist larger than the training set is an error that
suggests a smaller one (no silent auto-adjust: the factory string stays what was asked).
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

import faiss
import numpy as np

from index.base import (
    REBUILD_HINT,
    VectorIndex,
    as_ids,
    as_vectors,
    normalised,
    read_sidecar,
    write_sidecar,
)
from index.errors import IndexConfigError, IndexFileError
from index.faiss_factory import (
    TRAIN_SAMPLE_MAX,
    TRAIN_SEED,
    build_faiss,
    extract_ivf,
    refine_parts,
    suggest_nlist,
)
from index.faiss_search import FaissSearch
from index.faiss_tuning import CALIBRATION_MIN_COUNT, calibrate, valid_calibration
from index.files import BLOCK, HashingReader, atomic_write, checksum_mismatch, sha256_file

logger = logging.getLogger(__name__)

MMAP_FLAGS = {"ivf": faiss.IO_FLAG_MMAP, "ivf-ondisk": faiss.IO_FLAG_READ_ONLY}


def _check_sha256(path: str | os.PathLike, actual: str, recorded: str) -> None:
    if actual != recorded:
        raise IndexFileError(checksum_mismatch(path, actual, recorded))


class FaissIndex(FaissSearch, VectorIndex):
    """A FAISS index addressed by store primary keys. See the module docstring."""

    backend = "faiss"

    def __init__(self, factory: str, dim: int, *, _raw: faiss.Index | None = None,
                 read_only: bool = False, calibration: dict[str, Any] | None = None) -> None:
        self.factory, self.dim, self.read_only = str(factory), int(dim), read_only
        self._raw = _raw if _raw is not None else build_faiss(factory, dim)
        self._ivf = extract_ivf(self._raw)
        self._inner: Any = None
        if self._ivf is None:
            if not isinstance(self._raw, faiss.IndexIDMap2):
                raise IndexFileError(f"unexpected FAISS layout {type(self._raw).__name__} for {factory!r}: "
                                     f"{REBUILD_HINT}")
            self._inner = faiss.downcast_index(self._raw.index)
        self._refine, hnsw_index = refine_parts(self._inner) if self._inner is not None else (None, None)
        self._hnsw = hnsw_index.hnsw if hnsw_index is not None else None
        self._hnsw_index = hnsw_index
        self.calibration = calibration  # efSearch → sample recall, measured by ``calibrate``
        self._marks_removals = self._hnsw is not None
        self._live: np.ndarray | None = None  # sorted searchable ids, computed lazily
        self._marked = int(np.count_nonzero(self._id_map_view() < 0)) if self._ivf is None else 0

    @classmethod
    def from_faiss(cls, raw: faiss.Index, factory: str, *, read_only: bool = False,
                   calibration: dict[str, Any] | None = None) -> FaissIndex:
        """Wrap an existing FAISS index made by ``factory`` (ids in an ``IndexIDMap2``, or an IVF index's lists)."""
        return cls(factory, raw.d, _raw=raw, read_only=read_only, calibration=calibration)

    # ---- state ----------------------------------------------------------------------

    @property
    def faiss_index(self) -> faiss.Index:
        """The wrapped ``faiss.Index``, for code that works on FAISS directly (``index.sharded``
        serialises and merges it); changing its vectors through it bypasses this object's id bookkeeping."""
        return self._raw

    @property
    def ivf(self) -> Any:
        """The IVF layer (a ``faiss.IndexIVF``) of an IVF index, else None."""
        return self._ivf

    @property
    def count(self) -> int:
        return int(self._raw.ntotal) - self._marked

    @property
    def ondisk(self) -> bool:
        """Whether the inverted lists live in an ``.ivfdata`` file (``index.sharded``), not in the index file."""
        return self._ivf is not None and isinstance(faiss.downcast_InvertedLists(self._ivf.invlists),
                                                    faiss.OnDiskInvertedLists)

    @property
    def is_trained(self) -> bool:
        return bool(self._raw.is_trained)

    def _id_map_view(self) -> np.ndarray:
        """A writable numpy view of the IndexIDMap2 id map (invalid after the next add)."""
        id_map = self._raw.id_map
        if id_map.size() == 0:
            return np.zeros(0, dtype=np.int64)
        return faiss.rev_swig_ptr(id_map.data(), id_map.size())

    def ids(self) -> np.ndarray:
        if self._live is None:
            if self._ivf is None:
                stored = self._id_map_view()
                self._live = np.sort(stored[stored >= 0])
            else:
                lists = self._ivf.invlists
                parts = []
                for list_no in range(self._ivf.nlist):
                    size = lists.list_size(list_no)
                    if size:
                        ptr = lists.get_ids(list_no)
                        parts.append(faiss.rev_swig_ptr(ptr, size).copy())
                        lists.release_ids(list_no, ptr)
                self._live = np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
        return self._live.copy()

    def contains(self, ids: np.ndarray) -> np.ndarray:
        query = as_ids(ids)
        if self._live is None:
            self.ids()
        live = self._live
        if live.size == 0:
            return np.zeros(query.shape, dtype=bool)
        pos = np.minimum(np.searchsorted(live, query), live.size - 1)
        return live[pos] == query

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "backend": self.backend, "factory": self.factory, "dim": self.dim, "metric": "ip",
            "type": type(faiss.downcast_index(self._ivf) if self._ivf is not None else self._inner).__name__,
            "count": self.count, "stored": int(self._raw.ntotal), "removed_marked": self._marked,
            "is_trained": self.is_trained, "read_only": self.read_only,
            "exact_threshold": self.exact_threshold, "faiss_version": faiss.__version__,
        }
        if self._ivf is not None:
            out.update(nlist=int(self._ivf.nlist), nprobe=int(self._ivf.nprobe), ondisk=self.ondisk)
        if self._hnsw is not None:
            out.update(efSearch=int(self._hnsw.efSearch), efConstruction=int(self._hnsw.efConstruction))
        if self._refine is not None:
            out.update(k_factor=float(self._refine.k_factor))
        if self.calibration is not None:
            out.update(calibration=self.calibration)
        return out

    @property
    def search_settings(self) -> frozenset[str]:
        return frozenset({"exact"} | ({"nprobe"} if self._ivf is not None else set())
                         | ({"efSearch"} if self._hnsw is not None else set())
                         | ({"recall"} if self.calibration is not None else set())
                         | ({"k_factor"} if self._refine is not None else set()))

    def calibrate(self, vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray | None = None
                  ) -> dict[str, Any] | None:
        """Measure recall@10 per efSearch for a sample of ``queries`` (None: of the indexed ``vectors``,
        rows of ``ids``, leave-one-out) and make the efSearch reaching the default target the index
        default (see ``index.faiss_tuning``). Not a graph index, or too few vectors: None."""
        if self._hnsw is None or self.count < CALIBRATION_MIN_COUNT:
            return None
        x, keys = normalised(as_vectors(vectors, self.dim)), as_ids(ids)

        def search(q: np.ndarray, k: int, ef: int) -> np.ndarray:
            return self.search(q, k, params={"efSearch": ef})[1]

        q = normalised(as_vectors(queries, self.dim)) if queries is not None and len(queries) else None
        self.calibration = calibrate(search, x, keys, q)
        self._hnsw.efSearch = int(self.calibration["efSearch"])
        return self.calibration

    def _writable(self) -> None:
        if self.read_only:
            raise IndexConfigError("this index was loaded with mmap and is read-only: load it without mmap to modify it")

    # ---- build ----------------------------------------------------------------------

    def train(self, vectors: np.ndarray) -> None:
        self._writable()
        if self.is_trained:
            return
        x = as_vectors(vectors, self.dim)
        n = len(x)
        nlist = int(self._ivf.nlist) if self._ivf is not None else 0
        if nlist and n < nlist:
            better = re.sub(r"IVF\d+", f"IVF{suggest_nlist(n)}", self.factory, count=1)
            raise IndexConfigError(
                f"index {self.factory!r} has nlist={nlist} but only {n} vectors to train on "
                f"(needs ≥ {nlist}, ≥ {39 * nlist} recommended): use a smaller nlist, e.g. "
                f"--factory \"{better}\", or \"Flat\" (exact; fine up to ~1M vectors)")
        if nlist and n < 39 * nlist:
            logger.warning("training %s on %d vectors: fewer than 39 per list, clustering will be coarse", self.factory, n)
        cap = max(TRAIN_SAMPLE_MAX, 39 * nlist)
        if n > cap:
            rows = np.sort(np.random.default_rng(TRAIN_SEED).choice(n, size=cap, replace=False))
            x = x[rows]
        logger.info("training %s on %d of %d vectors", self.factory, len(x), n)
        try:
            self._raw.train(normalised(x))
        except RuntimeError as exc:
            raise IndexConfigError(f"cannot train index {self.factory!r} on {n} vectors "
                                   f"({str(exc).strip().splitlines()[-1]}): use more vectors or a smaller "
                                   f"index, e.g. \"Flat\"") from None

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._writable()
        ids, x = as_ids(ids), as_vectors(vectors, self.dim)
        if len(ids) != len(x):
            raise ValueError(f"{len(ids)} ids for {len(x)} vectors")
        if not len(ids):
            return
        new = ids if np.all(ids[1:] > ids[:-1]) else np.sort(ids)
        dup = new[1:][new[1:] == new[:-1]]
        if dup.size:
            raise ValueError(f"duplicate ids in one add: {dup[:5].tolist()}")
        if self._raw.ntotal:
            present = self.contains(new)
            if present.any():
                raise ValueError(f"{int(present.sum())} id(s) already in the index, e.g. "
                                 f"{new[present][:5].tolist()}: use upsert to replace vectors")
        if not self.is_trained:
            logger.info("index %s is untrained: training on the %d vectors being added", self.factory, len(x))
            self.train(x)
        self._raw.add_with_ids(normalised(x), ids)
        if self._live is not None or self._raw.ntotal == len(ids):
            base = self._live if self._live is not None else np.zeros(0, dtype=np.int64)
            self._live = np.sort(np.concatenate([base, new]), kind="stable")  # two sorted runs: linear

    def remove(self, ids: np.ndarray) -> int:
        self._writable()
        gone = np.unique(as_ids(ids))
        if not gone.size or not self._raw.ntotal:
            return 0
        if not self._marks_removals:
            try:
                removed = int(self._raw.remove_ids(gone))
            except RuntimeError:
                logger.info("%s cannot remove vectors: marking removed ids instead", type(self._inner).__name__)
                self._marks_removals = True
        if self._marks_removals:
            view = self._id_map_view()
            hit = np.isin(view, gone)
            view[hit] = -1
            removed = int(np.count_nonzero(hit))
            self._marked += removed
        if self._live is not None and removed:
            self._live = self._live[~np.isin(self._live, gone, assume_unique=True)]
        return removed

    # ---- files ----------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> str:
        if self.read_only:
            raise IndexConfigError("an index loaded with mmap cannot be saved: load it without mmap")
        checksum, size = atomic_write(path, lambda out: faiss.write_index(self._raw, faiss.PyCallbackIOWriter(out.write)))
        layout = "idmap2" if self._ivf is None else "ivf-ondisk" if self.ondisk else "ivf"
        meta = {"backend": self.backend, "factory": self.factory, "dim": self.dim, "metric": "ip",
                "layout": layout, "count": self.count, "stored": int(self._raw.ntotal), "removed_marked": self._marked,
                "faiss_version": faiss.__version__, "size": size, "checksum": checksum}
        if self._refine is not None:  # codes scanned + float rows re-ranked: mapping keeps only those in memory
            meta["mmap_default"] = True
        if self.calibration is not None:
            meta["calibration"] = self.calibration
        if self.ondisk:  # the inverted lists live in another file: record what it must hold
            lists = faiss.downcast_InvertedLists(self._ivf.invlists).filename
            meta["ivfdata"] = {"path": lists, "size": os.path.getsize(lists), "sha256": sha256_file(lists)}
        write_sidecar(path, meta)
        logger.info("saved %s index (%d vectors) to %s", self.factory, self.count, path)
        return checksum

    @classmethod
    def load(cls, path: str | os.PathLike, *, mmap: bool | None = False, checksum: str | None = None) -> FaissIndex:
        meta = read_sidecar(path)
        if mmap is None:  # the index's own preference: refined indexes are mapped
            mmap = meta.get("mmap_default") is True
        if meta["backend"] != cls.backend:
            raise IndexFileError(f"{path} is a {meta['backend']!r} index, not {cls.backend!r}")
        # IVF: map the inverted lists; otherwise map the flat codes (the two flags do not combine). On-disk
        # inverted lists (a sharded build's .ivfdata) are always mapped: read-only is all that is left to ask.
        flags = 0 if not mmap else MMAP_FLAGS.get(meta.get("layout"), faiss.IO_FLAG_MMAP_IFC)
        if checksum is not None and mmap:  # faiss maps the file by name: hash it first
            _check_sha256(path, sha256_file(path), checksum)
        try:
            if checksum is not None and not mmap:  # one pass: faiss reads through a hashing reader
                with open(path, "rb") as f:
                    reader = HashingReader(f)
                    raw = faiss.read_index(faiss.PyCallbackIOReader(reader.read, BLOCK))
                    _check_sha256(path, reader.hexdigest(), checksum)
            else:
                raw = faiss.read_index(os.fspath(path), flags)
        except (RuntimeError, MemoryError, OSError) as exc:
            if checksum is not None and not isinstance(exc, OSError):  # name the cause: not the recorded file
                _check_sha256(path, sha256_file(path), checksum)
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise IndexFileError(f"index file {path} is corrupt or unreadable ({reason}): {REBUILD_HINT}") from None
        if raw.d != int(meta["dim"]):
            raise IndexFileError(f"index file {path} has dimension {raw.d}, its sidecar says {meta['dim']}: {REBUILD_HINT}")
        calibration = meta.get("calibration")
        if calibration is not None and not valid_calibration(calibration):
            raise IndexFileError(f"index sidecar of {path}: malformed 'calibration': {REBUILD_HINT}")
        return cls.from_faiss(raw, meta["factory"], read_only=mmap, calibration=calibration)

