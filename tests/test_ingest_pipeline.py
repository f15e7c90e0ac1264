"""Pipelined ingest (``storage.pipeline``): a second process reads, this one writes.

Same rows, counts and errors as the in-process path; a bad line, a crashed reader or an
error in the writer rolls the whole file back and leaves no reader running; secondary
indexes deferred in an empty store come back, also after a rollback.
"""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import pipeline
from storage.errors import IngestError, UUEError
from storage.ingest import ingest_files
from storage.store import Store
from support import fuzzing
from support.records import user_line

# Users by user_id: a user_id repeated across batches leaves its provisional key unused in the
# pipelined path, so later new users may get other (never reused) keys than in-process.
QUERIES = {
    "users": "SELECT user_id, split, metadata, content_hash, num_chunks FROM users",
    "chunks": "SELECT u.user_id, c.position, c.text, c.platform, c.timestamp, c.metadata FROM chunks c "
              "JOIN users u ON u.id = c.user_pk",
    "labels": "SELECT u.user_id, l.statement_id, l.positive FROM labels l JOIN users u ON u.id = l.user_pk",
    "traits": "SELECT u.user_id, t.name, t.value FROM traits t JOIN users u ON u.id = t.user_pk",
    "attributes": "SELECT u.user_id, a.key, a.value FROM user_attributes a JOIN users u ON u.id = a.user_pk",
    "statements": "SELECT * FROM statements",
    "indexes": "SELECT name, sql FROM sqlite_master WHERE type = 'index'",
}


def dump(url: str, keys: bool = False) -> dict[str, list]:
    """Every row of the ingest tables (users without ``updated_at``), and the indexes."""
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        out = {name: conn.execute(f"{query} ORDER BY 1, 2").fetchall() for name, query in QUERIES.items()}
        if keys:
            out["keys"] = conn.execute("SELECT id, user_id FROM users ORDER BY id").fetchall()
    return out


@pytest.fixture
def two_stores(tmp_path):
    urls = [f"sqlite:///{tmp_path / name}.db" for name in ("inprocess", "pipelined")]
    stores = [Store(url) for url in urls]
    yield urls, stores
    for store in stores:
        store.close()


def ingest_both(stores, path, **kwargs) -> list[dict]:
    return [ingest_files(store.engine, path, pipeline=pipelined, **kwargs)
            for store, pipelined in zip(stores, (False, True))]


def lines(n: int, start: int = 0, **extra) -> list[dict]:
    return [user_line(f"u{i}", n_chunks=1 + i % 4, statements=[f"likes topic {i % 7}"], **extra)
            for i in range(start, start + n)]


def test_same_rows_and_counts_as_in_process(two_stores, write_jsonl, tmp_path):
    urls, stores = two_stores
    pool = write_jsonl([{"text": "likes topic 3", "category": "topics"}], "pool.jsonl")
    path = write_jsonl(lines(25) + [user_line("u3", n_chunks=2), user_line("u30", metadata={"k": None})])
    counts = [ingest_files(store.engine, path, pool, batch_size=4, pipeline=p) for store, p in zip(stores, (0, 1))]
    assert counts[0] == counts[1] and counts[1]["users_replaced"] == 1 and counts[1]["pool_statements"] == 1
    assert dump(urls[0]) == dump(urls[1])
    assert stores[1].get_user("u3")[1]["chunks"][1]["text"] == "post 1 of u3"  # the later line won


def test_an_upsert_into_a_stored_set_keeps_primary_keys(two_stores, write_jsonl):
    urls, stores = two_stores
    ingest_both(stores, write_jsonl(lines(6), "first.jsonl"))
    assert dump(urls[0], keys=True) == dump(urls[1], keys=True)  # no repeats: the same keys too
    pks = [store.user_pk("u2") for store in stores]
    counts = ingest_both(stores, write_jsonl(lines(6, start=3, traits={"age": 30}), "second.jsonl"), batch_size=2)
    assert counts[0] == counts[1] == {**counts[0], "users_added": 3, "users_replaced": 3}
    assert [store.user_pk("u2") for store in stores] == pks
    assert dump(urls[0]) == dump(urls[1])


def test_a_bad_line_after_many_batches_is_the_same_error_and_writes_nothing(two_stores, write_jsonl):
    urls, stores = two_stores
    before = dump(urls[1])
    path = write_jsonl(lines(40) + ['{"user_id": "u9", "chunks": [{"text": "x", "timestamp": "soon"}]}'])
    errors = []
    for store, pipelined in zip(stores, (False, True)):
        with pytest.raises(IngestError) as err:
            ingest_files(store.engine, path, batch_size=3, pipeline=pipelined)
        errors.append(str(err.value))
    assert errors[0] == errors[1] and errors[1].startswith(f"{path}:41: 'chunks[0].timestamp' is not ISO 8601")
    assert dump(urls[0]) == dump(urls[1]) == before  # no rows; the deferred indexes are back


@pytest.mark.parametrize("content, message", [(b"", "the file is empty"), (b"\n\n", "the file is empty"),
                                              (b'{"user_id": "u1", "user_id": "u2"}\n', "appears more than once")])
def test_file_level_errors_are_the_in_process_ones(two_stores, tmp_path, content, message):
    _, stores = two_stores
    path = tmp_path / "users.jsonl"
    path.write_bytes(content)
    errors = []
    for store, pipelined in zip(stores, (False, True)):
        with pytest.raises(IngestError) as err:
            ingest_files(store.engine, path, pipeline=pipelined)
        errors.append(str(err.value))
    assert errors[0] == errors[1] and message in errors[1]


