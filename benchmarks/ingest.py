"""Ingest throughput: `uue ingest`'s code path vs a plain SQLAlchemy Core executemany.

Both read the same synthetic users.jsonl and write the same rows (users, chunks,
statements, labels, traits, user metadata) into the same schema in a fresh store (a
SQLite file with the same pragmas, or a fresh PostgreSQL schema), each in its own
process (so peak RSS and CPU time are its own). Ours also validates every line, hashes
each user's content and upserts by user_id; the peer only parses JSON and inserts with
Core executemany. On SQLite ours runs twice: in one process, and pipelined (a second
process reads, validates and builds rows while the first writes, ``storage.pipeline``;
``uue ingest`` pipelines a file of 16 MB or more when a core is spare). On PostgreSQL
ours runs with COPY (the default) and with SQLAlchemy's multi-row INSERT ... RETURNING
(``storage.bulk.POSTGRES_METHOD``).

    python -m benchmarks.ingest --users 100000                    # SQLite, ~1M chunks
    python -m benchmarks.ingest --users 100000 --db postgresql    # a throwaway local server
    python -m benchmarks.ingest --db postgresql --url postgresql://user:pw@host/db   # your server

CPU seconds (of every process of the run: the reader process included) are reported
beside wall time: on a shared machine wall time also counts the time other processes held
the cores. The load average at the start and end of the run is recorded with the results.
Peak RSS is the writing process's peak plus the reader process's peak.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BATCH = 2000
ROOT = Path(__file__).resolve().parent.parent


def cpu_seconds() -> float:
    """CPU seconds of this process and of its children that have ended (the reader process)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_ours(path: Path, url: str, method: str = "copy", pipeline: bool | None = None) -> dict:
    from storage import bulk
    from storage.ingest import ingest_files
    from storage.store import Store

    bulk.POSTGRES_METHOD = method
    store = Store(url)
    start, cpu = time.perf_counter(), cpu_seconds()
    counts = ingest_files(store.engine, path, pipeline=pipeline)
    return {"seconds": time.perf_counter() - start, "cpu_seconds": cpu_seconds() - cpu, "chunks": counts["chunks"]}


def run_plain(path: Path, url: str) -> dict:
    """The peer: parse each line and insert the SAME rows as ours (users, chunks,
    statements, labels, traits, user metadata) with plain Core executemany — no
    validation, no upsert, ids assigned in Python."""
    from sqlalchemy import insert

    from storage.records import is_held_out
    from storage.store import Store
    from storage.tables import Chunk, Label, Statement, Trait, User, UserAttribute

    engine = Store(url).engine  # same schema, same pragmas
    tables = {t.name: t for t in (User.__table__, Chunk.__table__, Statement.__table__, Label.__table__,
                                  Trait.__table__, UserAttribute.__table__)}
    start, cpu = time.perf_counter(), cpu_seconds()
    n_chunks, next_pk, statement_ids = 0, 1, {}
    rows: dict[str, list[dict]] = {name: [] for name in tables}
    with engine.begin() as conn, path.open("rb") as handle:

        def flush() -> None:
            for name in ("statements", "users", "chunks", "labels", "traits", "user_attributes"):
                if rows[name]:
                    conn.execute(insert(tables[name]), rows[name])
                    rows[name].clear()

        for line in handle:
            obj = json.loads(line)
            pk = next_pk
            next_pk += 1
            rows["users"].append({"id": pk, "user_id": obj["user_id"], "split": "train",
                                  "metadata": obj.get("metadata") or {}, "content_hash": "",
                                  "num_chunks": len(obj["chunks"])})
            for position, c in enumerate(obj["chunks"]):
                rows["chunks"].append({"user_pk": pk, "position": position, "text": c["text"],
                                       "platform": c.get("platform"), "timestamp": c.get("timestamp"),
                                       "metadata": c.get("metadata") or None})
            for positive, key in ((False, "negative_statements"), (True, "statements")):
                for text in obj.get(key, []):
                    if text not in statement_ids:
                        statement_ids[text] = len(statement_ids) + 1
                        rows["statements"].append({"id": statement_ids[text], "text": text, "category": None,
                                                   "held_out": is_held_out(text)})
                    rows["labels"].append({"user_pk": pk, "statement_id": statement_ids[text], "positive": positive})
            rows["traits"].extend({"user_pk": pk, "name": k, "value": v} for k, v in obj.get("traits", {}).items())
            rows["user_attributes"].extend({"user_pk": pk, "key": k, "value": str(v)}
                                           for k, v in obj.get("metadata", {}).items())
            n_chunks += len(obj["chunks"])
            if len(rows["users"]) >= BATCH:
                flush()
        flush()
    return {"seconds": time.perf_counter() - start, "cpu_seconds": cpu_seconds() - cpu, "chunks": n_chunks}


