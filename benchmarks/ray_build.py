"""Index builds on Ray vs the local engine: chunks embedded per second.

One store of synthetic users (``--users``) and the default model (locked, the packaged
all-MiniLM-L6-v2, untrained: the same encoder work as a trained one). Each system runs a
full user-index build (``build_indexes(..., full=True)``) with a fresh chunk-vector cache,
so every chunk is embedded; ``--repeats`` interleaved runs, medians. The peer is the local
engine (this process, torch on every CPU); Ray runs on a local cluster started once by the
benchmark (its start-up is reported apart), with 1 and 2 model actors, each actor's start
(model load) inside the timed build. Vectors of every Ray build are checked against the
local engine's (max |Δ|).

    python -m benchmarks.ray_build [--users 200] [--repeats 3]

Writes ``benchmarks/results/ray_build.json`` and ``ray_build.md``.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._common import markdown_table, median, write_results

logger = logging.getLogger("benchmarks.ray_build")


def setup(root: Path, n_users: int):
    from uue.data import load_dataset, write_jsonl
    from uue.model.config import ModelConfig
    from uue.model.dual_encoder import UniversalUserEmbeddingModel
    from uue.training.checkpoint import weights_checksum
    from uue.workspace import Workspace

    ws = Workspace.resolve(root / "home")
    users = root / "users.jsonl"
    write_jsonl(load_dataset("synthetic", n_users=n_users, seed=1), users, progress=False)
    model = UniversalUserEmbeddingModel.from_config(ModelConfig())
    path = model.save_pretrained(ws.models_dir / "base")
    store = ws.open_store()
    store.ingest_file(users)
    store.register_model(str(path), model.config.base_model_name, model.embedding_dim, checksum=weights_checksum(path))
    chunks = sum(len(r["chunks"]) for _, r in store.iter_users())
    return ws, store, chunks


def run(ws, store, root: Path, label: str, **engine) -> tuple[float, np.ndarray]:
    from index.builds import active_build
    from index.vectors import VectorSet, build_stem
    from uue.search.builds import build_indexes

    cache = Path(tempfile.mkdtemp(prefix=f"cache-{label}-", dir=root))  # empty: every chunk is embedded
    start = time.perf_counter()
    build_indexes(store, ws.indexes_dir, full=True, progress=False, cache_dir=cache, **engine)
    seconds = time.perf_counter() - start
    return seconds, np.array(VectorSet.load(build_stem(active_build(store, "users")), mmap=False).vectors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    import ray
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ws, store, chunks = setup(root, args.users)
        started = time.perf_counter()
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
        ray_start = time.perf_counter() - started
        systems = {"local engine (peer)": {}, "ray, 1 actor": {"engine": "ray", "workers": 1},
                   "ray, 2 actors": {"engine": "ray", "workers": 2}}
        times: dict[str, list[float]] = {name: [] for name in systems}
        diffs: dict[str, float] = {name: 0.0 for name in systems}
        reference = None
        for _ in range(args.repeats):
            for name, engine in systems.items():
                seconds, vectors = run(ws, store, root, name.split()[0], **engine)
                times[name].append(seconds)
                if reference is None:
                    reference = vectors
                diffs[name] = max(diffs[name], float(np.abs(vectors - reference).max()))
                print(f"{name}: {seconds:.1f}s ({chunks / seconds:.0f} chunks/s)", flush=True)
        store.close()
        ray.shutdown()
    load = os.getloadavg()[0]
    peer = median(times["local engine (peer)"])
    rows, figures = [], {}
    for name, values in times.items():
        m = median(values)
        figures[name] = {"seconds": values, "median_s": m, "chunks_per_s": chunks / m, "x_local": peer / m,
                         "max_abs_diff_to_local": diffs[name]}
        rows.append([name, m, chunks / m, peer / m, f"{diffs[name]:.1e}"])
    table = (f"# Index build: Ray engine vs local engine\n\n{args.users} synthetic users, {chunks} chunks, packaged "
             f"all-MiniLM-L6-v2 (locked, untrained), full build with an empty chunk cache, {os.cpu_count()} CPUs "
             f"(torch {torch.get_num_threads()} threads locally; a Ray actor gets CPUs / actors), medians of "
             f"{args.repeats} interleaved runs. Local Ray cluster start {ray_start:.1f}s, not counted; each "
             f"actor's model load is counted. Load average at the end {load:.1f} (a shared machine).\n\n"
             + markdown_table(["system", "build s", "chunks/s", "× local", "max |Δ| to local"], rows))
    print(table)
    write_results("ray_build", {"users": args.users, "chunks": chunks, "repeats": args.repeats,
                                "ray_start_s": ray_start, "load_average": load, "systems": figures}, table)


if __name__ == "__main__":
    main()
