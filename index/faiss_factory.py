"""FAISS index construction: factory strings, the id-mapped layout and the defaults set here.

See ``index.faiss_index`` for the layouts (IVF with ids in the lists; everything else in
``IndexIDMap2``; refinement ``…,RFlat`` over a flat, SQ, PQ or HNSW base).
"""

from __future__ import annotations

import math
import re
from typing import Any

import faiss
import numpy as np

from index.errors import IndexConfigError

FACTORY_EXAMPLES = ("Flat", "HNSW32", "IVF1024,Flat", "IVF1024,PQ32")
TRAIN_SEED = 20240501
TRAIN_SAMPLE_MAX = 100_000  # raised to 39 × nlist for very large nlist
DEFAULT_EF_SEARCH = 128  # recall@10 0.95 at 1M users (0.85 at 64): benchmarks/results/search.md
DEFAULT_EF_CONSTRUCTION = 80  # faiss' 40 loses ~5 points of recall@10 on 384-d embeddings
DEFAULT_K_FACTOR = 4  # refined indexes re-rank 4 × k candidates (recall@10 0.99+ for SQ8 at 1M × 384)


def default_nprobe(nlist: int) -> int:
    """Probes searched by default: nlist/32, at least 8 (faiss' own default is 1)."""
    return min(nlist, max(8, nlist // 32))


def suggest_nlist(n: int) -> int:
    """A power of two near 4·√n that still leaves ≥ 39 training vectors per list."""
    target = max(1.0, min(4 * math.sqrt(max(n, 1)), n / 39))
    return 2 ** int(math.floor(math.log2(target)))


def extract_ivf(index: faiss.Index) -> Any:
    try:
        return faiss.extract_index_ivf(index)
    except (RuntimeError, AttributeError):
        return None


def refine_parts(index: Any) -> tuple[Any, Any]:
    """(the IndexRefine inside ``index`` or None, the IndexHNSW searched or None)."""
    inner = faiss.downcast_index(index)
    refine = inner if isinstance(inner, faiss.IndexRefine) else None
    base = faiss.downcast_index(refine.base_index) if refine is not None else inner
    return refine, base if isinstance(base, faiss.IndexHNSW) else None


def build_faiss(factory: str, dim: int) -> faiss.Index:
    """The raw FAISS index for ``factory`` (validated; see the module docstring)."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool) or dim < 1:
        raise IndexConfigError(f"index dimension must be a positive integer, got {dim!r}")
    body = re.sub(r"^\s*IDMap2?\s*,", "", str(factory)).strip()
    try:
        index = faiss.index_factory(int(dim), body, faiss.METRIC_INNER_PRODUCT)
    except (RuntimeError, ValueError, TypeError) as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise IndexConfigError(
            f"unknown or invalid index factory {factory!r} for dimension {dim} ({reason}); "
            f"examples: {', '.join(repr(e) for e in FACTORY_EXAMPLES)}") from None
    ivf = extract_ivf(index)
    if ivf is not None and isinstance(faiss.downcast_index(index), faiss.IndexRefine):
        raise IndexConfigError(f"index factory {factory!r}: refinement (RFlat) is supported over flat, SQ, PQ "
                               "and HNSW bases, not IVF; e.g. \"SQ8,RFlat\" or \"HNSW32_SQ8,RFlat\"")
    if ivf is not None:
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        ivf.nprobe = default_nprobe(ivf.nlist)
        return index
    if isinstance(index, faiss.IndexIDMap):
        raise IndexConfigError(f"index factory {factory!r}: put IDMap first or leave it out (ids are always mapped)")
    refine, hnsw = refine_parts(index)
    if hnsw is not None:
        hnsw.hnsw.efSearch = DEFAULT_EF_SEARCH
        hnsw.hnsw.efConstruction = DEFAULT_EF_CONSTRUCTION
    if refine is not None:
        refine.k_factor = DEFAULT_K_FACTOR
    return faiss.IndexIDMap2(index)


def make_selector(allow: np.ndarray) -> tuple[faiss.IDSelector, Any]:
    """A selector for sorted unique ids, and the buffer it points into (keep it alive)."""
    hi = int(allow[-1]) + 1
    if hi <= 512 * allow.size:  # bitmap ≤ 64 bytes per allowed id: dense ids, O(1) bit test
        bits = np.zeros(hi, dtype=bool)
        bits[allow] = True
        bitmap = np.packbits(bits, bitorder="little")
        return faiss.IDSelectorBitmap(bitmap.size, faiss.swig_ptr(bitmap)), bitmap
    return faiss.IDSelectorBatch(allow), allow
