"""``uue index build --engine ray``: users embedded by model actors on a local Ray cluster
started by this module, with the same vectors and neighbours as the local engine.

Also the shard adds of a sharded IVF build as Ray tasks (``RayEngine.map``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import ray
from click.testing import CliRunner

from cli import main
from index import load_index
from index.builds import active_build
from index.vectors import VectorSet, build_stem
from storage.errors import UUEError
from support.tiny_models import tiny_bert
from support.topic_users import config, make_users, words
from uue.model.chunk_cache import ChunkVectorCache
from uue.model.dual_encoder import UniversalUserEmbeddingModel
from uue.search.builds import build_indexes
from uue.search.maintenance import verify_indexes
from uue.training.checkpoint import weights_checksum
from uue.workspace import Workspace


@pytest.fixture(scope="module")
def cluster():
    """A local two-CPU Ray cluster for this module (no dashboard)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    """A store with 48 users (2-5 chunks each) and an active locked tiny model."""
    root = tmp_path_factory.mktemp("ray")
    bert = tiny_bert(root / "bert", words())
    model = UniversalUserEmbeddingModel.from_config(config(bert, training_mode="locked"))
    path = model.save_pretrained(root / "home" / "models" / "tiny")
    ws = Workspace.resolve(root / "home")
    users = root / "users.jsonl"
    users.write_text("".join(json.dumps(u.to_dict()) + "\n" for u in make_users(6, "train", 0)))
    with ws.open_store() as store:
        store.ingest_file(users)
        store.register_model(str(path), str(bert), model.embedding_dim, checksum=weights_checksum(path))
    return ws


def vectors_of(store, kind: str = "users") -> VectorSet:
    return VectorSet.load(build_stem(active_build(store, kind)), mmap=False)


def neighbours(store, queries: np.ndarray, k: int = 5) -> np.ndarray:
    build = active_build(store, "users")
    return load_index(build.path, checksum=build.checksum).search(queries, k)[1]


def test_ray_engine_matches_the_local_engine(cluster, workspace: Workspace, monkeypatch) -> None:
    from uue.search.engines.ray_engine import RayEngine

    monkeypatch.setattr(RayEngine, "partition_size", 16)  # 3 partitions: both actors get work
    with workspace.open_store() as store:
        local = build_indexes(store, workspace.indexes_dir, progress=False, cache_dir=workspace.home / "cache-local")
        expected = vectors_of(store)
        probe = expected.vectors[::5]
        expected_hits = neighbours(store, probe)

        fresh_cache = workspace.home / "cache-ray"
        remote = build_indexes(store, workspace.indexes_dir, progress=False, cache_dir=fresh_cache, full=True,
                               engine="ray", workers=2)
        got = vectors_of(store)
        assert remote.embedded["users"] == local.embedded["users"] == 48
        assert remote.build_ids["users"] != local.build_ids["users"]  # a new version, switched atomically
        np.testing.assert_array_equal(got.ids, expected.ids)
        np.testing.assert_allclose(got.vectors, expected.vectors, atol=1e-5)
        np.testing.assert_array_equal(neighbours(store, probe), expected_hits)
        assert verify_indexes(store)["ok"]
        # the actors wrote the chunk vectors they computed into the (locked encoder's) chunk cache
        caches = list(fresh_cache.glob("chunks-*.sqlite"))
        assert len(caches) == 1
        distinct = {c["text"] for _, r in store.iter_users() for c in r["chunks"]}
        assert len(ChunkVectorCache(caches[0], 32)) == len(distinct)

        # an incremental build on Ray embeds only the changed user
        changed = workspace.home / "changed.jsonl"
        changed.write_text(json.dumps({"user_id": "train-0-0", "chunks": [{"text": "t1w1 t1w2 t1w3 the"}]}) + "\n")
        store.ingest_file(changed)
        again = build_indexes(store, workspace.indexes_dir, progress=False, cache_dir=fresh_cache, engine="ray")
        assert again.embedded["users"] == 1 and again.reused["users"] == 47
        assert verify_indexes(store)["ok"]