def test_an_error_in_the_writer_stops_the_reader_and_rolls_back(two_stores, write_jsonl, monkeypatch):
    urls, stores = two_stores
    before = dump(urls[1])
    started = []
    original = pipeline._Reader.__init__

    def init(self, job):
        original(self, job)
        started.append(self)

    def fail(self, frame):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pipeline._Reader, "__init__", init)
    monkeypatch.setattr(pipeline._PreparedWriter, "write", fail)
    with pytest.raises(RuntimeError, match="disk on fire"):
        ingest_files(stores[1].engine, write_jsonl(lines(50)), batch_size=2, pipeline=True)
    assert started and started[0].process.returncode is not None  # stopped and reaped
    assert dump(urls[1]) == before


def test_a_reader_that_dies_is_an_error_and_writes_nothing(two_stores, write_jsonl, monkeypatch):
    urls, stores = two_stores
    before = dump(urls[1])
    monkeypatch.setattr(pipeline, "READER_MODULE", "storage.no_such_module")
    with pytest.raises(UUEError, match="reader process stopped .*No module named storage.no_such_module"):
        ingest_files(stores[1].engine, write_jsonl(lines(3)), pipeline=True)
    assert dump(urls[1]) == before


def test_big_files_on_sqlite_are_pipelined_by_default(store, write_jsonl, monkeypatch):
    path = write_jsonl(lines(3))
    assert not pipeline.wanted(store.engine, path, None)  # a few hundred bytes
    monkeypatch.setattr(pipeline, "MIN_BYTES", 1)
    monkeypatch.setattr(pipeline, "usable_cpus", lambda: {0, 1, 2, 3})
    monkeypatch.setattr(pipeline, "busy_cores", lambda cpus: 2.4)
    assert pipeline.wanted(store.engine, path, None) == (store.engine.dialect.name == "sqlite")
    assert not pipeline.wanted(store.engine, path.with_name("missing.jsonl"), None)
    monkeypatch.setattr(pipeline, "busy_cores", lambda cpus: 2.6)  # no core to spare
    assert not pipeline.wanted(store.engine, path, None)
    assert pipeline.wanted(store.engine, path, True) == (store.engine.dialect.name == "sqlite")
    monkeypatch.setattr(pipeline, "busy_cores", lambda cpus: None)  # no /proc/stat: the load average decides
    monkeypatch.setattr(pipeline.os, "getloadavg", lambda: (1.5, 1.0, 1.0))
    assert pipeline.wanted(store.engine, path, None) == (store.engine.dialect.name == "sqlite")
    monkeypatch.setattr(pipeline.os, "getloadavg", lambda: (3.5, 1.0, 1.0))
    assert not pipeline.wanted(store.engine, path, None)


def test_busy_cores_is_the_others_share_of_the_cpus_over_the_sample(monkeypatch, tmp_path):
    samples = iter([(1000, 4000), (1100, 4400)])  # 100 of 400 jiffies idle: 3 of 4 cores busy
    monkeypatch.setattr(pipeline, "cpu_times", lambda cpus: next(samples))
    monkeypatch.setattr(pipeline.os, "cpu_count", lambda: 4)
    assert pipeline.busy_cores(0) == pytest.approx(3.0)
    monkeypatch.setattr(pipeline, "cpu_times", lambda cpus: None)
    assert pipeline.busy_cores(0) is None
    monkeypatch.undo()
    stat = tmp_path / "stat"  # cpu lines: user nice system idle iowait irq softirq steal guest guest_nice
    stat.write_text("cpu  10 0 5 80 5 0 0 0 0 0\ncpu0 1 0 1 40 2 0 0 0 0 0\ncpu1 9 0 4 40 3 0 0 0 0 0\nintr 1\n")
    monkeypatch.setattr(pipeline, "PROC_STAT", str(stat))
    assert pipeline.cpu_times() == (85, 100) and pipeline.cpu_times({1}) == (43, 56)
    assert pipeline.cpu_times({7}) is None  # a CPU the file does not list
    monkeypatch.undo()
    idle, total = pipeline.cpu_times() or (0, 1)  # the real /proc/stat of this Linux machine
    assert 0 <= idle <= total
    cpus = pipeline.usable_cpus()
    busy = pipeline.busy_cores(0.05, cpus)  # None only if no tick was counted in the sample
    assert cpus and (busy is None or 0 <= busy <= len(cpus) + 0.01)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad=st.lists(fuzzing.user_lines(), min_size=1, max_size=2))
def test_fuzzed_files_get_the_in_process_answer(two_stores, tmp_path, bad):
    urls, stores = two_stores
    path = tmp_path / "fuzz.jsonl"
    good = [f'{{"user_id": "g{i}", "chunks": [{{"text": "t{i}"}}]}}' for i in range(3)]
    path.write_bytes("\n".join(good + bad).encode("utf-8", "surrogatepass") + b"\n")
    answers = []
    for store, pipelined in zip(stores, (False, True)):
        try:
            answers.append(ingest_files(store.engine, path, batch_size=2, pipeline=pipelined))
        except IngestError as exc:
            answers.append(str(exc))
    assert answers[0] == answers[1]
    assert dump(urls[0]) == dump(urls[1])


def test_the_connections_settings_are_put_back_after_the_deferred_index_builds(two_stores, write_jsonl):
    urls, stores = two_stores
    ingest_both(stores, write_jsonl(lines(5)))  # empty stores: indexes deferred, then built
    for store in stores:
        with store.engine.connect() as conn:
            assert [conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in ("cache_size", "temp_store")] == \
                [-65536, 2]
