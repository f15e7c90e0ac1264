"""Serving benchmark: `uue serve` over HTTP beside the same queries on a warm in-process `Searcher`.

    .venv/bin/python -m benchmarks.serve --users 100000 --seconds 4

Data: `--users` synthetic users (`uue datasets synthetic`, seed 1) ingested into a real
store; the active model is the packaged all-MiniLM-L6-v2 (untrained UUE model: the
statement side is the pretrained encoder), which embeds the statement pool and every
free-text statement, in the server and in-process alike. The **user** vectors come from
a hashing bag-of-words embedder (scikit-learn's `HashingVectorizer`, 384 features, the
mean of a user's chunk vectors): embedding 100k histories with MiniLM takes hours on 2
CPUs, and a Flat search costs the same whatever the vectors hold. Queries: pool
statements (stored vectors), free-text statements (one MiniLM pass each), and `similar`
for random users.

Measured, for 1, 8 and 32 concurrent clients (threads; one keep-alive `httpx.Client` each;
the server is `uue serve` in its own process on 127.0.0.1): p50 / p99 latency and
requests/s through HTTP, and the same queries on a warm in-process `Searcher`; "HTTP adds"
is the difference of the p50s. Each cell alternates in-process and HTTP slices, and also
records the CPU time per request of the process that answers (the server's, from /proc;
this one's in-process): on a shared machine wall time swings with the other jobs, CPU
time much less. Then the same load (8 clients, all three kinds) while two
full rebuilds (`build_indexes(full=True)`, what `uue index rebuild` runs, each in its own
process) replace the serving build: failed requests, and answers that differ from the
answer of the build before (the rebuilds are deterministic, so any difference would be an
answer from an incomplete build). Writes `benchmarks/results/serve.{json,md}`.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks._common import markdown_table, write_results

K = 10
FREE_TEXT = [
    "someone who spends weekends outdoors", "likes to cook for friends", "a person who follows politics closely",
    "enjoys quiet evenings with a book", "is into competitive online games", "travels abroad a lot",
    "cares about personal finance", "has young children", "works night shifts", "listens to a lot of jazz",
    "keeps fit at the gym", "is learning a new language", "grows vegetables at home", "follows football",
    "writes software for a living", "loves old films", "volunteers in the community", "has a dog",
    "collects vinyl records", "is saving for a house",
]


class HybridEmbedder:
    """Statements through the real model; users from a hashing bag-of-words (see the docstring)."""

    def __init__(self, model) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self.model, self.embedding_dim = model, model.embedding_dim
        self.hasher = HashingVectorizer(n_features=self.embedding_dim, alternate_sign=True, norm="l2")

    def encode_statements(self, texts, batch_size=64, show_progress=False):
        return self.model.encode_statements(texts, batch_size=batch_size, show_progress=show_progress)

    def encode_users(self, histories, batch_size=64, show_progress=False):
        flat = [t for h in histories for t in h]
        chunks = np.asarray(self.hasher.transform(flat).todense(), dtype=np.float32)
        starts = np.cumsum([0] + [len(h) for h in histories[:-1]])
        users = np.add.reduceat(chunks, starts, axis=0)
        return users / np.maximum(np.linalg.norm(users, axis=1, keepdims=True), 1e-12)

    def eval(self):
        return self


def active_hybrid(store):
    from uue.model.dual_encoder import UniversalUserEmbeddingModel

    row = store.active_model()
    return HybridEmbedder(UniversalUserEmbeddingModel.from_pretrained(row.path, checksum=row.checksum))


def prepare(home: Path, n_users: int) -> None:
    """Generate, ingest, register MiniLM, build (skipped when ``home`` already holds the build)."""
    from storage.store import Store
    from uue.data import load_dataset, write_jsonl
    from uue.model.config import ModelConfig
    from uue.model.dual_encoder import UniversalUserEmbeddingModel
    from uue.search.builds import build_indexes
    from uue.training.checkpoint import weights_checksum

    if (home / "ready").exists():
        return
    home.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    users, pool = home / "users.jsonl", home / "statements.jsonl"
    write_jsonl(load_dataset("synthetic", n_users=n_users, seed=1), users, pool, progress=True)
    with Store(f"sqlite:///{home / 'uue.db'}") as store:
        store.ingest_file(users, pool, progress=True)
        model = UniversalUserEmbeddingModel.from_config(ModelConfig())
        path = model.save_pretrained(home / "models" / "minilm")
        store.register_model(str(path), model.config.base_model_name, model.embedding_dim,
                             checksum=weights_checksum(path))
        build_indexes(store, home / "indexes", progress=True, model=active_hybrid(store), cache_dir=home / "cache")
    (home / "ready").write_text(f"{time.perf_counter() - t0:.0f} s\n")


def rebuild_worker(home: Path) -> None:
    from storage.store import Store
    from uue.search.builds import build_indexes

    with Store(f"sqlite:///{home / 'uue.db'}") as store:
        build_indexes(store, home / "indexes", full=True, progress=False, model=active_hybrid(store),
                      cache_dir=home / "cache")


# ---- load ---------------------------------------------------------------------------------


def percentiles(latencies: list[float]) -> tuple[float, float]:
    return float(np.percentile(latencies, 50) * 1e3), float(np.percentile(latencies, 99) * 1e3)


def run_load(call, requests: list, clients: int, seconds: float, stop: threading.Event | None = None):
    """``clients`` threads call ``call(state, request)`` (``state`` per thread, made by ``call(None, None)``
    before the clock starts, e.g. an HTTP client) for ``seconds`` (or until ``stop`` is set).
    Returns (latencies, failures, answers, wall seconds)."""
    latencies, failures, answers = [], [], []
    lock = threading.Lock()
    states = [call(None, None) for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)
    window: dict[str, float] = {}

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        mine, bad, seen = [], [], []
        barrier.wait()
        while (stop is None and time.perf_counter() < window["end"]) or (stop is not None and not stop.is_set()):
            request = rng.choice(requests)
            start = time.perf_counter()
            try:
                seen.append((request, call(states[seed], request)))
                mine.append(time.perf_counter() - start)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                bad.append(repr(exc)[:200])
        with lock:
            latencies.extend(mine)
            failures.extend(bad)
            answers.extend(seen)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    window["end"] = time.perf_counter() + seconds
    started = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join()
    for state in states:
        getattr(state, "close", lambda: None)()
    return latencies, failures, answers, time.perf_counter() - started


SLICES = 3  # each cell alternates in-process and HTTP slices, so drifting machine load hits both alike


def http_call(base: str):
    import httpx

    def call(client, request):
        if client is None:
            return httpx.Client(base_url=base, timeout=60)
        kind, value = request
        path = f"/users/{value}/similar" if kind == "similar" else "/audience"
        params = {"k": K} if kind == "similar" else {"text": value, "k": K}
        response = client.get(path, params=params)
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code} {response.text[:120]}")
        return tuple(h["user_id"] for h in response.json())

    return call


def searcher_call(searcher):
    def call(state, request):
        if state is None:
            return True
        kind, value = request
        hits = searcher.similar(value, K) if kind == "similar" else searcher.audience(value, K)
        return tuple(h.user_id for h in hits)

    return call


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system, all threads) of a process: this one, or ``pid`` from /proc."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(home: Path) -> tuple[subprocess.Popen, str]:
    import httpx

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("UUE_API_KEY")}
    proc = subprocess.Popen([sys.executable, "-m", "cli", "--home", str(home), "serve", "--port", str(port)],
                            env=env, stderr=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[1])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while True:
        try:
            if httpx.get(f"{url}/ready", timeout=60).json().get("ready"):
                return proc, url
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("uue serve did not become ready")
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=4.0, help="per cell of the table")
    parser.add_argument("--home", type=Path, default=None, help="workspace (default: /tmp/uue-bench-serve-N)")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--rebuilds", type=int, default=2, help="full rebuilds under load (0: skip that part)")
    parser.add_argument("--name", default="serve", help="results/NAME.{json,md}")
    parser.add_argument("--rebuild-worker", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rebuild_worker is not None:
        rebuild_worker(args.rebuild_worker)
        return

    from index.builds import active_build
    from storage.store import Store
    from uue.search.queries import Searcher

    home = args.home or Path(f"/tmp/uue-bench-serve-{args.users}")
    prepare(home, args.users)
    store = Store(f"sqlite:///{home / 'uue.db'}")
    rng = random.Random(0)
    pool = [t for _, t in store.statements()]
    user_ids = list(store.user_ids(rng.sample(store.user_pks(), 500)).values())
    kinds = {"audience (pool statement)": [("audience", t) for t in rng.sample(pool, min(100, len(pool)))],
             "audience (free text)": [("audience", t) for t in FREE_TEXT],
             "similar": [("similar", u) for u in user_ids]}
    searcher = Searcher(store)
    searcher.check_ready()
    for requests in kinds.values():  # warm both sides (model, indexes, page cache)
        run_load(searcher_call(searcher), requests, 1, 0.5)
    proc, url = start_server(home)
    rows, figures = [], {"users": store.count_users(), "k": K, "seconds_per_cell": args.seconds, "cells": []}
    try:
        for requests in kinds.values():
            run_load(http_call(url), requests, 1, 0.5)
        for name, requests in kinds.items():
            for clients in (int(c) for c in args.clients.split(",")):
                cell = {"query": name, "clients": clients}
                sides = {"in-process": searcher_call(searcher), "http": http_call(url)}
                measured = {side: ([], [], 0.0, 0.0) for side in sides}
                for _ in range(SLICES):
                    for side, call in sides.items():
                        pid = proc.pid if side == "http" else None  # the CPU that answers: server / this process
                        cpu = cpu_seconds(pid)
                        lat, failed, _, wall = run_load(call, requests, clients, args.seconds / SLICES)
                        cpu = cpu_seconds(pid) - cpu
                        old = measured[side]
                        measured[side] = (old[0] + lat, old[1] + failed, old[2] + wall, old[3] + cpu)
                for side, (lat, failed, wall, cpu) in measured.items():
                    p50, p99 = percentiles(lat)
                    cell[side] = {"p50_ms": p50, "p99_ms": p99, "rps": len(lat) / wall, "n": len(lat),
                                  "failed": len(failed), "cpu_ms_per_request": 1e3 * cpu / max(len(lat), 1)}
                cell["http_adds_p50_ms"] = cell["http"]["p50_ms"] - cell["in-process"]["p50_ms"]
                cell["http_adds_cpu_ms"] = cell["http"]["cpu_ms_per_request"] - cell["in-process"]["cpu_ms_per_request"]
                figures["cells"].append(cell)
                rows.append([name, clients, cell["in-process"]["p50_ms"], cell["in-process"]["p99_ms"],
                             cell["in-process"]["rps"], cell["http"]["p50_ms"], cell["http"]["p99_ms"],
                             cell["http"]["rps"], cell["http_adds_p50_ms"], cell["in-process"]["cpu_ms_per_request"],
                             cell["http"]["cpu_ms_per_request"], cell["http_adds_cpu_ms"], cell["http"]["failed"]])
                print(rows[-1], flush=True)

        if args.rebuilds:  # the same load while full rebuilds replace the serving build
            mixed = [r for requests in kinds.values() for r in requests]
            expected = {r: searcher_call(searcher)(True, r) for r in mixed}
            before = active_build(store, "users").id
            stop = threading.Event()
            result: dict = {}

            def load() -> None:
                result["load"] = run_load(http_call(url), mixed, 8, 0, stop=stop)

            loader = threading.Thread(target=load)
            loader.start()
            started = time.perf_counter()
            for _ in range(args.rebuilds):
                subprocess.run([sys.executable, __file__, "--rebuild-worker", str(home)], check=True)
            rebuild_seconds = time.perf_counter() - started
            time.sleep(1.0)  # a moment of load on the last build too
            stop.set()
            loader.join()
            lat, failed, answers, wall = result["load"]
            differing = sum(1 for request, answer in answers if answer != expected[request])
            after = active_build(store, "users").id
            p50, p99 = percentiles(lat)
            figures["during_rebuilds"] = {"requests": len(lat), "failed": len(failed), "failures": failed[:5],
                                          "answers_differing": differing, "p50_ms": p50, "p99_ms": p99,
                                          "rps": len(lat) / wall, "rebuild_seconds": rebuild_seconds,
                                          "users_build_before": before, "users_build_after": after}
    finally:
        proc.terminate()
        proc.wait(30)
    store.close()

    header = ["query", "clients", "in-process p50 ms", "p99 ms", "req/s", "HTTP p50 ms", "p99 ms", "req/s",
              "HTTP adds (p50) ms", "in-process CPU ms/req", "server CPU ms/req", "HTTP adds (CPU) ms", "failed"]
    load_avg = os.getloadavg()[0]
    d = figures.get("during_rebuilds")
    table = "\n".join([
        f"# Serving benchmark — {figures['users']:,} synthetic users, k={K}, {args.seconds:g} s per cell",
        "",
        f"2 CPUs shared (load average {load_avg:.1f} at the end); `uue serve` (FastAPI + uvicorn, one process) on "
        "127.0.0.1 beside a warm in-process `Searcher`; Flat index; MiniLM statement encoder; user vectors from a "
        "hashing embedder (benchmarks/serve.py docstring). Clients are threads in one Python process. CPU ms/req: "
        "CPU time of the answering process (the server's, from /proc; this process's in-process) per request — "
        "much less sensitive than wall time to the other jobs on the machine.",
        "",
        markdown_table(header, rows),
    ] + ([
        "",
        f"During {args.rebuilds} full rebuilds ({d['rebuild_seconds']:.0f} s, users build {d['users_build_before']} → "
        f"{d['users_build_after']}), 8 clients, mixed queries: **{d['requests']:,} requests, {d['failed']} failed, "
        f"{d['answers_differing']} answers differing** from the build before; p50 {d['p50_ms']:.1f} ms, "
        f"p99 {d['p99_ms']:.1f} ms, {d['rps']:.0f} req/s.",
    ] if d else []))
    print(table)
    write_results(args.name, figures, table)


if __name__ == "__main__":
    main()
