"""Schema migrations (Alembic): a store written before migrations upgrades, on SQLite and PostgreSQL.

``data/store_before_migrations.sql`` is a SQLite dump of a store written by the code
before migrations existed (ingest of three users, a registered model, a recorded
index build). On PostgreSQL the same rows go into the tables that code created (the
frozen baseline revision).
"""

from __future__ import annotations

import importlib
import sqlite3
import threading
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, create_engine, inspect, select, text

from index.builds import list_builds
from storage.schema import alembic_config, current_revision, head_revision
from storage.store import Store, database_url
from storage.tables import Base

DUMP = Path(__file__).parent / "data" / "store_before_migrations.sql"
KEY_COLUMNS = {("users", "id"), ("chunks", "id"), ("chunks", "user_pk"), ("statements", "id"),
               ("labels", "user_pk"), ("labels", "statement_id"), ("traits", "user_pk"),
               ("user_attributes", "user_pk"), ("models", "id"), ("index_builds", "id"),
               ("index_builds", "model_id"), ("index_builds", "count")}
baseline = importlib.import_module("storage.migrations.versions.0001_baseline").baseline


def write_old_store(url: str) -> None:
    """The store the code before migrations wrote, at ``url``."""
    if url.startswith("sqlite"):
        with sqlite3.connect(database_url(url).database) as conn:
            conn.executescript(DUMP.read_text())
        conn.close()
        return
    source = create_engine("sqlite://")
    with source.connect() as conn:
        conn.connection.dbapi_connection.executescript(DUMP.read_text())
        rows = {t.name: [dict(r._mapping) for r in conn.execute(select(t))] for t in baseline.sorted_tables}
    engine = create_engine(database_url(url))
    with engine.begin() as conn:
        baseline.create_all(conn)
        for table in baseline.sorted_tables:
            if rows[table.name]:
                conn.execute(table.insert(), rows[table.name])
        for name in ("users", "chunks", "statements", "models", "index_builds"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name}"))
    engine.dispose()


def schema_differences(store: Store) -> list:
    with store.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)


def test_a_store_written_before_migrations_upgrades(db_url: str) -> None:
    write_old_store(db_url)
    with Store(db_url) as store:
        with store.engine.connect() as conn:
            assert current_revision(conn) == head_revision()
        assert schema_differences(store) == []  # the same schema as a store created today
        pk, ana = store.get_user("ana")
        assert pk == 1 and ana["metadata"] == {"country": "DE", "age": 31}
        assert [c["text"] for c in ana["chunks"]] == ["Summit at dawn, boots soaked.", "New trail map printed."]
        assert ana["chunks"][0]["metadata"] == {"subreddit": "hiking"}
        assert (ana["statements"], ana["negative_statements"], ana["traits"]) == \
            (["enjoys hiking"], ["dislikes nature"], {"openness": 0.7})
        assert store.active_model().checksum == "ab" * 32
        assert [(b.kind, b.count) for b in list_builds(store)] == [("users", 3)]
        stats = store.stats()
        assert (stats["users"], stats["chunks"], stats["statements"], stats["positive_labels"]) == (3, 4, 4, 4)
    with Store(db_url) as store:  # at the head: opening again changes nothing
        assert schema_differences(store) == []
        assert store.count_users() == 3


