"""The query side of ``FaissIndex``: filtered search, deny-lists, exact scans, FAISS search parameters.

Filtered search: the allow-list is applied inside FAISS (``SearchParameters*.sel``, an
``IDSelectorBitmap`` when the ids are dense, else ``IDSelectorBatch``); so is a
deny-list (``exclude``, e.g. users deleted since the build: ``IDSelectorNot``). When the list is
small (≤ ``max(EXACT_SCAN_MIN, EXACT_SCAN_FRACTION × count)``) the index instead
reconstructs just those vectors and scans them exactly: faster, and exact where graph
or IVF search would miss most of a sparse allow-list. A filtered HNSW search without
an explicit ``efSearch`` widens the default by 1/√(allowed fraction), at most 8×.
Marked-removed HNSW slots (id ``-1``) are left out with an ``IDSelectorRange``; a refined
index gets its filter translated to the base index's row numbers (``IDSelectorTranslated``).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import faiss
import numpy as np

from index.base import VectorIndex, as_ids, as_vectors, check_params, normalised, padded
from index.errors import IndexConfigError
from index.faiss_factory import make_selector
from index.faiss_tuning import check_target, ef_for_recall

logger = logging.getLogger(__name__)

SEARCH_PARAMS = frozenset({"nprobe", "efSearch", "exact", "k_factor", "recall"})
EXACT_SCAN_MIN = 10_000
EXACT_SCAN_FRACTION = 0.02
EXACT_SCAN_BLOCK = 65_536
FILTER_EF_MAX_FACTOR = 8  # filtered HNSW search widens efSearch by 1/√fraction, up to 8×
MAX_ID = 2**63 - 1


class FaissSearch(VectorIndex):
    """The query side of ``index.faiss_index.FaissIndex``: ``search`` over a FAISS index (abstract:
    the rest of ``VectorIndex`` is the host's).

    The host provides:

    - the ``VectorIndex`` members searches read: ``factory``, ``dim``, ``count``, ``ids()`` and
      ``contains()`` (the abstract ones are enforced by ``VectorIndex``);
    - ``calibration``: the build's efSearch calibration (``index.faiss_tuning``), or None;
    - its FAISS parts, set in its ``__init__``: ``_raw`` (the whole ``faiss.Index``), ``_ivf`` /
      ``_hnsw`` / ``_refine`` (the IVF, HNSW and refine layers, or None) and ``_marked`` (how many
      HNSW slots are marked removed, id ``-1``).

    This class owns the deny-list cache ``_deny`` (see ``_deny_selector``).
    """

    # provided by the host
    calibration: dict[str, Any] | None
    _raw: Any
    _ivf: Any
    _hnsw: Any
    _refine: Any
    _marked: int
    # owned here
    _deny: tuple | None = None  # (the exclude array last seen, its sorted ids, its selector, inner)

    @property
    def exact_threshold(self) -> int:
        """Allow-lists up to this size are scanned exactly instead of searched."""
        return max(EXACT_SCAN_MIN, int(EXACT_SCAN_FRACTION * self.count))

    def search(self, queries: np.ndarray, k: int, *, ids: np.ndarray | None = None,
               params: dict[str, Any] | None = None, exclude: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        opts = check_params(params, SEARCH_PARAMS)
        k = int(k)
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        q = normalised(as_vectors(queries, self.dim))
        exact = opts.get("exact")
        keep: list[Any] = []
        sel, fraction = None, 1.0
        if ids is not None or exact:
            allow = as_ids(ids) if ids is not None else self.ids()
            if allow.size > 1 and not np.all(allow[1:] > allow[:-1]):
                allow = np.unique(allow)  # sorted input (as SQL ORDER BY gives) skips the sort
            if exclude is not None and len(exclude):
                allow = allow[~np.isin(allow, as_ids(exclude))]
                if not allow.size:
                    return padded(len(q), k)
            if exact or (exact is None and allow.size <= self.exact_threshold):
                logger.debug("exact scan over %d allowed ids (threshold %d)", allow.size, self.exact_threshold)
                return self._exact_search(q, k, allow)
            sel, buf = make_selector(allow)
            keep.append(buf)
            fraction = min(1.0, allow.size / max(self.count, 1))
        elif exclude is not None and len(exclude):
            entry = self._deny_selector(exclude)
            keep.append(entry)  # holds the selector's inner set alive for this search, whatever other threads do
            deny, sel = entry[1], entry[2]
            if self._marked:  # marked-removed slots carry id -1
                live = faiss.IDSelectorRange(0, MAX_ID)
                keep.extend([live, sel])
                sel = faiss.IDSelectorAnd(live, sel)
            fraction = max(1.0 - deny.size / max(self.count, 1), 1.0 / max(self.count, 1))
        elif self._marked:
            sel = faiss.IDSelectorRange(0, MAX_ID)  # marked-removed slots carry id -1
        search_params = self._search_params(sel, opts, keep, fraction)
        if search_params is None:
            scores, labels = self._raw.search(q, k)
        else:
            scores, labels = self._raw.search(q, k, params=search_params)
        scores[labels < 0] = -np.inf
        return scores, labels

    def _deny_selector(self, exclude: np.ndarray) -> tuple:
        """``(exclude, sorted ids, IDSelectorNot, its inner IDSelectorBatch)`` of a deny-list;
        the same array object passed again (a Searcher's cached set of deleted users) reuses
        them instead of rebuilding them per query (10,000 ids: ~1.4 ms a query)."""
        cached = self._deny
        if cached is not None and cached[0] is exclude:
            return cached
        deny = np.unique(as_ids(exclude))
        inner = faiss.IDSelectorBatch(deny)
        self._deny = entry = (exclude, deny, faiss.IDSelectorNot(inner), inner)  # Not holds a raw pointer to inner
        return entry

    def _search_params(self, sel: Any, opts: dict[str, Any], keep: list[Any], fraction: float) -> Any:
        """FAISS search parameters, or None for the index defaults.

        A graph search under a filter only counts allowed nodes toward its results, so
        without an explicit ``efSearch`` the default is widened to
        ``efSearch / √fraction`` (capped at 8×): 50 % allowed → ×1.4, 10 % → ×3.2.
        """
        nprobe, ef, k_factor = opts.get("nprobe"), opts.get("efSearch"), opts.get("k_factor")
        for name, value in (("nprobe", nprobe), ("efSearch", ef), ("k_factor", k_factor)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
                raise IndexConfigError(f"search parameter {name} must be a positive integer, got {value!r}")
        target = opts.get("recall")
        if target is not None:
            target = check_target(target)
            if self.calibration is None:
                raise IndexConfigError(f"search parameter recall needs an HNSW index calibrated by its build; "
                                       f"{self.factory!r} is not (use efSearch, or rebuild)")
            if ef is not None:
                raise IndexConfigError("give either efSearch or recall, not both")
        if self._refine is not None:
            if sel is not None:  # the base index numbers its rows 0..n-1: translate the store ids
                sel = faiss.IDSelectorTranslated(self._raw.id_map, sel)
                keep.append(sel)
            base = self._base_params(sel, ef, target, keep, fraction) or faiss.SearchParameters()
            keep.append(base)
            return faiss.IndexRefineSearchParameters(
                k_factor=float(k_factor if k_factor is not None else self._refine.k_factor), base_index_params=base)
        if k_factor is not None:
            logger.debug("k_factor ignored: %s does not re-rank", self.factory)
        if self._ivf is not None:
            if sel is None and nprobe is None:
                return None
            sp = faiss.SearchParametersIVF()
            sp.nprobe = int(nprobe if nprobe is not None else self._ivf.nprobe)
            if sel is not None:
                sp.sel = sel
            if isinstance(self._raw, faiss.IndexPreTransform):
                keep.append(sp)
                outer = faiss.SearchParametersPreTransform()
                outer.index_params = sp
                return outer
            return sp
        if nprobe is not None:
            logger.debug("nprobe ignored: %s is not an IVF index", self.factory)
        return self._base_params(sel, ef, target, keep, fraction)

    def _base_params(self, sel: Any, ef: int | None, target: float | None, keep: list[Any],
                     fraction: float) -> Any:
        """Parameters of a flat or HNSW search (the base of a refined index), or None for its defaults."""
        if self._hnsw is not None:
            if sel is None and ef is None and target is None:
                return None
            hp = faiss.SearchParametersHNSW()
            base = int(self._hnsw.efSearch if target is None else ef_for_recall(
                self.calibration["recall_by_efSearch"], target))
            widened = min(FILTER_EF_MAX_FACTOR * base, math.ceil(base / math.sqrt(fraction)))
            hp.efSearch = int(ef if ef is not None else widened)
            if sel is not None:
                hp.sel = sel
            return hp
        if ef is not None:
            logger.debug("efSearch ignored: %s is not an HNSW index", self.factory)
        return None if sel is None else faiss.SearchParameters(sel=sel)

    def _exact_search(self, q: np.ndarray, k: int, allow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Brute force over the stored (reconstructed) vectors of the allowed ids.

        Scoring uses ``faiss.knn`` so it runs on FAISS' threads (``omp_set_num_threads``)
        like every other search, not on numpy's BLAS pool.
        """
        present = allow[self.contains(allow)]
        parts = []
        for start in range(0, present.size, EXACT_SCAN_BLOCK):
            block = present[start:start + EXACT_SCAN_BLOCK]
            scores, rows = faiss.knn(q, self._raw.reconstruct_batch(block), k, metric=faiss.METRIC_INNER_PRODUCT)
            parts.append((scores, np.where(rows >= 0, block[np.maximum(rows, 0)], -1)))
        if not parts:
            return padded(len(q), k)
        if len(parts) == 1:
            scores, labels = parts[0]
        else:
            scores, labels = np.hstack([p[0] for p in parts]), np.hstack([p[1] for p in parts])
            order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
            scores, labels = np.take_along_axis(scores, order, axis=1), np.take_along_axis(labels, order, axis=1)
        scores[labels < 0] = -np.inf
        return scores, labels
