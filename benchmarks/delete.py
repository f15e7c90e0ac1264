"""Queries after deletions: deleted users left out inside the FAISS search vs over-fetching.

Until the next build, an index still holds the vectors of users deleted since. UUE leaves
them out inside the search (an ``IDSelectorNot`` deny-list, built once per set of deleted
users); the peer is the usual work-around: ask for ``k + deleted`` results and drop the
deleted ones afterwards. Both return the same ``k`` users; this measures their latency
(median of single queries, one FAISS thread) on random unit vectors.

    python -m benchmarks.delete --users 50000 --queries 200 --factories "Flat;IVF256,Flat;HNSW32"
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks._common import markdown_table, median, write_results
from index import create_index

K = 10


def latencies(search, queries: np.ndarray) -> list[float]:
    out = []
    for q in queries:
        start = time.perf_counter()
        search(q[None, :])
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    import faiss

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--factories", default="Flat;IVF256,Flat;HNSW32", help="FAISS factory strings, ';'-separated")
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.users, args.dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    queries = x[rng.choice(args.users, args.queries, replace=False)]
    factories = [f.strip() for f in args.factories.split(";") if f.strip()]
    rows, figures = [], []
    for factory in factories:
        index = create_index(factory, args.dim)
        index.train(x)
        index.add(np.arange(args.users), x)
        for deleted in (100, 1_000, 10_000):
            gone = np.sort(rng.choice(args.users, deleted, replace=False))
            gone_set = set(gone.tolist())

            def overfetch(q, gone=gone, gone_set=gone_set):
                _, ids = index.search(q, min(K + len(gone), args.users))
                return [i for i in ids[0] if i >= 0 and int(i) not in gone_set][:K]

            def inside(q, gone=gone):
                return index.search(q, K, exclude=gone)[1][0]

            for q in queries[:5]:  # same answers (exact indexes) / warm the selector cache
                assert factory != "Flat" or list(inside(q[None, :])) == overfetch(q[None, :])
            ours = median(latencies(inside, queries)) * 1e3
            peer = median(latencies(overfetch, queries)) * 1e3
            rows.append([factory, deleted, ours, peer, peer / ours])
            figures.append({"factory": factory, "deleted": deleted, "exclude_ms": ours, "overfetch_ms": peer})
    table = markdown_table(["index", "deleted users", "UUE: excluded inside the search (ms, p50)",
                            "peer: over-fetch k+deleted, drop (ms, p50)", "peer / UUE"], rows)
    print(table)
    write_results("delete", {"users": args.users, "dim": args.dim, "queries": args.queries, "k": K,
                             "results": figures}, table)


if __name__ == "__main__":
    main()
