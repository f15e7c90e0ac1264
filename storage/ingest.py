"""Bulk, transactional ingest of validated records (one transaction per call).

Users are written in batches with Core ``executemany`` inserts. Upsert by ``user_id``:
an existing user keeps its primary key (= its FAISS id) and has its chunks, labels,
traits and metadata replaced. A ``user_id`` repeated inside one input is an upsert too:
the later line wins (logged). Any error rolls the whole transaction back.
"""

from __future__ import annotations

import gc
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update
from tqdm.auto import tqdm

from storage.bulk import DeferredIndexes, bulk_insert, datetime_value, lock_writers, new_user_ids
from storage.records import StatementRecord, UserRecord, content_hash, is_held_out
from storage.rows import Rows, batches, new_statements
from storage.tables import Chunk, Label, Statement, StoreMeta, Trait, User, UserAttribute, batched, utcnow

logger = logging.getLogger(__name__)

USERS = User.__table__
CHILD_TABLES = (Chunk.__table__, Label.__table__, Trait.__table__, UserAttribute.__table__)


class IngestWriter:
    """Writes batches of records inside one open transaction (``ingest_transaction``); extended by
    ``storage.append.AppendWriter`` and the pipelined ingest's writer (``storage.pipeline``)."""

    def __init__(self, conn: Connection, indexes: DeferredIndexes | None = None) -> None:
        self.conn = conn
        self.indexes = indexes
        self.counts: Counter[str] = Counter()
        self.statement_ids: dict[str, int] = dict(conn.execute(select(Statement.text, Statement.id)).all())
        self._json_cache: dict[tuple, str] = {}  # shared by every batch's Rows

    def statements(self, records: list[StatementRecord]) -> None:
        by_text: dict[str, str | None] = {}
        for record in records:
            by_text[record["text"]] = record["category"]
        known = [{"b_id": self.statement_ids[t], "b_category": c} for t, c in by_text.items()
                 if t in self.statement_ids and c is not None]
        if known:
            self.conn.execute(update(Statement).where(Statement.id == bindparam("b_id"))
                              .values(category=bindparam("b_category")), known)
        self._insert_statements({t: c for t, c in by_text.items() if t not in self.statement_ids})

    def _insert_statements(self, texts: dict[str, str | None]) -> None:
        if not texts:
            return
        rows = [{"text": t, "category": c, "held_out": is_held_out(t)} for t, c in texts.items()]
        result = self.conn.execute(insert(Statement).returning(Statement.id, sort_by_parameter_order=True), rows)
        for row, (new_id,) in zip(rows, result):
            self.statement_ids[row["text"]] = new_id
        self.counts["statements_added"] += len(rows)

    def users(self, batch: list[UserRecord]) -> None:
        latest: dict[str, UserRecord] = {}
        for record in batch:
            latest[record["user_id"]] = record
        self.counts["duplicate_lines"] += len(batch) - len(latest)
        existing: dict[str, int] = {}
        for part in batched(list(latest)):
            existing.update(self.conn.execute(select(User.user_id, User.id).where(User.user_id.in_(part))).all())
        if existing and self.indexes is not None:
            self.indexes.restore()  # the deletes and reads of an upsert go by user_pk
        first_position = self.update_existing(latest, existing) if existing else {}
        fresh = [r for u, r in latest.items() if u not in existing]
        pk_of = dict(existing)
        if fresh:
            self._insert_users(fresh, pk_of)
            self.counts["users_added"] += len(fresh)
        self._children(latest, pk_of, first_position)

    def _insert_users(self, fresh: list[UserRecord], pk_of: dict[str, int]) -> None:
        """Insert new users; record their primary keys in ``pk_of``."""
        ids = new_user_ids(self.conn, len(fresh))
        if ids is None:
            rows = [{"user_id": r["user_id"], "split": r["split"], "metadata": r["metadata"],
                     "content_hash": content_hash(r), "num_chunks": len(r["chunks"])} for r in fresh]
            # RETURNING (id, user_id) and a map by the unique user_id: no row-order guarantee is
            # needed, so SQLAlchemy can batch the rows into multi-row INSERTs.
            pk_of.update((user_id, pk) for pk, user_id in
                         self.conn.execute(insert(USERS).returning(USERS.c.id, USERS.c.user_id), rows))
            return
        now = datetime_value(self.conn, utcnow())
        rows = Rows()
        for pk, record in zip(ids, fresh):
            rows.user(pk, record, now)
        bulk_insert(self.conn, USERS, rows.users)
        pk_of.update((r["user_id"], pk) for pk, r in zip(ids, fresh))

    def update_existing(self, latest: dict[str, UserRecord], existing: dict[str, int]) -> dict[str, int]:
        """Replace the stored users of ``existing`` (user_id -> pk) with their new records.

        Returns the position of each user's first chunk to write (here 0: all of them anew);
        ``storage.append.AppendWriter`` overrides this to keep what is stored.
        """
        pks = list(existing.values())
        for table in CHILD_TABLES:
            for part in batched(pks):
                self.conn.execute(delete(table).where(table.c.user_pk.in_(part)))
        self.conn.execute(
            update(USERS).where(USERS.c.id == bindparam("b_pk")).values(
                {"split": bindparam("b_split"), "metadata": bindparam("b_metadata"),
                 "content_hash": bindparam("b_hash"), "num_chunks": bindparam("b_n"),
                 "updated_at": utcnow()}),
            [{"b_pk": existing[u], "b_split": r["split"], "b_metadata": r["metadata"],
              "b_hash": content_hash(r), "b_n": len(r["chunks"])} for u, r in latest.items() if u in existing],
        )
        self.counts["users_replaced"] += len(existing)
        return {}

    def _children(self, latest: dict[str, UserRecord], pk_of: dict[str, int], first_position: dict[str, int]) -> None:
        self._insert_statements(new_statements(latest.values(), self.statement_ids))
        rows = Rows(self._json_cache)
        for user_id, record in latest.items():
            rows.children(pk_of[user_id], record, self.statement_ids, first_position.get(user_id, 0))
        self.insert_children(rows)

    def insert_children(self, rows: Rows) -> None:
        for table in CHILD_TABLES:
            bulk_insert(self.conn, table, rows.by_table()[table.name])
        self.counts["chunks"] += len(rows.chunks)
        self.counts["labels"] += len(rows.labels)


