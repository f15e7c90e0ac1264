"""Versioned index builds in the store: record, atomic activation, prune, verify."""

from __future__ import annotations

import numpy as np
import pytest

from index import create_index
from index.base import sidecar_path
from index.builds import (
    activate_builds,
    active_build,
    build_path,
    list_builds,
    prune_builds,
    record_build,
    verify_build,
)
from storage.errors import NotFound, UUEError

DIM = 8


@pytest.fixture
def model_id(store, tmp_path):
    return store.register_model(str(tmp_path / "model"), "tiny", DIM)


def saved_build(store, model_id, tmp_path, kind="users", ids=(1, 2, 3), seed=0) -> int:
    vectors = np.random.default_rng(seed).standard_normal((len(ids), DIM)).astype(np.float32)
    index = create_index("Flat", DIM)
    index.add(np.asarray(ids), vectors)
    path = build_path(tmp_path / "indexes", kind, model_id)
    checksum = index.save(path)
    return record_build(store, model_id=model_id, kind=kind, factory="Flat", dim=DIM, count=index.count,
                        path=path, checksum=checksum)


def test_no_build_yet(store):
    with pytest.raises(NotFound, match="run `uue index build`"):
        active_build(store, "users")
    with pytest.raises(UUEError, match="unknown index kind"):
        active_build(store, "movies")


def test_record_and_activate_switches_pointers_together(store, model_id, tmp_path):
    u1 = saved_build(store, model_id, tmp_path, "users")
    s1 = saved_build(store, model_id, tmp_path, "statements")
    assert not any(b.active for b in list_builds(store))  # recorded inactive
    activate_builds(store, [u1, s1])
    assert active_build(store, "users").id == u1 and active_build(store, "statements").id == s1
    u2 = saved_build(store, model_id, tmp_path, "users", seed=1)
    activate_builds(store, [u2])
    assert active_build(store, "users").id == u2
    assert active_build(store, "statements").id == s1  # other kinds untouched
    assert [b.id for b in list_builds(store) if b.active] == [u2, s1]
    assert [b.id for b in list_builds(store, "users")] == [u2, u1]  # newest first


def test_activate_is_all_or_nothing(store, model_id, tmp_path):
    u1 = saved_build(store, model_id, tmp_path, "users")
    activate_builds(store, [u1])
    u2 = saved_build(store, model_id, tmp_path, "users", seed=1)
    with pytest.raises(NotFound, match="999"):
        activate_builds(store, [u2, 999])
    assert active_build(store, "users").id == u1
    u3 = saved_build(store, model_id, tmp_path, "users", seed=2)
    with pytest.raises(UUEError, match="same kind"):
        activate_builds(store, [u2, u3])
    assert active_build(store, "users").id == u1


def test_prune_keeps_newest_and_active(store, model_id, tmp_path):
    first = saved_build(store, model_id, tmp_path, "users")
    activate_builds(store, [first])  # the oldest stays active
    others = [saved_build(store, model_id, tmp_path, "users", seed=i) for i in range(1, 5)]
    stmt = saved_build(store, model_id, tmp_path, "statements")
    paths = {b.id: b.path for b in list_builds(store)}
    pruned = prune_builds(store, keep=2)
    assert sorted(b.id for b in pruned) == others[:2]
    left = {b.id for b in list_builds(store)}
    assert left == {first, others[2], others[3], stmt}
    for build_id, path in paths.items():
        exists = build_id in left
        assert (tmp_path / path).exists() == exists and sidecar_path(path).exists() == exists
    assert prune_builds(store, keep=2) == []
    with pytest.raises(UUEError, match="keep"):
        prune_builds(store, keep=0)


def test_verify_build(store, model_id, tmp_path):
    build_id = saved_build(store, model_id, tmp_path, "users", ids=(1, 2, 3))
    build = next(b for b in list_builds(store) if b.id == build_id)
    assert verify_build(store, build, {1, 2, 3}, [1, 2, 3]) == []
    problems = verify_build(store, build, np.array([1, 2, 2, 9]), np.array([1, 2, 3]))
    text = "\n".join(problems)
    assert "occur more than once" in text and "[2]" in text
    assert "have no vector in the index, e.g. [3]" in text
    assert "have no row in the store, e.g. [9]" in text
    with open(build.path, "ab") as f:
        f.write(b"tampered")
    problems = verify_build(store, build, {1, 2, 3}, {1, 2, 3})
    assert len(problems) == 1 and "checksum" in problems[0] and "uue index rebuild" in problems[0]
    (tmp_path / build.path).unlink()
    assert "missing" in verify_build(store, build, {1, 2, 3}, {1, 2, 3})[0]


def test_index_stats_reports_hnsw_marks(store, model_id, tmp_path):
    import json

    from click.testing import CliRunner

    from cli import main
    from uue.search.maintenance import index_stats

    flat = saved_build(store, model_id, tmp_path, "users")
    index = create_index("HNSW32", DIM)
    index.add(np.arange(1, 11), np.random.default_rng(0).standard_normal((10, DIM)).astype(np.float32))
    index.remove(np.array([2, 5, 7]))  # HNSW marks instead of deleting
    path = build_path(tmp_path / "indexes", "users", model_id)
    hnsw = record_build(store, model_id=model_id, kind="users", factory="HNSW32", dim=DIM, count=index.count,
                        path=path, checksum=index.save(path))
    activate_builds(store, [hnsw])
    stats = index_stats(store)
    assert stats["active"]["users"]["removed_marked"] == 3
    assert {b["id"]: b["removed_marked"] for b in stats["builds"]} == {hnsw: 3, flat: 0}
    args = ["--home", str(tmp_path), "--db", store.url, "index", "stats"]
    as_json = CliRunner().invoke(main, [*args, "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["active"]["users"]["removed_marked"] == 3
    text = CliRunner().invoke(main, args)
    assert text.exit_code == 0 and "3 marked removed" in text.output, text.output
