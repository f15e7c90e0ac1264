"""Growth curves of the index types, and a check of their extrapolation at a size not fitted.

For each factory of ``docs/scale.md`` (Flat, SQ8, IVF-Flat, IVF-PQ, HNSW32) the user index is
built with UUE's own ``index.create_index`` on seeded clustered unit vectors at a reduced
dimension (``--dim``, default 64) and sizes ``--fit`` (default 10k, 20k, 40k); measured:
build CPU seconds (train + add, one FAISS thread, so that other jobs on a shared machine do
not distort it), the saved index's bytes, and the median CPU milliseconds of one query (one
thread; IVF nprobe 16, HNSW efSearch 64). Growth curves are fitted on the fit sizes (bytes:
linear a + b·N; times: power law a·N^b) and then **checked against a measurement at
``--check``** (default 80k, not used for fitting): the prediction error is the figure that
says how far the curves of ``docs/scale.md`` can be trusted. Bytes per vector are also
compared with the closed formula that ``docs/scale.md`` uses at full dimension. One
extra build per factory at ``--full-dim`` (384) and the smallest fit size gives the
measured cost factor of the full dimension.

    python -m benchmarks.scale_sim [--dim 64] [--fit 10000 20000 40000] [--check 80000]
    python -m benchmarks.scale_sim --render    # refit and re-table results/scale_sim.json

Writes ``benchmarks/results/scale_sim.json`` and ``scale_sim.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._common import RESULTS, markdown_table, median, write_results

NLIST = 256  # fixed across the simulated sizes (enough training points at the smallest)
QUERIES = 50
K = 10


def factories(dim: int) -> dict[str, str]:
    m = dim // 4 if dim <= 64 else dim // 8  # PQ16 at 64 dimensions, PQ48 at 384: 4 resp. 8 dims per code byte
    return {"Flat": "Flat", "SQ8": "SQ8", "IVF-Flat": f"IVF{NLIST},Flat", "IVF-PQ": f"IVF{NLIST},PQ{m}",
            "HNSW32": "HNSW32"}


def formula_bytes(name: str, dim: int, n: int) -> float:
    """Bytes of an index of ``n`` vectors by the closed formulas of docs/scale.md (ids are int64)."""
    return bytes_per_vector(name, dim) * n + fixed_bytes(name, dim, NLIST)


def bytes_per_vector(name: str, dim: int) -> float:
    """Codes + the int64 id; IVF also keeps its id → list direct map (a hashtable: 16 bytes);
    HNSW its level-0 links (2·M of 4 bytes) and about 7% more for the upper levels."""
    return {"Flat": 4 * dim + 8, "SQ8": dim + 8, "IVF-Flat": 4 * dim + 8 + 16,
            "IVF-PQ": (dim // 4 if dim <= 64 else dim // 8) + 8 + 16,
            "HNSW32": 4 * dim + 8 + 2 * 32 * 4 * 1.07}[name]


def fixed_bytes(name: str, dim: int, nlist: int) -> float:
    """The coarse centroids of IVF (nlist × d floats) and the PQ codebooks (256 × d floats)."""
    return {"IVF-Flat": nlist * dim * 4, "IVF-PQ": nlist * dim * 4 + 256 * dim * 4}.get(name, 0)


def make_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    from benchmarks.search import make_vectors as clustered

    return clustered(n, dim, seed, clusters=1000)


def measure(name: str, factory: str, n: int, dim: int, workdir: Path) -> dict:
    from index import create_index

    x = make_vectors(n, dim, seed=n)
    queries = make_vectors(QUERIES, dim, seed=1)
    ids = np.arange(1, n + 1, dtype=np.int64) * 3
    index = create_index(factory, dim)
    cpu = time.process_time()
    if not index.is_trained:
        index.train(x)
    index.add(ids, x)
    build = time.process_time() - cpu
    path = workdir / f"{name}-{n}-{dim}.faiss"
    index.save(path)
    size = path.stat().st_size
    path.unlink()
    params = {"nprobe": 16} if name.startswith("IVF") else {"efSearch": 64} if name == "HNSW32" else None
    times = []
    for q in queries:
        start = time.thread_time()
        index.search(q[None, :], K, params=params)
        times.append(time.thread_time() - start)
    result = {"n": n, "dim": dim, "build_cpu_s": build, "bytes": size, "query_cpu_ms": median(times) * 1000}
    print(f"{name} n={n} d={dim}: build {build:.2f} s CPU, {size / n:.1f} B/vector, query "
          f"{result['query_cpu_ms']:.3f} ms CPU", flush=True)
    return result


def fit_linear(ns: list[int], ys: list[float]) -> tuple[float, float]:
    b, a = np.polyfit(np.array(ns, float), np.array(ys, float), 1)
    return float(a), float(b)


def fit_power(ns: list[int], ys: list[float]) -> tuple[float, float]:
    b, log_a = np.polyfit(np.log(np.array(ns, float)), np.log(np.maximum(np.array(ys, float), 1e-9)), 1)
    return float(np.exp(log_a)), float(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--full-dim", type=int, default=384)
    parser.add_argument("--fit", type=int, nargs="+", default=[10_000, 20_000, 40_000])
    parser.add_argument("--check", type=int, default=80_000)
    parser.add_argument("--only", nargs="+", default=None, help="factories to run (default: all)")
    parser.add_argument("--render", action="store_true",
                        help="only recompute the fits and the table from results/scale_sim.json")
    args = parser.parse_args()
    if args.render:
        data = json.loads((RESULTS / "scale_sim.json").read_text())
        table = render(data)
        print(table)
        write_results("scale_sim", {k: v for k, v in data.items() if k != "machine"}, table)
        return
    import faiss

    faiss.omp_set_num_threads(1)
    names = args.only or list(factories(args.dim))
    figures: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            figures[name] = {
                "factory": factories(args.dim)[name],
                "fit": [measure(name, factories(args.dim)[name], n, args.dim, Path(tmp)) for n in args.fit],
                "check": measure(name, factories(args.dim)[name], args.check, args.dim, Path(tmp)),
                "full_dim": measure(name, factories(args.full_dim)[name], args.fit[0], args.full_dim, Path(tmp))}
    data = {"dim": args.dim, "full_dim": args.full_dim, "fit": args.fit, "check": args.check, "nlist": NLIST,
            "load_average": os.getloadavg()[0], "factories": figures}
    table = render(data)
    print(table)
    write_results("scale_sim", data, table)


def analyse(data: dict) -> None:
    """Fit the growth curves on the fit sizes, predict the check size, and compare (in place)."""
    check_n = data["check"]
    for name, f in data["factories"].items():
        ns = [r["n"] for r in f["fit"]]
        mem = fit_linear(ns, [r["bytes"] for r in f["fit"]])
        build = fit_power(ns, [r["build_cpu_s"] for r in f["fit"]])
        query = fit_power(ns, [r["query_cpu_ms"] for r in f["fit"]])
        predicted = {"bytes": mem[0] + mem[1] * check_n, "build_cpu_s": build[0] * check_n ** build[1],
                     "query_cpu_ms": query[0] * check_n ** query[1]}
        formula = formula_bytes(name, data["dim"], check_n)
        f.update(fit_bytes={"a": mem[0], "per_vector": mem[1]}, fit_build={"a": build[0], "exponent": build[1]},
                 fit_query={"a": query[0], "exponent": query[1]}, predicted=predicted,
                 error={k: predicted[k] / f["check"][k] - 1 for k in predicted},
                 formula_bytes=formula, formula_error=formula / f["check"]["bytes"] - 1,
                 full_dim_factor={k: f["full_dim"][k] / f["fit"][0][k] for k in ("build_cpu_s", "bytes",
                                                                                   "query_cpu_ms")})


def render(data: dict) -> str:
    analyse(data)
    rows = []
    for name, f in data["factories"].items():
        check, predicted, error = f["check"], f["predicted"], f["error"]
        rows.append([name, f["factory"], f"{f['fit_bytes']['per_vector']:.1f}", f"{error['bytes']:+.1%}",
                     f"{f['formula_error']:+.1%}", f"{f['fit_build']['exponent']:.2f}",
                     f"{check['build_cpu_s']:.3g}", f"{predicted['build_cpu_s']:.3g}", f"{error['build_cpu_s']:+.1%}",
                     f"{f['fit_query']['exponent']:.2f}", f"{check['query_cpu_ms']:.3f}",
                     f"{predicted['query_cpu_ms']:.3f}", f"{error['query_cpu_ms']:+.1%}",
                     f"{f['full_dim_factor']['build_cpu_s']:.1f}", f"{f['full_dim_factor']['query_cpu_ms']:.1f}"])
    fit = ", ".join(f"{n:,}" for n in data["fit"])
    dim, full = data["dim"], data.get("full_dim", 384)
    return (f"# Growth curves of the index types, checked at a size not fitted\n\n"
            f"Seeded clustered unit vectors (1,000 clusters) at {dim} dimensions, fitted at N = {fit}, checked at "
            f"N = {data['check']:,}; UUE's `index.create_index`, one FAISS thread, CPU time (load average "
            f"{data['load_average']:.1f} at the end: a shared machine); IVF with {data['nlist']} lists, nprobe 16; "
            f"HNSW32 efSearch 64; {QUERIES} single queries, median. Bytes (of the saved index): linear fit; times: "
            "power-law fit a·N^b. The prediction errors at the check size are measured, not derived. 'formula' is "
            "the closed form of docs/scale.md (bytes per vector × N + centroids and codebooks). "
            f"'{full}-d ×': build and query CPU at {full} over {dim} dimensions, measured at N = "
            f"{data['fit'][0]:,}.\n\n"
            + markdown_table(["index", "factory", "bytes/vector (fit)", "bytes: fit error", "bytes: formula error",
                              "build exponent b", f"build CPU s at {data['check']:,}", "predicted", "build: error",
                              "query exponent b", "query CPU ms", "predicted", "query: error",
                              f"{full}-d × build", f"{full}-d × query"], rows))

if __name__ == "__main__":
    main()
