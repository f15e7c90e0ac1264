"""HNSW efSearch chosen from a target recall, measured when the index is built.

A graph index answers with a recall that depends on the data: HNSW32 at efSearch 128
gives recall@10 0.99 on 100k synthetic users but 0.95 on 1M of them. So instead of one
fixed default, a build measures recall@10 against exact search for a ladder of efSearch
values on a seeded sample of queries — the statements of the store, which is what audience
queries look like, or, without them, a sample of the indexed vectors with each one's own row
left out (leave-one-out: optimistic, an indexed vector is linked to its own neighbours) —
and records the curve in the index sidecar (``"calibration"``). The default efSearch is then the smallest one that reaches
``DEFAULT_TARGET_RECALL`` on the sample, and a query may ask for another target
(``params={"recall": 0.99}``) instead of naming an efSearch.

The sample recall predicts, it does not promise: ``benchmarks/search_tuned.py`` reports the
calibrated and the measured recall of fresh queries side by side.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import faiss
import numpy as np

logger = logging.getLogger(__name__)

DEFAULT_TARGET_RECALL = 0.98
EF_LADDER = (16, 24, 32, 48, 64, 96, 128, 160, 192, 256, 320, 384, 512, 768, 1024)
CALIBRATION_QUERIES = 200
CALIBRATION_MIN_COUNT = 5_000  # smaller indexes keep the fixed default (and small filters scan exactly)
CALIBRATION_SEED = 20261130
K = 10


def sample_rows(n: int, size: int = CALIBRATION_QUERIES, seed: int = CALIBRATION_SEED) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=min(size, n), replace=False))


def exact_neighbours(vectors: np.ndarray, rows: np.ndarray, k: int = K) -> np.ndarray:
    """Row numbers of the exact top-``k`` inner-product neighbours of ``vectors[rows]``, each
    query's own row left out."""
    _, found = faiss.knn(np.ascontiguousarray(vectors[rows]), vectors, k + 1, metric=faiss.METRIC_INNER_PRODUCT)
    return np.array([[r for r in hit if r != own][:k] for hit, own in zip(found, rows)], dtype=np.int64)


def calibrate(search: Callable[[np.ndarray, int, int], np.ndarray], vectors: np.ndarray, ids: np.ndarray,
              queries: np.ndarray | None = None, ladder: tuple[int, ...] = EF_LADDER,
              target: float = DEFAULT_TARGET_RECALL) -> dict[str, Any]:
    """Recall@10 per efSearch. ``search(queries, k, ef)`` returns ids; ``vectors`` / ``ids``: what
    the index holds, in the same row order. ``queries``: a sample of the queries the index will
    serve (at most ``CALIBRATION_QUERIES`` are used); None: a leave-one-out sample of the indexed
    vectors, which is optimistic for queries from elsewhere (an indexed vector is linked to its own
    neighbours in the graph). Stops one step after the ladder reaches recall 0.999."""
    if queries is not None and len(queries):
        q = np.ascontiguousarray(queries[sample_rows(len(queries))], dtype=np.float32)
        _, rows = faiss.knn(q, vectors, K, metric=faiss.METRIC_INNER_PRODUCT)
        truth, own, method = ids[rows], None, "sample of the queries"
    else:
        sample = sample_rows(len(vectors))
        q = np.ascontiguousarray(vectors[sample])
        truth, own, method = ids[exact_neighbours(vectors, sample)], ids[sample], "leave-one-out sample of the vectors"
    curve = []
    for ef in ladder:
        found = search(q, K + 1, ef)
        if own is None:
            hits = [len(set(f[:K].tolist()) & set(t.tolist())) / K for f, t in zip(found, truth)]
        else:
            hits = [len(set(f[(f >= 0) & (f != o)][:K].tolist()) & set(t.tolist())) / K
                    for f, o, t in zip(found, own, truth)]
        curve.append([int(ef), round(float(np.mean(hits)), 4)])
        if curve[-1][1] >= 0.999:
            break
    chosen = ef_for_recall(curve, target)
    logger.info("efSearch calibration on %d queries (%s): %s; efSearch %d for recall %.3f",
                len(q), method, curve, chosen, target)
    return {"queries": int(len(q)), "k": K, "target_recall": target, "efSearch": chosen,
            "recall_by_efSearch": curve, "method": method}


def ef_for_recall(curve: list[list[float]], target: float) -> int:
    """The smallest calibrated efSearch whose sample recall reaches ``target`` (the largest
    measured when none does)."""
    for ef, rec in curve:
        if rec >= target:
            return int(ef)
    return int(curve[-1][0])


def check_target(value: Any) -> float:
    from index.errors import IndexConfigError

    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1 or math.isnan(value):
        raise IndexConfigError(f"search parameter recall must be a number in (0, 1], got {value!r}")
    return float(value)


def valid_calibration(value: Any) -> bool:
    curve = value.get("recall_by_efSearch") if isinstance(value, dict) else None
    return (isinstance(curve, list) and bool(curve) and isinstance(value.get("efSearch"), int)
            and all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], int) and not isinstance(p[0], bool)
                    and p[0] > 0 and isinstance(p[1], (int, float)) and not isinstance(p[1], bool) for p in curve))
