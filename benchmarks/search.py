"""Search benchmark: our FAISS layer (index/) against exact search, raw FAISS, and Chroma.

    .venv/bin/python -m benchmarks.search --users 1000000 --dim 384 --queries 200

Data: seeded synthetic user vectors shaped like embeddings — a Gaussian mixture
(``--clusters`` centres) plus a 32-d latent component and isotropic noise, L2-normalised
— so nearest neighbours are neither trivial nor uniform noise. Queries are fresh draws
from the same mixture. Ground truth is exact (numpy inner product).

The users are first written to a real store (SQLite): one ``users`` row each (the
``content_hash`` and ``num_chunks`` columns hold dummy values: only ids and metadata
matter here) and one ``user_attributes`` row ``bucket`` = 0..99, so the 1 % / 10 % /
50 % audiences of the filtered queries resolve from SQL, as ``--where`` does.

Measured: build time (ours vs raw ``IndexIDMap(IndexFlatIP)``), single-query p50/p99
latency and recall@10 for Flat, HNSW32 (efSearch sweep) and IVF (nprobe sweep), the Flat
query against the memory-bandwidth bound measured in the same run, filtered queries
(SQL resolution and search timed apart), and Chroma as the peer (insert time, p50,
queries/s, recall@10), at a smaller documented N when Chroma cannot insert N in time.
Writes ``benchmarks/results/search.{json,md,png}`` (``benchmarks._search_report``).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np
from sqlalchemy import insert, select

from benchmarks._search_report import write_build_results, write_results
from index import create_index
from index.faiss_factory import suggest_nlist
from storage.store import Store
from storage.tables import User, UserAttribute

K = 10
EF_SWEEP = (16, 32, 48, 56, 64, 96, 128, 256)
RESULTS = Path(__file__).resolve().parent / "results"


def make_vectors(n: int, dim: int, seed: int, clusters: int, centres_seed: int = 0) -> np.ndarray:
    centres_rng = np.random.default_rng(centres_seed)
    centres = centres_rng.standard_normal((clusters, dim)).astype(np.float32)
    latent = centres_rng.standard_normal((32, dim)).astype(np.float32) * 0.6
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        block = centres[rng.integers(0, clusters, m)]
        block += rng.standard_normal((m, 32), dtype=np.float32) @ latent
        block += 0.5 * rng.standard_normal((m, dim), dtype=np.float32)
        out[start:start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def exact_topk(x: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int,
               rows: np.ndarray | None = None) -> np.ndarray:
    """Exact top-k ids by inner product, in blocks (rows: restrict to these rows of x)."""
    best_s = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), 0), dtype=np.int64)
    total = len(x) if rows is None else len(rows)
    for start in range(0, total, 100_000):
        sel = slice(start, start + 100_000) if rows is None else rows[start:start + 100_000]
        s = queries @ x[sel].T
        cand = ids[sel]
        s, c = np.hstack([best_s, s]), np.hstack([best_i, np.broadcast_to(cand, s.shape)])
        top = np.argpartition(-s, min(k, s.shape[1] - 1), axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(s, top, 1), np.take_along_axis(c, top, 1)
    order = np.argsort(-best_s, axis=1)
    return np.take_along_axis(best_i, order, 1)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f[f >= 0]) & set(t)) / len(t) for f, t in zip(found, truth)]))


def single_queries(search, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Time ``search(q[None])`` one query at a time; returns (latencies ms, ids)."""
    search(queries[:1])  # warm-up
    lat, found = [], []
    for q in queries:
        t = time.perf_counter()
        ids = search(q[None])
        lat.append((time.perf_counter() - t) * 1000)
        found.append(ids[0])
    return np.array(lat), np.array(found)


