"""Bulk writes per backend, inside the caller's transaction, and the writers' lock.

Rows are tuples in ``INSERT_COLUMNS[table]`` order; JSON columns arrive already
serialised (by ``strict_json.dumps``). What each backend does best:

- SQLite: the tuples go straight to the driver's ``executemany`` (bound parameters,
  no per-row SQLAlchemy processing);
- PostgreSQL: ``COPY ... FROM STDIN`` through psycopg, rows streamed in the text format
  (no SQL is built from values; measured against SQLAlchemy's multi-row ``INSERT``:
  ``benchmarks/ingest.py --db postgresql``);
- anything else: a Core ``executemany``.

``DeferredIndexes``: a bulk load into an empty SQLite store drops the secondary indexes of
the tables it fills and builds each once at the end, in the same transaction (a rollback
brings them back as they were): one sort per index instead of a B-tree update per row.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import JSON, Connection, Table, func, insert, select, text

from storage import strict_json
from storage.tables import Chunk, DeletedUser, Label, User, UserAttribute

logger = logging.getLogger(__name__)

INSERT_COLUMNS = {
    "statements": ("id", "text", "category", "held_out"),
    "users": ("id", "user_id", "split", "metadata", "content_hash", "num_chunks", "updated_at"),
    "chunks": ("user_pk", "position", "text", "platform", "timestamp", "metadata"),
    "labels": ("user_pk", "statement_id", "positive"),
    "traits": ("user_pk", "name", "value"),
    "user_attributes": ("user_pk", "key", "value"),
}
POSTGRES_METHOD = "copy"  # or "insert": SQLAlchemy's multi-row INSERT (... RETURNING); benchmarks/ingest.py compares
SORT_CACHE_KIB = -8192  # PRAGMA cache_size while deferred indexes are built: 8 MiB (negative: KiB)
WRITERS_LOCK = 0x55554532  # pg_advisory_xact_lock key held by each writing transaction ("UUE2")


def lock_writers(conn: Connection) -> None:
    """One writing transaction (ingest, delete) at a time on PostgreSQL, as SQLite's write
    lock has it; readers never wait. Two writers would otherwise deadlock or collide on
    the new rows they share (statements, user ids). Released at commit or rollback."""
    if conn.dialect.name != "postgresql":
        return
    if not conn.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": WRITERS_LOCK}):
        logger.info("waiting for another ingest or delete on this store to finish")
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITERS_LOCK})


class DeferredIndexes:
    """The secondary indexes of ``users``, ``chunks``, ``labels`` and ``user_attributes``, dropped
    for a load into an empty SQLite store (no chunks) and created again by ``restore()``.

    Call ``restore()`` before reading or deleting by an indexed column (an upsert of a user
    seen earlier in the load) and before commit. Elsewhere it does nothing.
    """

    TABLES = (User.__table__, Chunk.__table__, Label.__table__, UserAttribute.__table__)

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dropped = []
        if conn.dialect.name != "sqlite" or conn.scalar(select(Chunk.id).limit(1)) is not None:
            return
        for table in self.TABLES:
            for index in sorted(table.indexes, key=lambda ix: ix.name):
                index.drop(conn)
                self.dropped.append(index)

    def restore(self) -> None:
        if not self.dropped:
            return
        # SQLite sorts in up to a page cache's worth of memory, then spills to temporary
        # files: with a small cache and the files on disk, peak memory stays flat in the
        # file size (the store's settings, ``storage.store._sqlite_pragmas``, are put back).
        cache_size = self.conn.exec_driver_sql("PRAGMA cache_size").scalar()
        self.conn.exec_driver_sql(f"PRAGMA cache_size={SORT_CACHE_KIB}")
        self.conn.exec_driver_sql("PRAGMA temp_store=FILE")
        try:
            for index in self.dropped:
                index.create(self.conn)
        finally:
            self.conn.exec_driver_sql("PRAGMA temp_store=MEMORY")
            self.conn.exec_driver_sql(f"PRAGMA cache_size={int(cache_size)}")
        self.dropped = []


def new_user_ids(conn: Connection, n: int) -> list[int] | None:
    """``n`` fresh primary keys for new users, never a deleted user's; ``None`` where the
    backend should number them itself (``INSERT ... RETURNING``).

    SQLite: above every stored and every deleted id (SQLite's own choice, the largest rowid
    + 1, could hand a deleted user's id, and with it their old vector, to a new user); the
    caller's transaction must already hold the write lock (it has written). PostgreSQL:
    from the sequence, which never hands out an id twice.
    """
    if conn.dialect.name == "sqlite":
        top = max(conn.scalar(select(func.max(User.id))) or 0, conn.scalar(select(func.max(DeletedUser.id))) or 0)
        return list(range(top + 1, top + 1 + n))
    if conn.dialect.driver == "psycopg" and POSTGRES_METHOD == "copy":
        return list(conn.scalars(text("SELECT nextval(pg_get_serial_sequence('users', 'id')) "
                                      "FROM generate_series(1, :n)"), {"n": n}))
    return None


def datetime_value(conn: Connection, value: datetime) -> datetime | str:
    """A ``DateTime`` column's value for ``bulk_insert``: SQLite keeps SQLAlchemy's text form."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if conn.dialect.name == "sqlite" else value


def bulk_insert(conn: Connection, table: Table, rows: list[tuple]) -> None:
    """Insert ``rows`` (tuples in ``INSERT_COLUMNS[table.name]`` order) the backend's fastest way."""
    if not rows:
        return
    columns = INSERT_COLUMNS[table.name]
    if conn.dialect.name == "sqlite":
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        conn.exec_driver_sql(sql, rows)
    elif conn.dialect.driver == "psycopg" and POSTGRES_METHOD == "copy":
        copy_rows(conn, table.name, columns, rows)
    else:
        json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
        conn.execute(insert(table), [
            {col: (strict_json.loads(v) if col in json_columns and v is not None else v)
             for col, v in zip(columns, row)} for row in rows])


def copy_rows(conn: Connection, table: str, columns: tuple[str, ...], rows) -> None:
    """``COPY table (columns) FROM STDIN`` on the connection's psycopg cursor (same transaction)."""
    with conn.connection.dbapi_connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
