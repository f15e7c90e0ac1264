"""Issue 13: busy and full storage are messages that name the cause; nothing is lost or half-written."""

from __future__ import annotations

import errno
import os
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from safetensors import SafetensorError
from sqlalchemy import event, func, select

import index.files
from cli import main
from index import create_index
from index.files import atomic_write
from storage import failures
from storage.failures import StorageError, WorkspaceBusy
from storage.store import Store
from storage.tables import User
from support.records import user_line

DEV_FULL = Path("/dev/full")  # every write to it fails with ENOSPC: a real full disk


def n_users(store: Store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count(User.id)))


@pytest.fixture
def locked_db(tmp_path: Path):
    """A workspace database whose write lock another connection holds (an ingest running beside)."""
    path = tmp_path / "home" / "uue.db"
    path.parent.mkdir()
    Store(f"sqlite:///{path}").close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    yield path
    holder.rollback()
    holder.close()


def test_a_second_writer_waits_a_bounded_time_then_says_the_workspace_is_busy(locked_db, write_jsonl):
    with Store(f"sqlite:///{locked_db}", busy_timeout=0.3) as store:
        started = time.monotonic()
        with pytest.raises(WorkspaceBusy, match="is busy: another uue process .* over 0.3 s. Nothing was written"):
            store.ingest_file(write_jsonl([user_line("u1")]))
        assert 0.25 < time.monotonic() - started < 10
        assert n_users(store) == 0  # reads still work while the other writer holds the lock


def test_the_cli_prints_the_busy_message_not_a_traceback(locked_db, write_jsonl, monkeypatch):
    monkeypatch.setenv("UUE_BUSY_TIMEOUT", "0.2")
    result = CliRunner().invoke(main, ["--home", str(locked_db.parent), "ingest", str(write_jsonl([user_line()]))])
    assert result.exit_code == 1 and "is busy" in result.output and "UUE_BUSY_TIMEOUT" in result.output
    assert "Traceback" not in result.output and "OperationalError" not in result.output
    monkeypatch.setenv("UUE_BUSY_TIMEOUT", "soon")
    result = CliRunner().invoke(main, ["--home", str(locked_db.parent), "stats"])
    assert result.exit_code == 1 and "$UUE_BUSY_TIMEOUT='soon' is not a number" in result.output


def test_a_full_database_is_a_disk_full_message_and_keeps_the_old_data(tmp_path, write_jsonl):
    store = Store(f"sqlite:///{tmp_path / 'uue.db'}")
    store.ingest_file(write_jsonl([user_line("keep")], "first.jsonl"))

    @event.listens_for(store.engine, "connect")
    def tiny_disk(dbapi_connection, _record):  # SQLite's own "database or disk is full" at this page count
        dbapi_connection.execute("PRAGMA max_page_count=60")

    store.engine.dispose()
    big = [user_line(f"u{i}", n_chunks=20) for i in range(300)]
    with pytest.raises(StorageError, match="no space left on the device holding .*uue.db"):
        store.ingest_file(write_jsonl(big))
    assert n_users(store) == 1 and store.get_user("keep")
    store.close()


def test_no_space_for_an_index_file_names_the_full_disk_and_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "users.faiss"
    target.write_bytes(b"the serving file")
    real_fdopen = os.fdopen
    monkeypatch.setattr(index.files.os, "fdopen", lambda fd, mode: (os.close(fd), real_fdopen(
        os.open(DEV_FULL, os.O_WRONLY), mode, buffering=0))[1])
    flat = create_index("Flat", 4)
    flat.add(np.arange(3), np.eye(3, 4, dtype=np.float32))
    with pytest.raises(StorageError, match="no space left on the device holding .*users.faiss"):
        flat.save(target)  # faiss writes through our writer: its RuntimeError wraps the ENOSPC
    with pytest.raises(StorageError, match="no space left"):
        atomic_write(target, lambda out: np.save(out, np.zeros(1000), allow_pickle=False))
    assert target.read_bytes() == b"the serving file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["users.faiss"]


def test_permission_and_read_only_errors_say_so(tmp_path):
    denied = failures.filesystem_error(tmp_path / "x", PermissionError(errno.EACCES, "Permission denied"))
    assert "permission denied" in str(denied)
    read_only = failures.filesystem_error(tmp_path / "x", OSError(errno.EROFS, "Read-only file system"))
    assert "read-only" in str(read_only)


def test_at_zero_bytes_free_the_database_error_blames_the_disk_not_permissions(tmp_path, monkeypatch):
    monkeypatch.setattr(failures, "free_bytes", lambda path: 0)
    with pytest.raises(StorageError, match="no space left on the device"):
        Store(f"sqlite:///{tmp_path / 'missing' / 'uue.db'}")


def test_a_failed_model_save_leaves_the_previous_model_intact(tmp_path, monkeypatch):
    from support.tiny_models import tiny_bert
    from uue.model import dual_encoder
    from uue.model.config import ModelConfig

    model = dual_encoder.UniversalUserEmbeddingModel.from_config(
        ModelConfig(base_model_name=str(tiny_bert(tmp_path / "bert", ["a", "b"])), embedding_dim=32))
    out = model.save_pretrained(tmp_path / "model")
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def full(*args, **kwargs):
        raise SafetensorError("Error while serializing: IoError(Os { code: 28, kind: StorageFull, "
                              "message: \"No space left on device\" })")

    monkeypatch.setattr(dual_encoder, "save_model", full)
    with pytest.raises(StorageError, match="no space left on the device holding .*model"):
        model.save_pretrained(out)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
