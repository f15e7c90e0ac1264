"""Sharded IVF builds vs one-piece FAISS builds: build time and the neighbours they return.

Seeded synthetic unit vectors (``--n`` × ``--dim``, clustered like embeddings: a mixture of
Gaussians around random centres), sparse int64 ids. The peer is FAISS built in one piece
(``index_factory`` + ``train`` + ``add_with_ids``, through ``create_index``); ours is
``index.sharded.build_sharded``: the same training (same seeded sample), ``--shards`` shard
adds in spawned processes (the local engine's ``map``), merged in memory (``merge_into``) or
into on-disk inverted lists (``merge_ondisk``). For each build: seconds (median of
``--repeats``), the fraction of top-10 neighbours identical to the one-piece build, and
recall@10 against exact brute-force ground truth at the default nprobe.

    python -m benchmarks.sharded_build [--n 50000] [--dim 384] [--shards 4] [--repeats 3]

Writes ``benchmarks/results/sharded_build.json`` and ``sharded_build.md``.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from benchmarks._common import markdown_table, median, write_results


def vectors(n: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((256, dim)).astype(np.float32)
    x = centres[rng.integers(0, 256, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = rng.choice(10 * n, size=n, replace=False).astype(np.int64)
    queries = x[rng.choice(n, 200, replace=False)] + 0.1 * rng.standard_normal((200, dim)).astype(np.float32)
    return ids, x, queries / np.linalg.norm(queries, axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--factories", default="IVF256,Flat;IVF256,PQ16x4")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from index import create_index
    from index.sharded import build_sharded
    from uue.search.engines import create_engine

    ids, x, queries = vectors(args.n, args.dim)
    _, rows = faiss.knn(queries, x, 10, metric=faiss.METRIC_INNER_PRODUCT)
    exact = ids[rows]
    figures, table_rows = {}, []
    with tempfile.TemporaryDirectory() as tmp, create_engine("local", workers=args.shards) as engine:
        for factory in args.factories.split(";"):
            def one_piece():
                index = create_index(factory, args.dim)
                index.train(x)
                index.add(ids, x)
                return index

            systems = {"one piece (peer)": one_piece,
                       f"{args.shards} shards, merged in memory": lambda: build_sharded(
                           factory, args.dim, ids, x, shards=args.shards, map=engine.map),
                       f"{args.shards} shards, merged on disk": lambda: build_sharded(
                           factory, args.dim, ids, x, shards=args.shards, map=engine.map,
                           ondisk=Path(tmp) / f"{time.time_ns()}.ivfdata")}
            times: dict[str, list[float]] = {name: [] for name in systems}
            hits: dict[str, np.ndarray] = {}
            for _ in range(args.repeats):
                for name, build in systems.items():
                    start = time.perf_counter()
                    index = build()
                    times[name].append(time.perf_counter() - start)
                    hits[name] = index.search(queries, 10)[1]
                    print(f"{factory} / {name}: {times[name][-1]:.1f}s", flush=True)
            peer = median(times["one piece (peer)"])
            for name, values in times.items():
                same = float((hits[name] == hits["one piece (peer)"]).mean())
                recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(hits[name], exact)]))
                figures[f"{factory} / {name}"] = {"seconds": values, "median_s": median(values),
                                                  "x_one_piece": peer / median(values),
                                                  "same_top10_as_one_piece": same, "recall_at_10": recall}
                table_rows.append([factory, name, median(values), peer / median(values), f"{same:.4f}",
                                   f"{recall:.3f}"])
    table = (f"# Sharded IVF builds vs one-piece FAISS builds\n\n{args.n:,} seeded clustered unit vectors × "
             f"{args.dim}, sparse int64 ids, 200 queries; {args.shards} shard adds in spawned processes; "
             f"{os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f}: a shared machine); medians of "
             f"{args.repeats}; default nprobe; recall@10 against exact brute force.\n\n"
             + markdown_table(["factory", "build", "seconds", "× one piece", "same top-10 as one piece",
                               "recall@10"], table_rows))
    print(table)
    write_results("sharded_build", {"n": args.n, "dim": args.dim, "shards": args.shards, "repeats": args.repeats,
                                    "systems": figures}, table)


if __name__ == "__main__":
    main()
