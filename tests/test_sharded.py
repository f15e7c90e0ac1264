"""Sharded IVF builds (``index.sharded``): the quantizer trained once, shards added in worker
processes, merged by FAISS in memory or into on-disk inverted lists. The merged index returns
the same neighbours as a one-piece build, and with every list probed, the exact ones."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from index import create_index, load_index
from index.base import ivfdata_path
from index.builds import active_build, list_builds
from index.errors import IndexConfigError
from index.sharded import build_sharded
from storage.store import Store
from support.fakes import BagOfWordsEmbedder
from uue.search.builds import build_indexes
from uue.search.engines import create_engine
from uue.search.maintenance import verify_indexes
from uue.search.queries import Searcher

DIM, N, NLIST = 24, 6000, 32


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((N, DIM)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = rng.choice(10 * N, size=N, replace=False).astype(np.int64)  # sparse, unordered store keys
    queries = rng.standard_normal((40, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    exact = ids[np.argsort(-(queries @ x.T), axis=1, kind="stable")[:, :10]]  # ground truth by brute force
    return ids, x, queries, exact


def one_piece(factory: str, ids, x):
    index = create_index(factory, DIM)
    index.train(x)
    index.add(ids, x)
    return index


@pytest.mark.parametrize("factory", [f"IVF{NLIST},Flat", f"IVF{NLIST},PQ4x4"])
def test_merged_in_memory_equals_one_piece(data, factory: str) -> None:
    ids, x, queries, exact = data
    whole = one_piece(factory, ids, x)
    with create_engine("local", workers=2) as engine:  # shard adds in two spawned processes
        merged = build_sharded(factory, DIM, ids, x, shards=4, map=engine.map)
    assert merged.count == N and not merged.ondisk
    for nprobe in (4, NLIST):
        params = {"nprobe": nprobe}
        np.testing.assert_array_equal(merged.search(queries, 10, params=params)[1],
                                      whole.search(queries, 10, params=params)[1])
    np.testing.assert_array_equal(np.sort(merged.ids()), np.sort(ids))
    allow = np.sort(ids[:300])  # filtered search and reconstruction go through the rebuilt direct map
    np.testing.assert_array_equal(merged.search(queries, 5, ids=allow)[1], whole.search(queries, 5, ids=allow)[1])
    if factory.endswith("Flat"):  # every list probed: IVF,Flat is exact
        np.testing.assert_array_equal(merged.search(queries, 10, params={"nprobe": NLIST})[1], exact)


def test_merged_on_disk_equals_one_piece_and_survives_a_reload(data, tmp_path) -> None:
    ids, x, queries, exact = data
    factory = f"IVF{NLIST},Flat"
    whole = one_piece(factory, ids, x)
    path = tmp_path / "users.faiss"
    merged = build_sharded(factory, DIM, ids, x, shards=3, ondisk=ivfdata_path(path))
    assert merged.ondisk and ivfdata_path(path).stat().st_size > N * DIM * 4  # the vectors live in .ivfdata
    checksum = merged.save(path)
    assert path.stat().st_size < N * DIM * 4  # ...not in the index file
    for mmap in (False, True):
        loaded = load_index(path, mmap=mmap, checksum=checksum)
        assert loaded.stats()["ondisk"] and loaded.count == N
        np.testing.assert_array_equal(loaded.search(queries, 10, params={"nprobe": 8})[1],
                                      whole.search(queries, 10, params={"nprobe": 8})[1])
        np.testing.assert_array_equal(loaded.search(queries, 10, params={"nprobe": NLIST})[1], exact)


def test_only_ivf_shards(data) -> None:
    ids, x, _, _ = data
    with pytest.raises(IndexConfigError, match="needs an IVF factory"):
        build_sharded("HNSW16", DIM, ids, x, shards=2)
    with pytest.raises(ValueError, match="duplicate ids"):
        build_sharded(f"IVF{NLIST},Flat", DIM, np.zeros(N, np.int64), x, shards=2)


def test_cli_sharded_on_disk_build(tmp_path) -> None:
    """A store-backed build: --shards / --ondisk through the CLI, verified, queried, pruned with its .ivfdata."""
    home = tmp_path / "home"
    home.mkdir()
    words = ["trail summit hiking", "sourdough oven baking", "chess rook gambit", "jazz sax chords"]
    users = [{"user_id": f"u{i}", "chunks": [{"text": f"{words[i % 4]} day {i}"}]} for i in range(400)]
    (tmp_path / "u.jsonl").write_text("".join(json.dumps(u) + "\n" for u in users))
    with Store(f"sqlite:///{home / 'uue.db'}") as store:
        store.ingest_file(tmp_path / "u.jsonl")
        store.register_model(str(home / "models" / "bow"), "bag-of-words", 64)
        model = BagOfWordsEmbedder()
        first = build_indexes(store, home / "indexes", factory="IVF8,Flat", progress=False, model=model,
                              shards=3, ondisk=True)
        build = active_build(store, "users")
        assert ivfdata_path(build.path).is_file()
        assert verify_indexes(store)["ok"]
        hits = Searcher(store, model=model).similar("u0", k=5)
        assert {int(h.user_id[1:]) % 4 for h in hits} == {0}
        lists = ivfdata_path(build.path)  # verify covers the inverted lists file too
        data = bytearray(lists.read_bytes())
        data[-1] ^= 0xFF
        lists.write_bytes(bytes(data))
        assert any("inverted lists file" in p and "does not match" in p for p in verify_indexes(store)["problems"])
        for _ in range(2):  # older builds pruned: their .ivfdata goes with them
            build_indexes(store, home / "indexes", progress=False, model=model, full=True)
        assert first.build_ids["users"] not in {b.id for b in list_builds(store)}
        assert not ivfdata_path(build.path).exists()
    out = CliRunner().invoke(main, ["--home", str(home), "index", "build", "--factory", "Flat", "--shards", "2"])
    assert out.exit_code == 1 and "needs an IVF factory" in out.output and "Traceback" not in out.output
    out = CliRunner().invoke(main, ["--home", str(home), "index", "build", "--address", "ray://h:10001"])
    assert out.exit_code == 1 and "use it with --engine ray" in out.output