KINDS = {"ours": lambda path, url: run_ours(path, url, pipeline=False),
         "ours-insert": lambda path, url: run_ours(path, url, "insert"),
         "ours-pipelined": lambda path, url: run_ours(path, url, pipeline=True), "plain": run_plain}
LABELS = {"ours": "uue ingest (validate + hash + upsert), one process",
          "ours-insert": "uue ingest, multi-row INSERT instead of COPY",
          "ours-pipelined": "uue ingest, pipelined (a reader process + the writing process)",
          "plain": "plain SQLAlchemy Core executemany, same rows"}


def worker(kind: str, path: Path, url: str) -> None:
    result = KINDS[kind](path, url)
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    result["peak_rss_mb"] = (own.ru_maxrss + children.ru_maxrss) / 1024
    print(json.dumps(result))


class Stores:
    """A fresh store per run: a SQLite file in ``tmp``, or a new schema on a PostgreSQL server."""

    def __init__(self, backend: str, tmp: Path, url: str | None) -> None:
        self.backend, self.tmp, self.url, self.server = backend, tmp, url, None
        if backend == "postgresql" and url is None:
            from storage.pg_sandbox import PostgresServer

            self.server = PostgresServer().start()

    def new(self, name: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.tmp / name}.db"
        if self.server is not None:
            return self.server.new_database()
        from sqlalchemy import create_engine, text

        from storage.store import database_url

        schema = f"bench_{name.replace('-', '_')}_{int(time.time())}"
        engine = create_engine(database_url(self.url))
        with engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        engine.dispose()
        return f"{self.url}{'&' if '?' in self.url else '?'}options=-csearch_path%3D{schema}"

    def cleanup(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{url[len('sqlite:///'):]}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


def measure(kind: str, path: Path, stores: Stores, i: int) -> dict:
    url = stores.new(f"{kind}-{i}")
    out = subprocess.run([sys.executable, "-m", "benchmarks.ingest", "--worker", kind, "--file", str(path),
                          "--url", url], check=True, capture_output=True, text=True, cwd=ROOT)
    stores.cleanup(url)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--url", help="PostgreSQL URL to use instead of a throwaway local server "
                                      "(a schema per run is created in it)")
    parser.add_argument("--worker", choices=list(KINDS))
    parser.add_argument("--file", type=Path)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.file, args.url)
        return

    from benchmarks._common import markdown_table, median, write_results
    from uue.data import load_dataset, write_jsonl

    kinds = ["plain", "ours"] + (["ours-insert"] if args.db == "postgresql" else ["ours-pipelined"])
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        stores = Stores(args.db, tmp, args.url if args.db == "postgresql" else None)
        try:
            sizes = {"quarter": args.users // 4, "half": args.users // 2, "full": args.users}
            files = {}
            for name, n in sizes.items():
                files[name] = tmp / f"users-{name}.jsonl"
                write_jsonl(load_dataset("synthetic", n_users=n, seed=7), files[name])
            runs: dict[str, list[dict]] = {kind: [] for kind in kinds}
            for i in range(args.repeats):
                for kind in kinds:  # interleaved: noise hits each alike
                    runs[kind].append(measure(kind, files["full"], stores, i))
            smaller = {(kind, name): measure(kind, files[name], stores, 90 + i)
                       for kind in kinds[1:2] + (["ours-pipelined"] if "ours-pipelined" in kinds else [])
                       for i, name in enumerate(("quarter", "half"))}
        finally:
            stores.close()
    load = {"start": load_before, "end": os.getloadavg(), "cores": os.cpu_count()}

    chunks = runs["ours"][0]["chunks"]
    rate = {k: median([chunks / r["seconds"] for r in v]) for k, v in runs.items()}
    cpu_rate = {k: median([chunks / r["cpu_seconds"] for r in v]) for k, v in runs.items()}
    rss = {k: median([r["peak_rss_mb"] for r in v]) for k, v in runs.items()}
    ratio = rate["ours"] / rate["plain"]
    rows = [[LABELS[k], chunks, rate[k], cpu_rate[k], rss[k]] for k in kinds]
    mode = {"ours": "one process, ", "ours-pipelined": "pipelined, "}
    rows += [[f"uue ingest, {mode[kind]}file 1/{4 if name == 'quarter' else 2} the size", r["chunks"],
              r["chunks"] / r["seconds"],
              r["chunks"] / r["cpu_seconds"], r["peak_rss_mb"]] for (kind, name), r in smaller.items()]
    table = markdown_table(["path", "chunks", "chunks/s (median)", "chunks per CPU-second", "peak RSS MB"], rows)
    backend = "SQLite" if args.db == "sqlite" else "PostgreSQL 15 (local, loopback; the server's CPU is not counted)"
    best = max((k for k in ("ours", "ours-pipelined") if k in rate), key=rate.get)
    table += (f"\n\n{backend}. ours / plain = **{ratio:.2f}x** (target >= 0.7x); ours = {rate['ours']:,.0f} chunks/s "
              f"one process, {rate[best]:,.0f} chunks/s {'pipelined' if best != 'ours' else 'one process'}: "
              f"**{'met' if rate[best] >= 100_000 else 'missed'}** (target >= 100k/s)")
    if "ours-insert" in rate:
        table += f"; COPY / multi-row INSERT = {rate['ours'] / rate['ours-insert']:.2f}x"
    if "ours-pipelined" in rate:
        table += (f"; pipelined / one process = {rate['ours-pipelined'] / rate['ours']:.2f}x wall, "
                  f"{cpu_rate['ours-pipelined'] / cpu_rate['ours']:.2f}x per CPU-second")
    for kind in [k for k in ("ours", "ours-pipelined") if (k, "half") in smaller]:
        table += (f"; peak RSS {'pipelined' if kind == 'ours-pipelined' else 'one process'} "
                  f"{smaller[(kind, 'quarter')]['peak_rss_mb']:.0f} / {smaller[(kind, 'half')]['peak_rss_mb']:.0f} / "
                  f"{rss[kind]:.0f} MB at 1/4 / 1/2 / full size")
    table += (f". Medians of {args.repeats} runs. "
              f"{load['cores']} cores, load average {load['start'][0]:.1f} at the start, {load['end'][0]:.1f} at the end "
              + ("(other jobs shared the cores: wall figures are inflated by them, CPU-second figures much less)."
                 if load["start"][0] > 1.5 or load["end"][0] > 1.5 else "(a quiet machine)."))
    print(table)
    name = "ingest" if args.db == "sqlite" else "ingest_postgresql"
    write_results(name, {"users": args.users, "db": args.db, "chunks": chunks, "chunks_per_s": rate,
                         "chunks_per_cpu_s": cpu_rate, "ratio": ratio, "peak_rss_mb": rss,
                         "peak_rss_mb_smaller": {f"{k[0]} {k[1]}": v["peak_rss_mb"] for k, v in smaller.items()},
                         "load": load,
                         "runs": runs}, table)


if __name__ == "__main__":
    main()
