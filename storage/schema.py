"""The store's schema version, kept by Alembic (``storage/migrations``).

Opening a store brings its schema to the newest revision:

- an empty database gets today's tables (``Base.metadata.create_all``) and is stamped
  with the head revision, as Alembic's cookbook recommends for a fresh database;
- a database written before migrations existed (tables, no ``alembic_version``) runs
  every revision from the baseline, which adopts whatever tables it finds;
- a versioned database runs the revisions it lacks.

A store already at the head costs one read of ``alembic_version``. Upgrades run in one
transaction under a lock, so two processes opening an old store at once migrate it
once: ``BEGIN IMMEDIATE`` on SQLite (transactional DDL, foreign keys off so that a table
rebuild cannot cascade, and checked before commit), an advisory lock on PostgreSQL.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.pool import NullPool

from storage.tables import Base

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SCHEMA_LOCK = 0x55554531  # pg_advisory_xact_lock key held while the schema changes ("UUE1")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` for the store's migrations, bound to ``connection`` when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def enable_wal(dbapi_connection, busy_timeout: float) -> None:
    """``PRAGMA journal_mode=WAL`` on a new SQLite connection, retried until ``busy_timeout``.

    Switching a rollback-journal file to WAL needs the file to itself, and SQLite answers
    "database is locked" at once instead of calling the busy handler when another
    connection is opening it too (three processes opening a store written by other tools at
    the same moment: tests/test_migrations.py); once a file is in WAL mode this is a no-op."""
    deadline = time.monotonic() + busy_timeout
    delay = 0.01
    while True:
        try:
            dbapi_connection.execute("PRAGMA journal_mode=WAL").fetchall()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def upgrade_schema(engine: Engine, *, busy_timeout: float = 30.0) -> None:
    """Bring the store's schema to the head revision (see the module docstring)."""
    with engine.connect() as conn:
        if current_revision(conn) == head_revision():
            return
    try:
        _upgrade(engine, busy_timeout)
    finally:
        # SQLite: a pooled connection opened before the change may answer PRAGMA index_list
        # from its old schema; new connections read the new one.
        engine.dispose()


def _upgrade(engine: Engine, busy_timeout: float) -> None:
    with _schema_transaction(engine, busy_timeout) as conn:
        revision = current_revision(conn)  # again, under the lock: another process may have done it
        if revision == head_revision():
            return
        ours = set(Base.metadata.tables)
        if revision is None and not ours & set(inspect(conn).get_table_names()):
            Base.metadata.create_all(conn)
            MigrationContext.configure(conn).stamp(ScriptDirectory.from_config(alembic_config()), "head")
            logger.info("created the store's tables at schema revision %s", head_revision())
            return
        logger.info("upgrading the store's schema from revision %s to %s", revision or "(unversioned)",
                    head_revision())
        command.upgrade(alembic_config(conn), "head")


@contextmanager
def _schema_transaction(engine: Engine, busy_timeout: float) -> Iterator[Connection]:
    """One locked transaction in which DDL is transactional on every backend."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
            yield conn
        return
    # sqlite3's legacy transaction control would commit each DDL statement on its own:
    # take over BEGIN (SQLAlchemy's documented recipe), on a connection of our own.
    migrating = create_engine(engine.url, poolclass=NullPool)

    @event.listens_for(migrating, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        enable_wal(dbapi_connection, busy_timeout)

    @event.listens_for(migrating, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with migrating.begin() as conn:
            yield conn
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"schema upgrade left {len(broken)} dangling foreign key(s), e.g. {broken[0]}; "
                                   "rolled back")
    finally:
        migrating.dispose()
