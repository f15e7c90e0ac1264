"""Streamed training's reads from the store as it grows: ours vs what they were before.

For each size N a cheap store is ingested (synthetic-shaped users: 9-10 short posts, 6
positive and 6 negative statements from a pool of 150; 80/10/10 split by hash), then, in
CPU seconds (the machine is shared), medians where repeated:

- ``setup``: the positive labels of the train split as ``TrainingData.from_store`` reads
  them — ours (``storage.splits.positive_labels``: pages of users, a bounded range scan
  each) vs the earlier keyset on ``(user_pk, statement_id)``, whose OR made SQLite sort
  every remaining label for each page (quadratic in N);
- ``block``: reading one block of 4,096 random train users for the steps — ours
  (``StoreSource.load``: chunk texts and positive statements) vs the earlier
  ``Store.iter_users(pks=...)`` (whole records), 5 blocks each.

    python -m benchmarks.train_stream [--users 100000,300000] [--peer-max 300000] [--workdir DIR]

Writes ``benchmarks/results/train_stream.json`` and ``train_stream.md``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._common import markdown_table, median, write_results

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec "
         "romeo sierra tango").split()
POOL = [f"statement number {k} about topic {k % 17}" for k in range(150)]
BLOCK, BLOCKS = 4096, 5


def write_users(path: Path, n: int) -> None:
    rng = np.random.default_rng(n)
    with path.open("w") as f:
        for u in range(n):
            chunks = [{"text": f"post {u} {j} " + " ".join(WORDS[w] for w in rng.integers(0, 20, 6)),
                       "platform": "forum", "timestamp": f"2022-05-{1 + j:02d}T07:57:24Z",
                       "metadata": {"board": "dogs"}} for j in range(9 + u % 2)]
            picked = rng.choice(len(POOL), 12, replace=False)
            f.write(json.dumps({"user_id": f"u{u:08d}", "chunks": chunks, "statements": [POOL[i] for i in picked[:6]],
                                "negative_statements": [POOL[i] for i in picked[6:]]}) + "\n")


def earlier_positive_labels(store, split: str, page: int = 20_000):
    """The positive-label pages as ``storage.splits`` read them before (the peer)."""
    from sqlalchemy import select

    from storage.tables import Label, Statement, User

    user, statement = 0, -1
    while True:
        with store.session() as s:
            rows = s.execute(select(Label.user_pk, Label.statement_id)
                             .join(User, User.id == Label.user_pk).join(Statement, Statement.id == Label.statement_id)
                             .where(User.split == split, Label.positive.is_(True), Statement.held_out.is_(False),
                                    (Label.user_pk > user) | ((Label.user_pk == user)
                                                              & (Label.statement_id > statement)))
                             .order_by(Label.user_pk, Label.statement_id).limit(page)).all()
        if not rows:
            return
        yield from rows
        user, statement = rows[-1]


def cpu(fn) -> tuple[float, object]:
    started = time.process_time()
    out = fn()
    return time.process_time() - started, out


def measure(root: Path, n: int, peer: bool) -> dict:
    from storage.splits import positive_labels
    from storage.store import Store
    from uue.training.data import StoreSource

    store = Store(f"sqlite:///{root / 'uue.db'}")
    if not store.count_users():
        write_users(root / "users.jsonl", n)
        store.ingest_file(root / "users.jsonl")
        (root / "users.jsonl").unlink()
    result: dict = {"n_users": n, "train_users": store.count_users(split="train")}
    ours, labels = cpu(lambda: sum(1 for _ in positive_labels(store, "train")))
    result["setup"] = {"labels": labels, "ours_cpu_s": round(ours, 2)}
    if peer:
        before, again = cpu(lambda: sum(1 for _ in earlier_positive_labels(store, "train")))
        assert again == labels
        result["setup"]["earlier_cpu_s"] = round(before, 2)
    pks = np.asarray(store.user_pks(split="train"), dtype=np.int64)
    source, rng = StoreSource(store, pks, {t: i for i, t in enumerate(POOL)}), np.random.default_rng(0)
    ours_s, earlier_s = [], []
    for _ in range(BLOCKS):
        block = np.sort(rng.choice(len(pks), BLOCK, replace=False))
        ours_s.append(cpu(lambda: source.load(block))[0])
        earlier_s.append(cpu(lambda: list(store.iter_users(pks=pks[block].tolist())))[0])
    result["block"] = {"users": BLOCK, "ours_cpu_s": round(median(ours_s), 3),
                       "earlier_cpu_s": round(median(earlier_s), 3)}
    store.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="100000,300000", help="comma-separated store sizes")
    parser.add_argument("--peer-max", type=int, default=300_000, help="largest size the earlier setup query runs at")
    parser.add_argument("--workdir", default=None, help="where the stores go (reused when already ingested)")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="uue-train-stream-"))
    runs, rows = [], []
    for n in (int(s) for s in args.users.split(",")):
        root = work / f"n{n}"
        root.mkdir(parents=True, exist_ok=True)
        result = measure(root, n, n <= args.peer_max)
        print(result, flush=True)
        runs.append(result)
        setup, block = result["setup"], result["block"]
        earlier = setup.get("earlier_cpu_s")
        rows.append([f"{n:,}", f"{result['train_users']:,}", f"{setup['labels']:,}", setup["ours_cpu_s"],
                     earlier if earlier is not None else "–",
                     f"{earlier / setup['ours_cpu_s']:.1f}x" if earlier is not None else "–",
                     block["ours_cpu_s"], block["earlier_cpu_s"],
                     f"{block['earlier_cpu_s'] / block['ours_cpu_s']:.1f}x"])
    table = markdown_table(["users", "train users", "positive labels", "setup CPU s, ours", "setup CPU s, earlier",
                            "earlier / ours", f"block of {BLOCK:,} CPU s, ours", "block CPU s, earlier (iter_users)",
                            "earlier / ours"], rows)
    print(table)
    write_results("train_stream", {"block": BLOCK, "blocks": BLOCKS, "runs": runs}, table)


if __name__ == "__main__":
    main()
