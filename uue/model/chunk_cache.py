"""Chunk vectors cached per token encoder, keyed by the chunk's content.

A user's vector is pooled from all their chunk vectors; the chunk vectors depend only on
the token encoder (backbone weights, token pooling, ``max_chunk_length``) and the text.
So they are cached under the encoder's fingerprint: an index build embeds only chunks
it has not seen and re-pools the users they belong to (a user with one new post costs
one chunk, not their history). With a locked backbone the base encoder and every model
trained from it share one cache.

The cache is a SQLite file (``chunks-<fingerprint>.sqlite``): keys are blake2b digests
of the chunk text, values raw float32 bytes; SQL with bound parameters only. The table's
layout follows the row size (``clustered_layout``): ``WITHOUT ROWID`` (clustered on the key,
one B-tree per lookup) for small vectors, where it is 1.12-1.16x faster per lookup, and a
rowid table with a key index for the vectors of real backbones (384-d and up), where rows of
1.5 KB and more make a clustered table several times slower and bigger
(``benchmarks/chunk_cache.py``). A file keeps the layout it was created with (same SQL
either way), and its page size: new files get 16 KiB pages (``FILE_PAGE_SIZE``). No
``mmap_size``: the mapped pages of a multi-GB cache would count in the resident memory of a
streamed training run.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from storage.errors import UUEError
from storage.schema import enable_wal

logger = logging.getLogger(__name__)

BATCH = 900  # keys per SELECT ... IN (...), under SQLite's bound-parameter limit
COLUMNS = "key BLOB PRIMARY KEY, vector BLOB NOT NULL"
PAGE_SIZE = 4096  # SQLite's default page size (the unit of the layout rule, as measured)
FILE_PAGE_SIZE = 16384  # the page size of new cache files
PAGE_CACHE_KIB = 64 * 1024  # SQLite page cache per open cache file
KEY_BYTES = 16
WAL_CHECKPOINT_PAGES = 2_500  # pages of WAL between automatic checkpoints (~40 MB at FILE_PAGE_SIZE)


def clustered_layout(dim: int) -> bool:
    """Whether a cache of ``dim``-d vectors gets a ``WITHOUT ROWID`` table: only for rows under
    ~1/20 of a page, SQLite's own rule of thumb for it, confirmed here (benchmarks/chunk_cache.py,
    300k rows): 32-d rows are read 1.22x faster clustered (written 2x slower: training reads each
    many times); 384-d rows are read 3.2x slower, written 3.7x slower and take 2.3x the disk."""
    return KEY_BYTES + 4 * int(dim) <= PAGE_SIZE // 20


class ChunkCacheError(UUEError):
    """The chunk-vector cache file cannot be used (another width, locked, corrupt)."""


def chunk_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class ChunkVectorCache:
    """``get`` / ``put`` chunk vectors of one encoder; ``path=None`` keeps them in memory."""

    def __init__(self, path: str | Path | None, dim: int) -> None:
        self.path = Path(path) if path is not None else None
        self.dim = int(dim)
        try:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # a writer (training, a build) may hold the file for a while: wait for it
            self._db = sqlite3.connect(str(self.path) if self.path is not None else ":memory:", timeout=120)
            # New files get 16 KiB pages (a file keeps the page size it was created with): 10 rows of 384-d
            # vectors per page rather than 2 in 4 KiB, so a put writes ~40% less (300k rows: 2.0 s against
            # 3.2-3.5 s wall; a bare lookup ~7% slower; the file 20% smaller). Set before WAL fixes it.
            self._db.execute(f"PRAGMA page_size={FILE_PAGE_SIZE}")
            enable_wal(self._db, busy_timeout=120)  # two processes (Ray workers) may create the file at once
            # A cache needs no fsync per transaction (a lost last write is embedded again) and keeps its key
            # index in memory: 23% less CPU per put and ~30% per get at 400k 384-d rows than the defaults
            # (FULL, 2 MiB), more as the file outgrows the default page cache.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
            # One checkpoint per ~40 MB of WAL, not per 1,000 pages (SQLite's default): fewer checkpoints
            # of a build's puts of a few thousand 384-d vectors (4 KiB pages: 3.1 s wall against 3.7 s per
            # 300k rows; 16 KiB pages: 2.05 against 2.18 s).
            self._db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            layout = " WITHOUT ROWID" if clustered_layout(self.dim) else ""
            self._db.execute(f"CREATE TABLE IF NOT EXISTS vectors ({COLUMNS}){layout}")
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = self._db.execute("SELECT value FROM meta WHERE name = 'dim'").fetchone()
            if row is None:  # OR IGNORE: two processes (Ray workers) creating the file at once both get here
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('dim', ?)", (str(self.dim),))
                self._db.commit()
                row = self._db.execute("SELECT value FROM meta WHERE name = 'dim'").fetchone()
        except (OSError, sqlite3.Error) as exc:
            raise ChunkCacheError(f"cannot open the chunk-vector cache {self.path}: {exc}; it is safe to delete "
                                  "(it is rebuilt on use)") from None
        if self.path is not None and self.clustered != clustered_layout(self.dim):
            logger.info("chunk cache %s has the other table layout (slower for %d-d vectors): deleting it is safe, "
                        "it is rebuilt on use", self.path, self.dim)
        if row is not None and int(row[0]) != self.dim:
            raise ChunkCacheError(f"chunk cache {self.path} holds {row[0]}-d vectors, not {self.dim}-d: delete it "
                                  "(it is rebuilt on use)")

    @classmethod
    def for_encoder(cls, directory: str | Path, fingerprint: str, dim: int) -> ChunkVectorCache:
        return cls(Path(directory) / f"chunks-{fingerprint[:24]}.sqlite", dim)

    @property
    def clustered(self) -> bool:
        """Whether the vectors table is ``WITHOUT ROWID`` (``clustered_layout``; a file keeps the layout it was
        created with)."""
        sql = self._db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'vectors'").fetchone()
        return sql is not None and "WITHOUT ROWID" in sql[0].upper()

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM vectors").fetchone()[0])

    def get(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """The stored vectors of these keys, by key (absent keys are left out)."""
        return {key: np.frombuffer(blob, dtype=np.float32) for key, blob in self._blobs(keys).items()}

    def lookup(self, keys: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, vectors)``: the positions in ``keys`` that are stored, and their vectors as one
        writable float32 ``[len(rows), dim]`` array (one copy of the stored bytes, not an array per key)."""
        blobs = self._blobs(keys)
        rows = [i for i, key in enumerate(keys) if key in blobs]
        data = bytearray().join(blobs[keys[i]] for i in rows)
        return np.asarray(rows, dtype=np.int64), np.frombuffer(data, dtype=np.float32).reshape(len(rows), self.dim)

    def _blobs(self, keys: Sequence[bytes]) -> dict[bytes, bytes]:
        out: dict[bytes, bytes] = {}
        unique = list(dict.fromkeys(keys))
        try:
            for start in range(0, len(unique), BATCH):
                part = unique[start:start + BATCH]
                marks = ",".join("?" * len(part))
                out.update(self._db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", part))
        except sqlite3.Error as exc:
            raise ChunkCacheError(f"cannot read the chunk-vector cache {self.path}: {exc}") from None
        return out

    def put(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(keys), self.dim):
            raise ValueError(f"expected {len(keys)} x {self.dim} vectors, got {vectors.shape}")
        try:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                                     ((k, v.tobytes()) for k, v in zip(keys, vectors)))
        except sqlite3.Error as exc:
            raise ChunkCacheError(f"cannot write the chunk-vector cache {self.path}: {exc}") from None

    def close(self) -> None:
        self._db.close()


