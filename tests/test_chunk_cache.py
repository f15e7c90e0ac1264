"""The chunk-vector cache file: its table layout by row size (clustered WITHOUT ROWID for
small vectors, a rowid table for real backbones' widths), and files of the other layout
still read and written as they are."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from uue.model.chunk_cache import COLUMNS, ChunkVectorCache, chunk_key, clustered_layout, purge_chunks

TEXTS = [f"post {i}" for i in range(50)]


def vectors(n: int, seed: int, dim: int = 4) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim), dtype=np.float32)


def other_layout(path: Path, dim: int) -> None:
    """A cache file in the layout that ``dim`` does not get (e.g. written before layouts followed the row size)."""
    db = sqlite3.connect(path)
    db.execute(f"CREATE TABLE vectors ({COLUMNS}){'' if clustered_layout(dim) else ' WITHOUT ROWID'}")
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
    keys, values = [chunk_key(t) for t in TEXTS], vectors(len(TEXTS), 0, cache.dim)
    cache.put(keys[:30], values[:30])
    cache.put(keys[20:], values[20:] + 1)  # replaces 10 of them
    got = cache.get(list(reversed(keys)) + [chunk_key("never stored")] + keys[:3])
    assert set(got) == set(keys) and len(cache) == len(TEXTS)
    np.testing.assert_array_equal(np.stack([got[k] for k in keys[:20]]), values[:20])
    np.testing.assert_array_equal(np.stack([got[k] for k in keys[20:]]), values[20:] + 1)
    asked = [chunk_key("never stored"), keys[25], keys[3], chunk_key("nor this"), keys[3]]
    rows, found = cache.lookup(asked)  # positions of the stored keys, repeats included, and one array
    assert rows.tolist() == [1, 2, 4] and found.shape == (3, cache.dim) and found.flags.writeable
    np.testing.assert_array_equal(found, np.stack([values[25] + 1, values[3], values[3]]))
    assert cache.lookup([chunk_key("never stored")])[1].shape == (0, cache.dim)
    cache.close()
    assert purge_chunks(directory, TEXTS[:5] + ["never stored"]) == 5


def test_the_layout_follows_the_row_size() -> None:
    assert clustered_layout(4) and clustered_layout(32) and not clustered_layout(384) and not clustered_layout(1024)


@pytest.mark.parametrize("dim", [4, 384])
def test_new_files_get_the_layout_of_their_row_size(tmp_path: Path, dim: int) -> None:
    cache = ChunkVectorCache.for_encoder(tmp_path, "a" * 24, dim)
    assert cache.clustered == clustered_layout(dim) and cache.path is not None
    round_trip(cache, tmp_path)
    assert ("WITHOUT ROWID" in table_sql(cache.path).upper()) == clustered_layout(dim)
    assert len(ChunkVectorCache.for_encoder(tmp_path, "a" * 24, dim)) == len(TEXTS) - 5
    assert ChunkVectorCache(None, dim).clustered == clustered_layout(dim)


@pytest.mark.parametrize("dim", [4, 384])
def test_a_file_of_the_other_layout_is_read_and_written_as_it_is(tmp_path: Path, caplog, dim: int) -> None:
    path = tmp_path / f"chunks-{'b' * 24}.sqlite"
    other_layout(path, dim)
    with caplog.at_level(logging.INFO, logger="uue.model.chunk_cache"):
        cache = ChunkVectorCache.for_encoder(tmp_path, "b" * 24, dim)
    assert cache.clustered != clustered_layout(dim) and "other table layout" in caplog.text
    round_trip(cache, tmp_path)
    assert ("WITHOUT ROWID" in table_sql(path).upper()) != clustered_layout(dim)  # not rewritten behind the back
    assert len(ChunkVectorCache(path, dim)) == len(TEXTS) - 5


def test_new_files_get_large_pages_and_old_files_keep_theirs(tmp_path: Path) -> None:
    from uue.model.chunk_cache import FILE_PAGE_SIZE

    old = tmp_path / "old" / "chunks-x.sqlite"
    old.parent.mkdir()
    db = sqlite3.connect(old)
    db.execute("CREATE TABLE vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)")
    db.close()
    for path, size in ((tmp_path / "new" / "chunks-y.sqlite", FILE_PAGE_SIZE), (old, 4096)):
        cache = ChunkVectorCache(path, 384)
        cache.put([chunk_key("a")], vectors(1, 0, 384))
        cache.close()
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA page_size").fetchone()[0] == size
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.close()
