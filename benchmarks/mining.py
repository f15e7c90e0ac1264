"""Hard-negative mining: `uue.training.mining.mine_hard_negatives` vs sentence-transformers' `util.mine_hard_negatives`.

Both mine from the SAME precomputed vectors (seeded, clustered, L2-normalised): the peer
gets a stand-in model whose ``encode_query`` / ``encode_document`` look the vectors up
by text, so neither side spends time on a network. Same parameters on both sides
(``range_min``, ``range_max``, ``relative_margin``, ``num_negatives``,
``sampling_strategy="top"``). Timed: the whole call (ours: FAISS Flat index build +
search + filtering, ids out; peer: its call from the ``datasets.Dataset`` of (anchor,
positive) pairs to the triplet ``Dataset`` out, with ``use_faiss`` False and True).
Output agreement: per query, the set of negatives; the figures are the fraction of
queries with identical sets and the mean overlap |ours ∩ peer| / max(|ours|, |peer|).

    python -m benchmarks.mining                 # 20k queries × 5k pool and 2k × 20k, 384-d, 3 runs
    python -m benchmarks.mining --runs 5 --sizes 20000x5000
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

os.environ.setdefault("TQDM_DISABLE", "1")  # the peer's progress bars would dominate the output

import numpy as np  # noqa: E402

from benchmarks._common import markdown_table, median, timed, write_results  # noqa: E402

DIM = 384
PARAMS: dict[str, Any] = {"range_min": 2, "range_max": 50, "relative_margin": 0.05, "num_negatives": 5,
                          "sampling_strategy": "top"}


def make_data(n_queries: int, n_pool: int, seed: int = 0) -> tuple[np.ndarray, list[set[int]], np.ndarray]:
    """Clustered unit vectors; each query has 1-3 positives drawn from its cluster."""
    rng = np.random.default_rng(seed)
    n_clusters = max(8, n_pool // 50)
    centres = rng.standard_normal((n_clusters, DIM)).astype(np.float32)
    labels = rng.integers(n_clusters, size=n_pool)
    pool = centres[labels] + 1.2 * rng.standard_normal((n_pool, DIM)).astype(np.float32)
    pool /= np.linalg.norm(pool, axis=1, keepdims=True)
    q_labels = rng.choice(np.unique(labels), size=n_queries)
    queries = centres[q_labels] + 1.2 * rng.standard_normal((n_queries, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    members = {c: np.flatnonzero(labels == c) for c in np.unique(labels)}
    positives = [set(rng.choice(members[c], min(len(members[c]), int(rng.integers(1, 4))), replace=False).tolist())
                 for c in q_labels]
    return queries, positives, pool


class FixedVectors:
    """The parts of a SentenceTransformer that ``util.mine_hard_negatives`` uses, over fixed vectors."""

    def __init__(self, queries: np.ndarray, pool: np.ndarray) -> None:
        import torch

        self.device = torch.device("cpu")
        self.queries, self.pool = queries, pool

    def get_embedding_dimension(self) -> int:
        return DIM

    def encode_query(self, texts: list[str], **_: Any) -> np.ndarray:
        return self.queries[[int(t[1:]) for t in texts]]

    def encode_document(self, texts: list[str], **_: Any) -> np.ndarray:
        return self.pool[[int(t[1:]) for t in texts]]

    def similarity(self, a: Any, b: Any) -> Any:
        import torch

        return torch.as_tensor(a) @ torch.as_tensor(b).T

    def similarity_pairwise(self, a: Any, b: Any) -> Any:
        import torch

        return (torch.as_tensor(a) * torch.as_tensor(b)).sum(-1)


def run_peer(dataset: Any, model: FixedVectors, n_pool: int, use_faiss: bool) -> Any:
    from sentence_transformers.util import mine_hard_negatives as st_mine  # imported before timing: see bench

    return st_mine(dataset, model, corpus=[f"s{j}" for j in range(n_pool)], use_faiss=use_faiss,
                   verbose=False, **PARAMS)


def peer_sets(result: Any, n_queries: int) -> list[set[int]]:
    out: list[set[int]] = [set() for _ in range(n_queries)]
    for anchor, negative in zip(result["anchor"], result["negative"]):
        out[int(anchor[1:])].add(int(negative[1:]))
    return out


def agreement(ours: list[set[int]], theirs: list[set[int]]) -> tuple[float, float]:
    same = np.mean([a == b for a, b in zip(ours, theirs)])
    overlap = np.mean([len(a & b) / max(len(a), len(b)) if a or b else 1.0 for a, b in zip(ours, theirs)])
    return float(same), float(overlap)


def bench(n_queries: int, n_pool: int, runs: int) -> dict[str, Any]:
    import sentence_transformers.util  # noqa: F401  (import time stays out of the timings)
    from datasets import Dataset

    from uue.training.mining import mine_hard_negatives

    queries, positives, pool = make_data(n_queries, n_pool)
    pairs = [(i, j) for i, pos in enumerate(positives) for j in sorted(pos)]
    dataset = Dataset.from_dict({"anchor": [f"q{i}" for i, _ in pairs], "positive": [f"s{j}" for _, j in pairs]})
    model = FixedVectors(queries, pool)
    times: dict[str, list[float]] = {"uue": [], "st": [], "st_faiss": []}
    outputs: dict[str, Any] = {}
    for _ in range(runs):
        seconds, outputs["uue"] = timed(lambda: mine_hard_negatives(queries, positives, pool, **PARAMS))
        times["uue"].append(seconds)
        for name, use_faiss in (("st", False), ("st_faiss", True)):
            seconds, outputs[name] = timed(lambda: run_peer(dataset, model, n_pool, use_faiss))
            times[name].append(seconds)
    ids, stats = outputs["uue"]
    ours = [set(row[row >= 0].tolist()) for row in ids]
    result: dict[str, Any] = {"queries": n_queries, "pool": n_pool, "dim": DIM, "positive_pairs": len(pairs),
                              "seconds": times, "median_seconds": {k: median(v) for k, v in times.items()},
                              "uue_stats": stats}
    for name in ("st", "st_faiss"):
        same, overlap = agreement(ours, peer_sets(outputs[name], n_queries))
        result[f"identical_{name}"], result[f"overlap_{name}"] = same, overlap
        result[f"speedup_vs_{name}"] = result["median_seconds"][name] / result["median_seconds"]["uue"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["20000x5000", "2000x20000"],
                        help="QUERIESxPOOL, one or more")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    results = []
    for size in args.sizes:
        n_queries, n_pool = (int(x) for x in size.lower().split("x"))
        results.append(bench(n_queries, n_pool, args.runs))
    header = ["queries × pool", "uue s", "ST s", "ST faiss s", "speedup vs ST", "vs ST faiss",
              "identical sets", "mean overlap", "queries with all negatives"]
    rows = [[f"{r['queries']:,} × {r['pool']:,}", r["median_seconds"]["uue"], r["median_seconds"]["st"],
             r["median_seconds"]["st_faiss"], f"{r['speedup_vs_st']:.1f}×", f"{r['speedup_vs_st_faiss']:.1f}×",
             f"{r['identical_st']:.2%} / {r['identical_st_faiss']:.2%}", f"{r['overlap_st']:.4f}",
             f"{1 - r['uue_stats']['short_queries'] / r['queries']:.2%}"] for r in results]
    table = markdown_table(header, rows)
    params = ", ".join(f"{k}={v}" for k, v in PARAMS.items())
    note = (f"\n\n{DIM}-d clustered unit vectors, 1-3 positives per query; {params}; median of {args.runs} runs. "
            "`identical sets`: queries whose negative set equals the peer's (use_faiss False / True).")
    print(table + note)
    write_results("mining", {"params": PARAMS, "runs": args.runs, "results": results}, table + note)


if __name__ == "__main__":
    main()