def purge_chunks(directory: str | Path, texts: Sequence[str]) -> int:
    """Delete the vectors of these chunk texts from every cache file in ``directory`` (a
    deleted user's chunks); returns how many were removed. Other users' chunks with the same
    text are simply embedded again when next needed."""
    files = sorted(Path(directory).glob("chunks-*.sqlite")) if Path(directory).is_dir() else []
    keys = list(dict.fromkeys(chunk_key(t) for t in texts))
    removed = 0
    for path in files:
        try:
            db = sqlite3.connect(str(path), timeout=120)
            try:
                with db:
                    for start in range(0, len(keys), BATCH):
                        part = keys[start:start + BATCH]
                        marks = ",".join("?" * len(part))
                        removed += db.execute(f"DELETE FROM vectors WHERE key IN ({marks})", part).rowcount
            finally:
                db.close()
        except sqlite3.Error as exc:
            raise ChunkCacheError(f"cannot delete from the chunk-vector cache {path}: {exc}; deleting the file "
                                  "is safe (it is rebuilt on use)") from None
    return removed


class CachedEmbedder:
    """A dual encoder whose user side reads chunk vectors through the cache of its token
    encoder (``Embedder`` protocol: ``encode_users`` / ``encode_statements``): the
    evaluation of a locked model and of its untrained base share one set of chunk vectors.
    ``cache`` is a ``ChunkVectorCache``, or a directory to open the encoder's cache file in."""

    def __init__(self, model, cache: ChunkVectorCache | str | Path) -> None:
        self.model = model
        if not isinstance(cache, ChunkVectorCache):
            cache = ChunkVectorCache.for_encoder(cache, model.encoder_fingerprint(), model.encoder.hidden_size)
        self.cache = cache

    @property
    def embedding_dim(self) -> int:
        return self.model.embedding_dim

    def encode_users(self, histories: list[list[str]], batch_size: int = 64, show_progress: bool = False
                     ) -> np.ndarray:
        return self.model.encode_users(histories, batch_size=batch_size, show_progress=show_progress, cache=self.cache)

    def encode_statements(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        return self.model.encode_statements(texts, batch_size=batch_size, show_progress=show_progress)
