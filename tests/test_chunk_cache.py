"""The chunk-vector cache file: a clustered (WITHOUT ROWID) table, and files of the older
rowid layout still read and written as they are."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import numpy as np

from uue.model.chunk_cache import COLUMNS, ChunkVectorCache, chunk_key, purge_chunks

TEXTS = [f"post {i}" for i in range(50)]


def vectors(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 4), dtype=np.float32)


def old_layout(path: Path, dim: int) -> None:
    """A cache file as written before the clustered table."""
    db = sqlite3.connect(path)
    db.execute(f"CREATE TABLE vectors ({COLUMNS})")
    db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('dim', ?)", (str(dim),))
    db.commit()
    db.close()


def table_sql(path: Path) -> str:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT sql FROM sqlite_master WHERE name = 'vectors'").fetchone()[0]
    finally:
        db.close()


def round_trip(cache: ChunkVectorCache, directory: Path) -> None:
    keys, values = [chunk_key(t) for t in TEXTS], vectors(len(TEXTS), 0)
    cache.put(keys[:30], values[:30])
    cache.put(keys[20:], values[20:] + 1)  # replaces 10 of them
    got = cache.get(list(reversed(keys)) + [chunk_key("never stored")] + keys[:3])
    assert set(got) == set(keys) and len(cache) == len(TEXTS)
    np.testing.assert_array_equal(np.stack([got[k] for k in keys[:20]]), values[:20])
    np.testing.assert_array_equal(np.stack([got[k] for k in keys[20:]]), values[20:] + 1)
    cache.close()
    assert purge_chunks(directory, TEXTS[:5] + ["never stored"]) == 5


def test_new_files_are_clustered_on_the_key(tmp_path: Path) -> None:
    cache = ChunkVectorCache.for_encoder(tmp_path, "a" * 24, 4)
    assert cache.clustered and cache.path is not None
    round_trip(cache, tmp_path)
    assert "WITHOUT ROWID" in table_sql(cache.path).upper()
    assert len(ChunkVectorCache.for_encoder(tmp_path, "a" * 24, 4)) == len(TEXTS) - 5
    assert ChunkVectorCache(None, 4).clustered


def test_a_file_of_the_older_rowid_layout_is_read_and_written_as_it_is(tmp_path: Path, caplog) -> None:
    path = tmp_path / f"chunks-{'b' * 24}.sqlite"
    old_layout(path, 4)
    with caplog.at_level(logging.INFO, logger="uue.model.chunk_cache"):
        cache = ChunkVectorCache.for_encoder(tmp_path, "b" * 24, 4)
    assert not cache.clustered and "older rowid layout" in caplog.text
    round_trip(cache, tmp_path)
    assert "WITHOUT ROWID" not in table_sql(path).upper()  # not rewritten behind the user's back
    assert len(ChunkVectorCache(path, 4)) == len(TEXTS) - 5
