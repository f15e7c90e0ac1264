"""Property-based fuzzing (hypothesis) of the readers of untrusted input.

Any input either loads or fails with the project's own error (``UUEError``), never another
exception; a failed ingest writes nothing. ``benchmarks/fuzz.py`` runs the same
properties over 100,000+ cases (README, Reliability).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index import create_index, load_index
from index.base import read_sidecar, sidecar_path
from storage.errors import IngestError, UUEError
from storage.records import InvalidRecord, validate_user
from storage.strict_json import StrictJSONError, loads
from support import fuzzing

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(line=fuzzing.user_lines())
def test_the_line_validator_accepts_or_refuses_with_the_projects_error(line):
    try:
        record = validate_user(loads(line))
    except (StrictJSONError, InvalidRecord) as exc:
        assert str(exc)
        return
    json.dumps(record, allow_nan=False, ensure_ascii=False).encode("utf-8")  # accepted = storable and hashable


@FAST
@given(lines=st.lists(fuzzing.user_lines(), min_size=1, max_size=4))
def test_a_failed_ingest_writes_nothing(store, tmp_path, lines):
    before = store.stats()
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"\n".join(line.encode("utf-8", "surrogatepass") for line in lines) + b"\n")
    try:
        store.ingest_file(path)
    except IngestError as exc:
        assert str(exc).startswith(f"{path}")
        assert store.stats() == before


@pytest.fixture(scope="module")
def saved_index(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("idx") / "users.faiss"
    index = create_index("Flat", 4)
    index.add(np.arange(3), np.eye(3, 4, dtype=np.float32))
    index.save(path)
    return path


@FAST
@given(sidecar=fuzzing.sidecars())
def test_the_index_sidecar_reader_loads_or_refuses_with_the_projects_error(saved_index, sidecar):
    sidecar_path(saved_index).write_bytes(sidecar)
    try:
        meta = read_sidecar(saved_index)
        index = load_index(saved_index)
    except UUEError as exc:
        assert "sidecar" in str(exc) or "index file" in str(exc) or "backend" in str(exc)
        return
    assert isinstance(meta["dim"], int) and isinstance(meta["factory"], str) and index.count == 3


def test_the_long_fuzz_script_runs_clean_on_a_slice(tmp_path):
    """``benchmarks/fuzz.py`` (100,000+ cases for the README) on 400 cases: its machinery works, 0 crashes,
    and its peer (the standard library's parser) does crash on the same lines: the cases have teeth."""
    from benchmarks.fuzz import run

    fuzz, peer, _, _ = run(400, seed=7, tmp=str(tmp_path))
    assert sum(sum(c.values()) for c in fuzz.outcomes.values()) == 400
    assert fuzz.crashes == [] and all(c["crash"] == 0 for c in fuzz.outcomes.values())
    assert peer["crash"] + peer["poisoned"] > 0