def summary(lat: np.ndarray, found: np.ndarray, truth: np.ndarray, **extra) -> dict:
    return {"p50_ms": round(float(np.median(lat)), 3), "p99_ms": round(float(np.percentile(lat, 99)), 3),
            "qps": round(1000 / float(np.median(lat)), 1), "qps_mean": round(1000 / float(np.mean(lat)), 1),
            "recall@10": round(recall(found, truth), 4), **extra}


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def compare_builds(raw_build, our_build, holder: dict, pairs: int = 5) -> dict:
    """Median build times of raw faiss and ours, runs interleaved (raw/ours, then ours/raw...)
    so that the machine's noise and the allocator's state fall on both alike."""
    times: dict[str, list[float]] = {"raw": [], "ours": []}
    for i in range(pairs):
        for kind in ("raw", "ours") if i % 2 == 0 else ("ours", "raw"):
            holder["flat"] = None  # the previous build is freed before each run
            t = time.perf_counter()
            (raw_build if kind == "raw" else our_build)()
            times[kind].append(time.perf_counter() - t)
    t_raw, t_ours = float(np.median(times["raw"])), float(np.median(times["ours"]))
    return {"raw_faiss_s": round(t_raw, 3), "ours_s": round(t_ours, 3), "ratio": round(t_ours / t_raw, 3),
            "runs": {k: [round(v, 3) for v in vs] for k, vs in times.items()}}


def fill_store(url: str, n: int, seed: int) -> tuple[Store, np.ndarray, float]:
    store = Store(url)
    buckets = np.random.default_rng(seed + 7).integers(0, 100, n)
    t = time.perf_counter()
    with store.engine.begin() as conn:
        for start in range(0, n, 50_000):
            part = range(start, min(n, start + 50_000))
            conn.execute(insert(User), [{"user_id": f"u{i}", "split": "train", "metadata_": {"bucket": int(buckets[i])},
                                         "content_hash": "0" * 32, "num_chunks": 1} for i in part])
        pks = np.fromiter(conn.execute(select(User.id).order_by(User.id)).scalars(), dtype=np.int64, count=n)
        for start in range(0, n, 50_000):
            conn.execute(insert(UserAttribute), [{"user_pk": int(pks[i]), "key": "bucket", "value": str(buckets[i])}
                                                 for i in range(start, min(n, start + 50_000))])
    return store, pks, time.perf_counter() - t


def resolve(store: Store, percent: int) -> tuple[np.ndarray, float]:
    """The ids of a ``percent`` % audience, from SQL (bucket < percent), and the seconds it took."""
    stmt = (select(UserAttribute.user_pk).where(UserAttribute.key == "bucket",
                                                 UserAttribute.value.in_([str(b) for b in range(percent)]))
            .order_by(UserAttribute.user_pk))
    t = time.perf_counter()
    with store.engine.connect() as conn:
        ids = np.fromiter(conn.execute(stmt).scalars(), dtype=np.int64)
    return ids, time.perf_counter() - t


def memory_bandwidth(x: np.ndarray) -> float:
    """GB/s of a single-threaded numpy read (sum) over ``x``, best of 3."""
    seconds = min(best_of(lambda: x.sum(dtype=np.float32), 1) for _ in range(3))
    return x.nbytes / seconds / 1e9


