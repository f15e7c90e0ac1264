"""A model is its weights: retraining into the same directory registers a new model.

Before, the store found the model row by path alone, so a second training into the
same directory kept the model id: the incremental index build reused the old vectors
and queries passed the model check against indexes built with the old weights.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from storage.errors import UUEError
from storage.store import Store
from support.tiny_models import tiny_bert
from support.topic_users import config, make_users, words
from uue.search.builds import build_indexes
from uue.search.maintenance import verify_indexes
from uue.search.queries import QueryError, Searcher
from uue.training.checkpoint import weights_checksum
from uue.training.store_run import train_from_store
from uue.workspace import Workspace


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory) -> Path:
    return tiny_bert(tmp_path_factory.mktemp("bert"), words())


def test_retraining_into_the_same_directory_is_a_new_model(bert_dir: Path, tmp_path: Path) -> None:
    ws = Workspace.resolve(tmp_path / "home")
    users = tmp_path / "users.jsonl"
    people = make_users(2, "train", 0) + make_users(1, "dev", 1)
    users.write_text("".join(json.dumps(u.to_dict()) + "\n" for u in people))
    run = tmp_path / "run"
    with ws.open_store() as store:
        store.ingest_file(users)
        path, _ = train_from_store(store, config(bert_dir, num_epochs=1, seed=1), run, show_progress=False)
        first = store.active_model()
        assert first.checksum == weights_checksum(run) and len(first.checksum) == 64
        build_indexes(store, ws.indexes_dir, progress=False)
        assert Searcher(store).audience("likes s1x", k=3)

        # the same directory again, other weights (another seed): a new model, made active
        again, _ = train_from_store(store, config(bert_dir, num_epochs=1, seed=2), run, show_progress=False)
        second = store.active_model()
        assert again == path and second.path == first.path == str(path)
        assert second.id != first.id and second.checksum == weights_checksum(run) != first.checksum
        assert store.stats()["models"] == 2

        # the indexes were built with the old weights: refused until rebuilt, and verify says so
        report = verify_indexes(store)
        assert not report["ok"]
        assert f"users: built with model #{first.id}, but the active model is #{second.id}" in " ".join(
            report["problems"])
        with pytest.raises(QueryError, match=rf"model #{first.id}, but the active model is #{second.id}: "
                                             r"run `uue index rebuild`"):
            Searcher(store).audience("likes s1x", k=3)
        rebuilt = build_indexes(store, ws.indexes_dir, progress=False)  # incremental, not --full
        assert rebuilt.reused["users"] == 0 and rebuilt.embedded["users"] == rebuilt.counts["users"] > 0
        # statements are reused only where the two models' statement sides are identical (the same
        # statement fingerprint, e.g. both kept their untrained start): all or nothing
        assert rebuilt.reused["statements"] in (0, rebuilt.counts["statements"])
        assert rebuilt.model_id == second.id
        assert Searcher(store).audience("likes s1x", k=3)
        assert verify_indexes(store)["ok"]

        # registering the same weights again is the same model (its vectors stay valid)
        assert store.register_model(str(path), "tiny", 32, checksum=second.checksum) == second.id
        assert store.register_model(str(path), "tiny", 32, checksum=first.checksum) == first.id
        assert store.active_model().id == first.id


def test_weights_changed_after_registration_are_not_served(bert_dir: Path, tmp_path: Path) -> None:
    # a training run writing into the active model's directory has not registered its weights yet
    ws = Workspace.resolve(tmp_path / "home")
    users = tmp_path / "users.jsonl"
    people = make_users(2, "train", 0) + make_users(1, "dev", 1)
    users.write_text("".join(json.dumps(u.to_dict()) + "\n" for u in people))
    with ws.open_store() as store:
        store.ingest_file(users)
        path, _ = train_from_store(store, config(bert_dir, num_epochs=1, seed=1), tmp_path / "run",
                                   show_progress=False)
        build_indexes(store, ws.indexes_dir, progress=False)
        assert Searcher(store).audience("a sentence not in the pool", k=3)
        weights = path / "model.safetensors"
        data = bytearray(weights.read_bytes())
        data[-8:] = bytes(b ^ 0x3C for b in data[-8:])  # the tail of the last tensor: still a loadable file
        weights.write_bytes(bytes(data))
        with pytest.raises(UUEError, match="not the file registered for this model.*training run"):
            Searcher(store).audience("a sentence not in the pool", k=3)


def test_models_without_checksum_are_matched_by_path(store: Store) -> None:
    a = store.register_model("/m/a", "bow", 8)
    assert store.register_model("/m/a", "bow", 8) == a
    b = store.register_model("/m/a", "bow", 8, checksum="f" * 64)
    assert b != a and store.active_model().id == b


LEGACY_MODELS = """CREATE TABLE models (
    id INTEGER NOT NULL, path VARCHAR NOT NULL, base_model VARCHAR NOT NULL, embedding_dim INTEGER NOT NULL,
    metrics JSON NOT NULL, active BOOLEAN NOT NULL, created_at DATETIME NOT NULL,
    PRIMARY KEY (id), UNIQUE (path))"""
LEGACY_BUILDS = """CREATE TABLE index_builds (
    id INTEGER NOT NULL, model_id INTEGER NOT NULL, kind VARCHAR(16) NOT NULL, factory VARCHAR NOT NULL,
    dim INTEGER NOT NULL, count INTEGER NOT NULL, path VARCHAR NOT NULL, checksum VARCHAR(64) NOT NULL,
    active BOOLEAN NOT NULL, created_at DATETIME NOT NULL,
    PRIMARY KEY (id), UNIQUE (kind, path), FOREIGN KEY(model_id) REFERENCES models (id))"""


def test_a_store_from_before_checksums_is_migrated(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        conn.execute(LEGACY_MODELS)
        conn.execute(LEGACY_BUILDS)
        conn.execute("INSERT INTO models VALUES (1, '/m/run', 'tiny', 8, '{}', 1, '2024-01-01 00:00:00')")
        conn.execute("INSERT INTO index_builds VALUES (1, 1, 'users', 'Flat', 8, 3, '/i/u.faiss', 'x', 1, "
                     "'2024-01-01 00:00:00')")
    conn.close()
    with Store(f"sqlite:///{db}") as store:
        old = store.active_model()
        assert (old.id, old.path, old.checksum) == (1, "/m/run", None)
        new = store.register_model("/m/run", "tiny", 8, checksum="a" * 64)  # was a UNIQUE(path) violation
        assert new != 1 and store.active_model().id == new
    with Store(f"sqlite:///{db}") as store:  # migrating again is a no-op
        assert store.stats()["models"] == 2
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT model_id FROM index_builds").fetchall() == [(1,)]
        assert "index_builds" in conn.execute("SELECT sql FROM sqlite_master WHERE name = 'index_builds'").fetchone()[0]
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'models_new'").fetchone() == (0,)
    conn.close()


def test_locked_models_share_one_statement_index_and_one_chunk_cache(bert_dir: Path, tmp_path: Path,
                                                                     monkeypatch) -> None:
    import uue.training.steps as steps

    ws = Workspace.resolve(tmp_path / "home")
    users = tmp_path / "users.jsonl"
    users.write_text("".join(json.dumps(u.to_dict()) + "\n" for u in make_users(2, "train", 0) + make_users(1, "dev", 1)))
    reused: list[int] = []
    original = steps.LockedSteps.__init__

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        reused.append(self.reused_statements)

    monkeypatch.setattr(steps.LockedSteps, "__init__", spy)
    with ws.open_store() as store:
        store.ingest_file(users)
        locked = config(bert_dir, training_mode="locked", num_epochs=1)
        train_from_store(store, locked, tmp_path / "a", show_progress=False, cache_dir=ws.cache_dir)
        first = build_indexes(store, ws.indexes_dir, progress=False, cache_dir=ws.cache_dir)
        assert reused == [0] and first.embedded["statements"] == first.counts["statements"]
        assert len(list(ws.cache_dir.glob("chunks-*.sqlite"))) == 1
        # a second locked model from the same base: training reads the serving statement build, and so
        # does its index build (no statement embedded again), and the chunk cache serves all its users
        train_from_store(store, config(bert_dir, training_mode="locked", num_epochs=1, seed=3), tmp_path / "b",
                         show_progress=False, cache_dir=ws.cache_dir)
        second = build_indexes(store, ws.indexes_dir, progress=False, cache_dir=ws.cache_dir)
        assert reused[1] == len(store.statements(held_out=False)) > 0
        assert second.model_id != first.model_id and second.embedded["statements"] == 0
        assert second.reused["statements"] == second.counts["statements"]
        assert len(list(ws.cache_dir.glob("chunks-*.sqlite"))) == 1
        assert verify_indexes(store)["ok"]