def bump_data_version(conn: Connection) -> None:
    """Increment ``store_meta.data_version`` inside the caller's transaction (caches of
    query filters key on it)."""
    meta = StoreMeta.__table__
    changed = conn.execute(update(meta).where(meta.c.key == "data_version").values(value=meta.c.value + 1))
    if changed.rowcount == 0:
        conn.execute(insert(meta).values(key="data_version", value=1))


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while records stream through (reference counting
    still frees every batch: records hold no cycles). Each collection walks every live
    container, a batch of records included, so it ran thousands of times per file and
    took about a quarter of ingest's CPU (benchmarks/ingest.py)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def ingest_transaction(engine: Engine, statements: Iterable[StatementRecord] = (),
                       writer_class: type[IngestWriter] = IngestWriter) -> Iterator[IngestWriter]:
    """One writing transaction: the writers' lock, a new data version, the statement pool
    written; yields the writer. Commits on exit, rolls everything back on an exception."""
    with gc_paused(), engine.begin() as conn:
        # The write lock first, then every read: a writer that read the statements before
        # another ingest committed new ones would insert them again (UNIQUE violation).
        lock_writers(conn)
        bump_data_version(conn)  # on SQLite, the first write takes the database's write lock
        indexes = DeferredIndexes(conn)
        writer = writer_class(conn, indexes)
        pool = list(statements)
        if pool:
            writer.statements(pool)
            writer.counts["pool_statements"] = len(pool)
        yield writer
        indexes.restore()


def counts_of(writer: IngestWriter, append: bool = False) -> dict[str, int]:
    if writer.counts["duplicate_lines"]:
        logger.warning("%d line(s) repeated a user_id seen earlier in the same batch; the later line won",
                       writer.counts["duplicate_lines"])
    keys = ("users_added", "users_replaced", "duplicate_lines", "chunks", "labels", "statements_added",
            "pool_statements") + (("users_appended", "chunks_already_stored") if append else ())
    return {key: writer.counts.get(key, 0) for key in keys}


def ingest_records(engine: Engine, users: Iterable[UserRecord], statements: Iterable[StatementRecord] = (),
                   *, batch_size: int = 2000, progress: bool = False, append: bool = False) -> dict[str, int]:
    """Write a statement pool and users in ONE transaction; return counts.

    ``users`` may be a lazy iterator that raises (e.g. ``IngestError`` on a bad line):
    the transaction is then rolled back and nothing is written. ``append``: a user already
    stored keeps their history and gets the line's chunks added (``storage.append``).
    """
    if append:
        from storage.append import AppendWriter as writer_class
    else:
        writer_class = IngestWriter
    with ingest_transaction(engine, statements, writer_class) as writer, \
            tqdm(desc="ingest", unit=" users", disable=not progress) as bar:
        for batch in batches(users, batch_size):
            writer.users(batch)
            bar.update(len(batch))
    return counts_of(writer, append)


def ingest_files(engine: Engine, users_path, statements_path=None, *, batch_size: int = 2000,
                 progress: bool = False, append: bool = False, pipeline: bool | None = None) -> dict[str, int]:
    """Ingest a ``users.jsonl`` (and optional statement pool) in one transaction.

    A bad line anywhere raises ``IngestError("path:line: ...")`` and writes nothing.
    ``pipeline``: read and validate in a second process while this one writes
    (``storage.pipeline``; SQLite, not with ``append``); default: for files of 16 MB and more
    when a core is spare.
    """
    from storage.jsonl import read_statements, read_users
    from storage.pipeline import ingest_pipelined, wanted

    statements = read_statements(statements_path) if statements_path is not None else ()
    if not append and wanted(engine, Path(users_path), pipeline):
        return ingest_pipelined(engine, Path(users_path), statements, batch_size=batch_size, progress=progress)
    return ingest_records(engine, read_users(users_path), statements, batch_size=batch_size, progress=progress,
                          append=append)
