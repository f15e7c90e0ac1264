"""The chunk-vector cache's two table layouts as the file grows and as rows widen: a
clustered table (``WITHOUT ROWID``: one B-tree per lookup) vs a rowid table with a BLOB
primary key (the key index, then the table), and which one ``clustered_layout`` picks;
each at the page sizes of ``--page-sizes`` (SQLite's default 4 KiB, and ``FILE_PAGE_SIZE``,
what new cache files get).

For each width D and size N, a cache file of N random 16-byte keys -> D-d float32 vectors
is written in each layout with ``ChunkVectorCache.put``-shaped inserts (blocks of 15,000
keys in random order, one transaction each, as an index build writes them; put CPU per row),
then ``get`` reads K random stored keys: 40,000 (one streamed-training block, 4,096 users of
~9.5 chunks) and 600 (one batch of 64 users). Figures are CPU microseconds (the machine is
shared: CPU time, not wall), medians of the repetitions, and the file size.

    python -m benchmarks.chunk_cache [--rows 2800000,9400000] [--dims 32] [--workdir DIR]
    python -m benchmarks.chunk_cache --rows 300000 --dims 32,384 --out chunk_cache_width
    python -m benchmarks.chunk_cache --rows 300000 --dims 384 --page-sizes 4096,16384 --out chunk_cache_pages

Writes ``benchmarks/results/OUT.json`` and ``OUT.md`` (default ``chunk_cache``).
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._common import markdown_table, median, write_results
from uue.model.chunk_cache import COLUMNS, FILE_PAGE_SIZE, ChunkVectorCache, clustered_layout

LOOKUPS = {"block": (40_000, 5), "batch": (600, 30)}  # keys per get, repetitions
PUT_BLOCK = 15_000
LAYOUTS = {"rowid": "", "clustered": " WITHOUT ROWID"}


def keys_of(n: int) -> np.ndarray:
    return np.random.default_rng(n).integers(0, 256, size=(n, 16), dtype=np.uint8)


def build(path: Path, n: int, dim: int, layout: str, page_size: int) -> float:
    """Write the file in ``layout`` with pages of ``page_size``; returns the CPU microseconds per row of the
    inserts."""
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA page_size={page_size}")
    db.execute("PRAGMA journal_mode=WAL")  # as ChunkVectorCache opens it
    db.execute(f"CREATE TABLE vectors ({COLUMNS}){LAYOUTS[layout]}")
    db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('dim', ?)", (str(dim),))
    db.commit()
    rng, keys = np.random.default_rng(0), keys_of(n)
    started = time.process_time()
    for start in range(0, n, PUT_BLOCK):
        part = keys[start:start + PUT_BLOCK]
        values = rng.standard_normal((len(part), dim), dtype=np.float32)
        with db:
            db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                           ((k.tobytes(), v.tobytes()) for k, v in zip(part, values)))
    spent = time.process_time() - started
    db.close()
    return spent / n * 1e6


def lookups(path: Path, n: int, dim: int) -> dict[str, float]:
    """CPU microseconds per key of ``get``, per lookup size."""
    cache, keys, rng = ChunkVectorCache(path, dim), keys_of(n), np.random.default_rng(1)
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
    parser.add_argument("--dims", default="32", help="comma-separated vector widths")
    parser.add_argument("--page-sizes", default=str(FILE_PAGE_SIZE), help="comma-separated SQLite page sizes")
    parser.add_argument("--workdir", default=None, help="where the files go (deleted after each size)")
    parser.add_argument("--out", default="chunk_cache", help="results file stem in benchmarks/results/")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="uue-chunk-cache-"))
    work.mkdir(parents=True, exist_ok=True)
    runs, rows = [], []
    pages = [int(p) for p in args.page_sizes.split(",")]
    for dim in (int(d) for d in args.dims.split(",")):
        for n in (int(r) for r in args.rows.split(",")):
            result: dict = {"dim": dim, "rows": n, "chosen": "clustered" if clustered_layout(dim) else "rowid"}
            for layout in LAYOUTS:
                for page in pages:
                    path = work / f"{layout}-{page}-{dim}-{n}.sqlite"
                    path.unlink(missing_ok=True)
                    put = build(path, n, dim, layout, page)
                    result[f"{layout}/{page}"] = {"put_us_per_row": round(put, 2), **lookups(path, n, dim),
                                                  "file_mb": round(path.stat().st_size / 2**20)}
                    path.unlink()
            print(result, flush=True)
            runs.append(result)
            base = result[f"rowid/{pages[0]}"]
            for layout in LAYOUTS:
                for page in pages:
                    r = result[f"{layout}/{page}"]
                    chosen = layout == result["chosen"] and page == FILE_PAGE_SIZE
                    rows.append([dim, f"{n:,}", layout + (" (chosen)" if chosen else ""), page,
                                 r["put_us_per_row"], r["block"], r["batch"], r["file_mb"],
                                 f"{base['block'] / r['block']:.2f}x", f"{base['put_us_per_row'] / r['put_us_per_row']:.2f}x"])
    table = markdown_table(["dim", "cache rows", "layout", "page bytes", "put CPU us/row", "get CPU us/key, 40k keys",
                            "get CPU us/key, 600 keys", "file MiB", f"rowid {pages[0]} / this, get", f"rowid {pages[0]} / this, put"], rows)
    print(table)
    write_results(args.out, {"lookups": LOOKUPS, "put_block": PUT_BLOCK, "runs": runs}, table)


if __name__ == "__main__":
    main()