def run_chroma(x: np.ndarray, ids: np.ndarray, queries: np.ndarray, truth_fn, budget_s: float,
               fallback_n: int, workdir: Path) -> dict:
    """Insert into Chroma (time-boxed: probe the rate, shrink N if needed), then query."""
    import chromadb

    client = chromadb.PersistentClient(path=str(workdir / "chroma"))
    col = client.create_collection("bench_users", metadata={"hnsw:space": "ip"}, embedding_function=None)
    batch = client.get_max_batch_size()
    n, probe = len(x), min(len(x), 20_000)
    inserted, t_insert = 0, 0.0
    target = n
    while inserted < target:
        end = min(target, inserted + batch)
        t = time.perf_counter()
        col.add(ids=[str(i) for i in ids[inserted:end]], embeddings=x[inserted:end])
        t_insert += time.perf_counter() - t
        inserted = end
        if inserted >= probe and target == n and n > probe:
            projected = t_insert / inserted * n * 2  # ×2: HNSW inserts slow down as the graph grows
            if projected > budget_s or t_insert > budget_s:
                target = max(inserted, min(n, fallback_n))
                print(f"  chroma: {inserted} inserted at {inserted / t_insert:.0f}/s, projected {projected:.0f}s "
                      f"for {n} > budget {budget_s:.0f}s: peer comparison at N={target}", flush=True)
    truth = truth_fn(target)

    def search(q: np.ndarray) -> np.ndarray:
        res = col.query(query_embeddings=q, n_results=K, include=["distances"])
        return np.array([[int(i) for i in res["ids"][0]] + [-1] * (K - len(res["ids"][0]))])

    lat, found = single_queries(search, queries)
    cfg = (col.configuration_json or {}).get("hnsw", {}) if hasattr(col, "configuration_json") else {}
    return {"n": target, "insert_s": round(t_insert, 2), "insert_per_s": round(inserted / t_insert, 1),
            "version": chromadb.__version__, "config": cfg, **summary(lat, found, truth)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--flat-queries", type=int, default=50, help="queries for the (slow) exact Flat latency")
    ap.add_argument("--clusters", type=int, default=1000)
    ap.add_argument("--nlist", type=int, default=0, help="IVF lists (default: min(1024, suggested for N))")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--search-threads", type=int, default=1, help="OpenMP threads for single-query timing")
    ap.add_argument("--chroma-budget", type=float, default=600,
                    help="seconds allowed for Chroma's insert of N (projected ×2 from a 20k probe, and enforced)")
    ap.add_argument("--peer-users", type=int, default=100_000, help="peer N when Chroma cannot insert N in budget")
    ap.add_argument("--skip-chroma", action="store_true")
    ap.add_argument("--build-only", action="store_true", help="only the Flat build comparison (search_build.md)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    n, dim = args.users, args.dim
    build_threads = os.cpu_count() or 1
    workdir = Path(tempfile.mkdtemp(prefix="uue-bench-"))
    report: dict = {"config": vars(args) | {"out": str(args.out)}, "machine": {
        "cpus": os.cpu_count(), "loadavg_start": os.getloadavg(), "python": platform.python_version(),
        "faiss": faiss.__version__, "faiss_simd": faiss.SIMDConfig.get_level_name(), "numpy": np.__version__, "build_threads": build_threads,
        "search_threads": args.search_threads}}
    try:
        print(f"data: {n} x {dim} (clusters={args.clusters}), {args.queries} queries", flush=True)
        x = make_vectors(n, dim, args.seed, args.clusters)
        queries = make_vectors(args.queries, dim, args.seed + 1, args.clusters)
        store, ids, t_store = fill_store(f"sqlite:///{workdir / 'bench.db'}", n, args.seed)
        report["store"] = {"insert_users_s": round(t_store, 2)}
        faiss.omp_set_num_threads(build_threads)
        truth = exact_topk(x, ids, queries, K)

        # ---- build: ours vs raw faiss -------------------------------------------------
        def raw_build():
            raw = faiss.IndexIDMap(faiss.IndexFlatIP(dim))
            raw.add_with_ids(x, ids)

        holder: dict = {}

        def our_build():
            holder["flat"] = None
            index = create_index("Flat", dim)
            index.add(ids, x)
            holder["flat"] = index

        report["build"] = compare_builds(raw_build, our_build, holder)
        b = report["build"]
        print(f"build Flat: ours {b['ours_s']:.3f}s raw faiss {b['raw_faiss_s']:.3f}s ratio {b['ratio']:.2f}", flush=True)
        if args.build_only:
            write_build_results(report, args.out)
            return

        # ---- exact Flat vs memory bandwidth ----------------------------------------------
        faiss.omp_set_num_threads(args.search_threads)
        flat = holder.pop("flat")
        nq_flat = min(args.flat_queries, args.queries)
        lat, found = single_queries(lambda q, f=flat: f.search(q, K)[1], queries[:nq_flat])
        gbs = memory_bandwidth(x)
        bound_ms = n * dim * 4 / (gbs * 1e9) * 1000
        report["flat"] = summary(lat, found, truth[:nq_flat], queries=nq_flat, bandwidth_gb_s=round(gbs, 2),
                                 bound_ms=round(bound_ms, 2), vs_bound=round(float(np.median(lat)) / bound_ms, 3))
        print(f"Flat: p50 {np.median(lat):.2f} ms, bound {bound_ms:.2f} ms at {gbs:.1f} GB/s "
              f"(x{np.median(lat) / bound_ms:.2f}), recall {report['flat']['recall@10']}", flush=True)
        del flat

        # ---- HNSW32 --------------------------------------------------------------------
        faiss.omp_set_num_threads(build_threads)
        hnsw = create_index("HNSW32", dim)
        t = time.perf_counter()
        hnsw.add(ids, x)
        report["hnsw_build_s"] = round(time.perf_counter() - t, 2)
        print(f"HNSW32 build {report['hnsw_build_s']}s", flush=True)
        faiss.omp_set_num_threads(args.search_threads)
        report["hnsw"] = []
        for ef in EF_SWEEP:
            lat, found = single_queries(lambda q, h=hnsw: h.search(q, K, params={"efSearch": ef})[1], queries)
            report["hnsw"].append(summary(lat, found, truth, efSearch=ef))
            print(f"  HNSW32 efSearch={ef}: {report['hnsw'][-1]}", flush=True)

        # ---- filtered audiences (HNSW32, default efSearch) --------------------------------
        report["filtered"] = []
        for percent in (1, 10, 50):
            allow, t_sql = resolve(store, percent)
            rows = np.searchsorted(ids, allow)
            ftruth = exact_topk(x, ids, queries, K, rows=rows)
            path = "exact scan" if allow.size <= hnsw.exact_threshold else "HNSW + IDSelector"
            lat, found = single_queries(lambda q, h=hnsw: h.search(q, K, ids=allow)[1], queries)
            report["filtered"].append(summary(lat, found, ftruth, percent=percent, allowed=int(allow.size),
                                              sql_ms=round(t_sql * 1000, 2), path=path))
            print(f"  filter {percent}%: {report['filtered'][-1]}", flush=True)
        del hnsw

        # ---- IVF ------------------------------------------------------------------------
        nlist = args.nlist or min(1024, suggest_nlist(n))
        faiss.omp_set_num_threads(build_threads)
        ivf = create_index(f"IVF{nlist},Flat", dim)
        t = time.perf_counter()
        ivf.train(x)
        ivf.add(ids, x)
        report["ivf_build_s"] = round(time.perf_counter() - t, 2)
        faiss.omp_set_num_threads(args.search_threads)
        report["ivf"] = []
        for nprobe in (1, 4, 16, 64, 256):
            lat, found = single_queries(lambda q, i=ivf: i.search(q, K, params={"nprobe": nprobe})[1], queries)
            report["ivf"].append(summary(lat, found, truth, factory=f"IVF{nlist},Flat", nprobe=nprobe))
            print(f"  IVF{nlist},Flat nprobe={nprobe}: {report['ivf'][-1]}", flush=True)
        del ivf

        # ---- peer: Chroma ----------------------------------------------------------------
        if not args.skip_chroma:
            report["peer"] = peer(args, x, ids, queries, truth, report, workdir, build_threads)
        store.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report["machine"]["loadavg_end"] = os.getloadavg()
    write_results(report, args.out)
    return report


def peer(args, x, ids, queries, truth, report, workdir: Path, build_threads: int) -> dict:
    print("chroma ...", flush=True)
    chroma = run_chroma(x, ids, queries, lambda m: truth if m == len(x) else exact_topk(x[:m], ids[:m], queries, K),
                        args.chroma_budget, args.peer_users, workdir)
    m = chroma["n"]
    if m == len(x):
        ours, build_s = report["hnsw"], report["hnsw_build_s"]
    else:
        sub_truth = exact_topk(x[:m], ids[:m], queries, K)
        faiss.omp_set_num_threads(build_threads)
        index = create_index("HNSW32", x.shape[1])
        t = time.perf_counter()
        index.add(ids[:m], x[:m])
        build_s = round(time.perf_counter() - t, 2)
        faiss.omp_set_num_threads(args.search_threads)
        ours = []
        for ef in EF_SWEEP:
            lat, found = single_queries(lambda q: index.search(q, K, params={"efSearch": ef})[1], queries)
            ours.append(summary(lat, found, sub_truth, efSearch=ef))
    match = next((o for o in ours if o["recall@10"] >= chroma["recall@10"]), ours[-1])
    out = {"n": m, "reduced": m < len(x), "chroma": chroma, "ours_hnsw": ours, "ours_build_s": build_s,
           "ours_at_chroma_recall": match, "qps_ratio": round(match["qps"] / chroma["qps"], 2)}
    print(f"  chroma N={m}: {chroma}\n  ours at >= its recall: {match} -> {out['qps_ratio']}x qps", flush=True)
    return out


if __name__ == "__main__":
    main()