def test_keys_are_64_bit_after_the_upgrade(postgres, tmp_path: Path, write_jsonl) -> None:
    url = postgres.new_database()
    write_old_store(url)
    with Store(url) as store:
        with store.engine.connect() as conn:
            types = {(r.table_name, r.column_name): r.data_type for r in conn.execute(text(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = current_schema()"))}
            sequences = dict(conn.execute(text("SELECT sequence_name, data_type FROM information_schema.sequences "
                                             "WHERE sequence_schema = current_schema()")).all())
            conn.execute(text("SELECT setval(pg_get_serial_sequence('users', 'id'), 2147483658)"))
            conn.commit()
        assert {types[c] for c in KEY_COLUMNS} == {"bigint"}
        assert set(sequences.values()) == {"bigint"} and len(sequences) == 5
        store.ingest_file(write_jsonl([{"user_id": "far", "chunks": [{"text": "past 2^31"}], "statements": ["x"]}]))
        pk, record = store.get_user("far")
        assert pk == 2**31 + 11 and record["statements"] == ["x"]
        assert store.user_ids([pk]) == {pk: "far"}
        with store.engine.begin() as conn:  # the downgrade is real too, and the upgrade repeats
            conn.execute(text("DELETE FROM users WHERE user_id = 'far'"))
            conn.execute(text("SELECT setval(pg_get_serial_sequence('users', 'id'), 3)"))
            command.downgrade(alembic_config(conn), "0001")
            assert inspect(conn).get_columns("users")[0]["type"].python_type is int
            assert conn.scalar(text("SELECT data_type FROM information_schema.columns "
                                    "WHERE table_schema = current_schema() AND table_name = 'chunks' "
                                    "AND column_name = 'user_pk'")) == "integer"
            command.upgrade(alembic_config(conn), "head")
        assert schema_differences(store) == []


def test_the_legacy_models_table_is_migrated_on_postgresql(postgres) -> None:
    """A ``models`` table from before weights checksums: ``path`` unique, no ``checksum`` column."""
    url = postgres.new_database()
    engine = create_engine(database_url(url))
    with engine.begin() as conn:
        legacy = [t for t in baseline.sorted_tables if t.name not in ("models", "index_builds")]
        baseline.create_all(conn, tables=legacy)
        conn.execute(text("CREATE TABLE models (id SERIAL PRIMARY KEY, path VARCHAR NOT NULL UNIQUE, "
                          "base_model VARCHAR NOT NULL, embedding_dim INTEGER NOT NULL, metrics JSON NOT NULL, "
                          "active BOOLEAN NOT NULL, created_at TIMESTAMP NOT NULL)"))
        conn.execute(text("INSERT INTO models (path, base_model, embedding_dim, metrics, active, created_at) "
                          "VALUES ('/m/run', 'tiny', 8, '{}', true, now())"))
    engine.dispose()
    with Store(url) as store:
        old = store.active_model()
        assert (old.id, old.path, old.checksum) == (1, "/m/run", None)
        new = store.register_model("/m/run", "tiny", 8, checksum="a" * 64)  # was a UNIQUE(path) violation
        assert new != 1 and store.active_model().id == new
        assert schema_differences(store) == []


@pytest.mark.parametrize("attempt", range(4))  # a race: one round once missed a lock that SQLite did not wait for
def test_two_processes_opening_an_old_store_at_once_migrate_it_once(db_url: str, attempt: int) -> None:
    write_old_store(db_url)  # SQLite: a rollback-journal file; the first opener switches it to WAL
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            with Store(db_url) as store:
                assert store.count_users() == 3
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Store(db_url) as store:
        assert schema_differences(store) == []


@pytest.mark.parametrize("url, message", [
    ("postgresql://uue:s3cret-Pw@127.0.0.1:1/nowhere", "cannot open database postgresql://uue:***@127.0.0.1:1/nowhere"),
    ("postgresql://uue:s3cret-Pw@127.0.0.1:notaport/x", "is not a database URL"),
    ("nosuchdb://u:s3cret-Pw@h/x", "no SQLAlchemy dialect"),
])
def test_connection_errors_never_show_the_password(url: str, message: str) -> None:
    from storage.errors import UUEError

    with pytest.raises(UUEError) as caught:
        Store(url)
    assert message in str(caught.value) and "s3cret-Pw" not in str(caught.value)


def test_a_wrong_password_is_refused_without_echoing_it(postgres) -> None:
    from click.testing import CliRunner

    from cli import main

    url = postgres.url("postgres", password="Wr0ng-pa55word")
    result = CliRunner().invoke(main, ["--db", url, "users", "show", "ana"])
    assert result.exit_code == 1 and "password authentication failed" in result.output
    assert "Wr0ng-pa55word" not in result.output and postgres.password not in result.output
    assert "uue:***@127.0.0.1" in result.output and "Traceback" not in result.output


def test_a_store_that_already_has_the_deleted_users_table_keeps_its_tombstones(db_url: str) -> None:
    """Stores written in the short while when ``deleted_users`` existed but migrations did not."""
    write_old_store(db_url)
    engine = create_engine(database_url(db_url))
    with engine.begin() as conn:
        as_it_was = Table("deleted_users", MetaData(), Column("id", Integer, primary_key=True),
                          Column("deleted_at", DateTime, nullable=False))
        as_it_was.create(conn)
        conn.execute(as_it_was.insert().values(id=7, deleted_at=datetime(2026, 11, 30, 2, 25)))
    engine.dispose()
    with Store(db_url) as store:
        from storage.users import deleted_user_pks

        assert schema_differences(store) == []
        assert list(deleted_user_pks(store)) == [7]