def test_ray_engine_reads_a_postgresql_store(cluster, workspace: Workspace, postgres, tmp_path: Path) -> None:
    """The store a remote cluster needs: the actors read their partitions from PostgreSQL by URL."""
    ws = Workspace.resolve(tmp_path / "home", postgres.new_database())
    users = tmp_path / "users.jsonl"
    users.write_text("".join(json.dumps(u.to_dict()) + "\n" for u in make_users(2, "train", 3)))
    with workspace.open_store() as sqlite_store:
        model = sqlite_store.active_model()
    with ws.open_store() as store:
        store.ingest_file(users)
        store.register_model(model.path, model.base_model, model.embedding_dim, checksum=model.checksum)
        build_indexes(store, ws.indexes_dir, progress=False)
        expected = vectors_of(store)
        remote = build_indexes(store, ws.indexes_dir, progress=False, full=True, engine="ray", workers=1)
        assert remote.embedded["users"] == 16
        got = vectors_of(store)
        np.testing.assert_array_equal(got.ids, expected.ids)
        np.testing.assert_allclose(got.vectors, expected.vectors, atol=1e-5)
        assert verify_indexes(store)["ok"]


def test_cli_build_on_ray_prints_one_json_document(cluster, workspace: Workspace) -> None:
    out = CliRunner().invoke(main, ["--home", str(workspace.home), "index", "rebuild", "--engine", "ray",
                                    "--workers", "1", "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert result["embedded"]["users"] == result["counts"]["users"] == 48


def test_sharded_ivf_build_with_ray_tasks(cluster, workspace: Workspace) -> None:
    with workspace.open_store() as store:
        one = build_indexes(store, workspace.indexes_dir, progress=False, factory="IVF4,Flat", full=True)
        probe = vectors_of(store).vectors
        expected = neighbours(store, probe, k=8)
        sharded = build_indexes(store, workspace.indexes_dir, progress=False, factory="IVF4,Flat", engine="ray",
                                shards=3)
        assert sharded.embedded["users"] == 0 and sharded.build_ids["users"] != one.build_ids["users"]
        np.testing.assert_array_equal(neighbours(store, probe, k=8), expected)
        assert verify_indexes(store)["ok"]


def test_a_worker_error_is_a_message(cluster, workspace: Workspace) -> None:
    """Weights changed after registration: the actors refuse them, the CLI says so (no traceback)."""
    with workspace.open_store() as store:
        row = store.active_model()
        weights = Path(row.path) / "model.safetensors"
    original = weights.read_bytes()
    try:
        weights.write_bytes(original[:-4] + bytes(b ^ 0xFF for b in original[-4:]))
        out = CliRunner().invoke(main, ["--home", str(workspace.home), "index", "rebuild", "--engine", "ray"])
        assert out.exit_code == 1, out.output
        assert "on the Ray workers" in out.output and "is not the file registered" in out.output
        assert "Traceback" not in out.output
    finally:
        weights.write_bytes(original)


def test_an_actor_without_the_model_directory_gets_its_files(workspace: Workspace, tmp_path: Path) -> None:
    """A remote worker (no shared filesystem) loads the model from the files the driver shipped."""
    from uue.search.engines.ray_engine import UserEmbedder, model_files

    with workspace.open_store() as store:
        row = store.active_model()
        pks = np.array(sorted(store.content_hashes())[:5])
        url = store.engine.url.render_as_string(hide_password=False)
        local = UserEmbedder(url, row.path, row.checksum, None, 1)({"pks": np.array([pks], dtype=object)})
        shipped = UserEmbedder(url, str(tmp_path / "not-here"), row.checksum, None, 1,
                               files=model_files(row.path))({"pks": np.array([pks], dtype=object)})
    np.testing.assert_array_equal(shipped["pk"], pks)
    assert not any(shipped["error"])
    np.testing.assert_allclose(shipped["vector"], local["vector"], atol=1e-6)


def test_ray_engine_refuses_what_it_cannot_do(cluster, workspace: Workspace) -> None:
    from uue.search.active_model import LazyModel
    from uue.search.engines import create_engine

    with pytest.raises(UUEError, match="loads the active model from its directory"):
        with create_engine("ray") as engine, workspace.open_store() as store:
            engine.embed_users(store, LazyModel("x", model=object()), np.array([1]), np.zeros((1, 32)), False)
    with pytest.raises(UUEError, match="--address names a Ray cluster"):
        create_engine("local", address="ray://example:10001")
    with pytest.raises(UUEError, match="unknown build engine 'spark'"):
        create_engine("spark")
