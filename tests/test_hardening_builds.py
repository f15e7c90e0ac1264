"""Issue 13: one index build at a time, killed builds' files cleaned at once, vector files verified."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from index.builds import active_build
from index.lock import LOCK_NAME, BuildLock
from storage.failures import WorkspaceBusy
from storage.store import Store
from support.fakes import BagOfWordsEmbedder
from uue.search.builds import build_indexes

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def served(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    store = Store(f"sqlite:///{home / 'uue.db'}", busy_timeout=0.3)
    lines = [{"user_id": f"{topic}-{i}", "chunks": [{"text": f"{topic} post {i}"}], "statements": [f"enjoys {topic}"]}
             for topic in ("hiking", "baking", "chess") for i in range(4)]
    (tmp_path / "users.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    store.ingest_file(tmp_path / "users.jsonl")
    store.register_model(str(home / "models" / "bow"), "bag-of-words", 64)
    model = BagOfWordsEmbedder()
    result = build_indexes(store, home / "indexes", progress=False, model=model)
    yield store, home, model, result
    store.close()


HOLD_LOCK = textwrap.dedent("""
    import sys, time
    from index.lock import BuildLock
    with BuildLock(sys.argv[1], 0):
        print("held", flush=True)
        time.sleep(60)
""")


def hold_lock(directory: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(directory)], stdout=subprocess.PIPE, text=True,
                            cwd=TESTS.parent)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_build_waits_then_names_the_running_one_and_a_killed_holder_frees_the_lock(served):
    store, home, model, first = served
    holder = hold_lock(home / "indexes")
    try:
        with pytest.raises(WorkspaceBusy, match=rf"another index build \(pid {holder.pid} on .*over 0.3 s"):
            build_indexes(store, home / "indexes", progress=False, model=model, full=True)
        assert active_build(store, "users").id == first.build_ids["users"]  # the active build kept serving
    finally:
        os.kill(holder.pid, signal.SIGKILL)  # a build killed while holding the lock
        holder.wait()
    assert json.loads((home / "indexes" / LOCK_NAME).read_text())["pid"] == holder.pid  # its record is left...
    second = build_indexes(store, home / "indexes", progress=False, model=model, full=True)  # ...but not its lock
    assert active_build(store, "users").id == second.build_ids["users"]


def test_the_lock_is_taken_by_one_of_two_at_a_time(tmp_path):
    with BuildLock(tmp_path, 0):
        with pytest.raises(WorkspaceBusy, match=f"pid {os.getpid()}"), BuildLock(tmp_path, 0.1):
            pass
    with BuildLock(tmp_path, 0):  # released on exit
        pass


def test_a_killed_builds_temporary_files_go_with_the_next_build(served):
    store, home, model, _ = served
    leftovers = [home / "indexes" / ".users-20240101-000000-abcdef12.faiss.x1y2.tmp",
                 home / "indexes" / "users-20240101-000000-abcdef12.vectors.npy"]
    for path in leftovers:
        path.write_bytes(b"half")
    build_indexes(store, home / "indexes", progress=False, model=model)  # at once, not 60 s later
    assert not any(p.exists() for p in leftovers)
    assert (home / "indexes" / LOCK_NAME).exists()
    assert all(np.load(p).size for p in (home / "indexes").glob("*.ids.npy"))


def flip_a_row(path: Path, row: int, dim: int = 64) -> None:
    """Change one user's stored vector in place (same size, still a valid .npy)."""
    vectors = np.load(path, mmap_mode="r+")
    vectors[row, :dim // 2] = vectors[row, dim // 2:].copy()
    vectors.flush()
    del vectors


def test_a_corrupted_vector_file_is_refused_by_verify_and_queries_and_not_reused(served):
    from click.testing import CliRunner

    from cli import main
    from uue.search.maintenance import verify_indexes
    from uue.search.queries import Searcher

    store, home, model, first = served
    build = active_build(store, "users")
    assert set(build.files) == {"ids.npy", "vectors.npy", "hashes.npy"}
    assert set(active_build(store, "statements").files) >= {"ids.npy", "vectors.npy", "hashes.npy", "calibration.npy"}
    assert verify_indexes(store)["ok"]
    flip_a_row(Path(build.path).with_suffix(".vectors.npy"), row=2)
    report = verify_indexes(store)
    assert not report["ok"] and any("vector file" in p and "checksum" in p for p in report["problems"])
    with pytest.raises(Exception, match="vector file .* does not match the recorded .*uue index rebuild"):
        Searcher(store, model=model).similar("hiking-0", k=3)
    result = CliRunner().invoke(main, ["--home", str(home), "index", "verify"])
    assert result.exit_code == 1 and "vector file" in result.output
    rebuilt = build_indexes(store, home / "indexes", progress=False, model=model)  # incremental, not --full
    assert rebuilt.reused["users"] == 0 and rebuilt.embedded["users"] == 12  # nothing carried from the bad file
    assert verify_indexes(store)["ok"]
    assert Searcher(store, model=model).similar("hiking-0", k=3)


def test_a_build_from_before_vector_checksums_is_reported_by_verify_until_rebuilt(served):
    from sqlalchemy import update

    from storage.tables import IndexBuild
    from uue.search.maintenance import verify_indexes

    store, home, model, _ = served
    with store.session() as s:
        s.execute(update(IndexBuild).values(files=None))  # as a build made before the column was filled
    report = verify_indexes(store)
    assert not report["ok"] and any("no recorded checksums" in p for p in report["problems"])
    build_indexes(store, home / "indexes", progress=False, model=model, full=True)
    assert verify_indexes(store)["ok"]


@pytest.mark.parametrize("sidecar, message", [
    (b'{"backend": "faiss", "factory": "Flat", "dim": "abc"}', "'dim' is 'abc', expected a positive integer"),
    (b'{"backend": "faiss", "factory": "Flat", "dim": true}', "'dim' is True"),
    (b'{"backend": "faiss", "factory": "Flat", "dim": 4, "size": -1}', "'size' is -1"),
    (b'{"backend": ["faiss"], "factory": "Flat", "dim": 4}', "'backend' is ['faiss'], expected a string"),
    (b'{"backend": "faiss", "factory": "Flat", "dim": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    (b'{"backend": "faiss", "factory": "Flat", "dim": NaN}', "NaN is not valid JSON"),
    (b"\xff\xfe", "not valid UTF-8"),
])
def test_a_bad_index_sidecar_is_the_projects_error_naming_the_fix(tmp_path, sidecar, message):
    from index import create_index, load_index
    from index.base import sidecar_path
    from index.errors import IndexFileError

    path = tmp_path / "users.faiss"
    flat = create_index("Flat", 4)
    flat.add(np.arange(2), np.eye(2, 4, dtype=np.float32))
    flat.save(path)
    sidecar_path(path).write_bytes(sidecar)
    with pytest.raises(IndexFileError, match="uue index rebuild") as err:
        load_index(path)
    assert message in str(err.value)
