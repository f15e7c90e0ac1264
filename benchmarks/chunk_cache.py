"""Chunk-vector cache lookups as the file grows: the clustered table (``WITHOUT ROWID``,
ours) vs the older rowid table with a BLOB primary key (two B-trees per lookup).

For each size N, a cache file of N random 16-byte keys -> 32-d float32 vectors is written
in each layout (keys in random order, as chunks arrive user by user), then
``ChunkVectorCache.get`` reads K random stored keys: 40,000 (one streamed-training block,
4,096 users of ~9.5 chunks) and 600 (one batch of 64 users). Figures are CPU microseconds
per key, medians of the repetitions (the machine is shared: CPU time, not wall). A third
row, ours with ``PRAGMA mmap_size`` (2 GiB), is shown for reference: not the default,
since the mapped pages of a multi-GB cache count in a training run's resident memory.

    python -m benchmarks.chunk_cache [--rows 2800000,9400000] [--workdir DIR]

Writes ``benchmarks/results/chunk_cache.json`` and ``chunk_cache.md``.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._common import markdown_table, median, write_results
from uue.model.chunk_cache import COLUMNS, ChunkVectorCache

DIM = 32
LOOKUPS = {"block": (40_000, 5), "batch": (600, 30)}  # keys per get, repetitions


def keys_of(n: int) -> np.ndarray:
    return np.random.default_rng(n).integers(0, 256, size=(n, 16), dtype=np.uint8)


def build(path: Path, n: int, layout: str) -> None:
    """Write the file: the schema as ``ChunkVectorCache`` creates it (ours) or as it did before."""
    if layout == "ours":
        ChunkVectorCache(path, DIM).close()
    else:
        db = sqlite3.connect(path)
        db.execute(f"CREATE TABLE vectors ({COLUMNS})")
        db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('dim', ?)", (str(DIM),))
        db.commit()
        db.close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA cache_size = -1000000")  # a fast build only; lookups run with the defaults
    rng, keys = np.random.default_rng(0), keys_of(n)
    with db:
        for start in range(0, n, 200_000):
            part = keys[start:start + 200_000]
            values = rng.standard_normal((len(part), DIM), dtype=np.float32)
            db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                           ((k.tobytes(), v.tobytes()) for k, v in zip(part, values)))
    db.close()


def lookups(path: Path, n: int, mmap: bool = False) -> dict[str, float]:
    """CPU microseconds per key of ``get``, per lookup size."""
    cache, keys, rng = ChunkVectorCache(path, DIM), keys_of(n), np.random.default_rng(1)
    if mmap:
        cache._db.execute("PRAGMA mmap_size = 2147418112").fetchall()
    out = {}
    for name, (k, reps) in LOOKUPS.items():
        cache.get([keys[i].tobytes() for i in rng.integers(0, n, k)])  # warm-up
        times = []
        for _ in range(reps):
            wanted = [keys[i].tobytes() for i in rng.integers(0, n, k)]
            started = time.process_time()
            found = cache.get(wanted)
            times.append((time.process_time() - started) / k * 1e6)
            assert len(found) == len(set(wanted))
        out[name] = round(median(times), 2)
    cache.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="2800000,9400000", help="comma-separated cache sizes (rows)")
    parser.add_argument("--workdir", default=None, help="where the files go (reused when already written)")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="uue-chunk-cache-"))
    work.mkdir(parents=True, exist_ok=True)
    runs, rows = [], []
    for n in (int(r) for r in args.rows.split(",")):
        result: dict = {"rows": n}
        for layout in ("old", "ours"):
            path = work / f"{layout}-{n}.sqlite"
            if not path.is_file() or len(ChunkVectorCache(path, DIM)) != n:
                path.unlink(missing_ok=True)
                started = time.process_time()
                build(path, n, layout)
                result[f"{layout}_build_cpu_s"] = round(time.process_time() - started, 1)
            result[layout] = lookups(path, n)
        result["ours_mmap"] = lookups(work / f"ours-{n}.sqlite", n, mmap=True)
        print(result, flush=True)
        runs.append(result)
        for name, label in (("old", "old rowid table"), ("ours", "ours (WITHOUT ROWID)"),
                            ("ours_mmap", "ours + mmap_size (not default)")):
            rows.append([f"{n:,}", label, result[name]["block"], result[name]["batch"],
                         f"{result['old']['block'] / result[name]['block']:.2f}x",
                         f"{result['old']['batch'] / result[name]['batch']:.2f}x"])
    table = markdown_table(["cache rows", "layout", "CPU us/key, 40k keys (block)", "CPU us/key, 600 keys (batch)",
                            "old / this, block", "old / this, batch"], rows)
    print(table)
    write_results("chunk_cache", {"dim": DIM, "lookups": LOOKUPS, "runs": runs}, table)


if __name__ == "__main__":
    main()
