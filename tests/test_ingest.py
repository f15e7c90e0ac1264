"""Ingest: validation with path:line errors, all-or-nothing transactions, upsert."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from storage.errors import IngestError
from storage.records import history_texts, is_held_out, split_for
from storage.tables import Chunk, Label, User
from support.records import user_line


def counts(store) -> tuple[int, int]:
    with store.session() as s:
        return s.scalar(select(func.count(User.id))), s.scalar(select(func.count(Chunk.id)))


def test_ingest_round_trip(store, write_jsonl):
    path = write_jsonl([user_line("u1", split="train"), user_line("u2", n_chunks=3)])
    result = store.ingest_file(path)
    assert result["users_added"] == 2 and result["chunks"] == 5
    pk, record = store.get_user("u1")
    assert record["split"] == "train"
    assert [c["text"] for c in record["chunks"]] == ["post 0 of u1", "post 1 of u1"]
    assert record["chunks"][0]["metadata"] == {"subreddit": "hiking"}
    assert record["statements"] == ["enjoys hiking"]
    assert record["negative_statements"] == ["dislikes nature"]
    assert record["traits"] == {"openness": 0.5} and record["metadata"] == {"country": "DE"}
    assert store.get_user("u2")[1]["split"] == split_for("u2")


BAD_LINES = [
    ("{not json", "invalid JSON"),
    ({"chunks": [{"text": "x"}]}, "'user_id' is required"),
    ({"user_id": 42, "chunks": [{"text": "x"}]}, "'user_id' is required and must be a non-empty string"),
    ({"user_id": "u9"}, "'chunks' is required"),
    ({"user_id": "u9", "chunks": []}, "'chunks' is required and must be a non-empty list"),
    ({"user_id": "u9", "chunks": [{"text": "   "}]}, "'chunks[0].text' is empty"),
    ({"user_id": "u9", "chunks": [{"platform": "x"}]}, "'chunks[0].text' is required"),
    ({"user_id": "u9", "chunks": [{"text": "x", "timestamp": "yesterday"}]}, "'chunks[0].timestamp' is not ISO 8601"),
    ({"user_id": "u9", "chunks": [{"text": "x", "timestamp": 1714564800}]}, "must be an ISO 8601 string"),
    ({"user_id": "u9", "chunks": "hello"}, "'chunks' is required and must be a non-empty list"),
    ({"user_id": "u9", "chunks": [{"text": "x"}], "statements": "enjoys hiking"}, "'statements' must be a list"),
    ({"user_id": "u9", "chunks": [{"text": "x"}], "traits": {"age": "old"}}, "'traits.age' must be a finite number"),
    ({"user_id": "u9", "chunks": [{"text": "x"}], "metadata": {"a": {"b": 1}}}, "metadata is flat"),
    ({"user_id": "u9", "chunks": [{"text": "x"}], "split": "validation"}, "'split' must be one of"),
    *[({"user_id": "u9", "chunks": [{"text": "x"}, {"text": "y", "metadata": falsy}]},
       f"'chunks[1].metadata' must be a JSON object, got {type(falsy).__name__}") for falsy in (0, "", [], False)],
    ({"user_id": "u9", "chunks": [{"text": "x", "metadata": ["a"]}]}, "'chunks[0].metadata' must be a JSON object"),
    ({"user_id": "u9", "chunks": [{"text": "x"}], "stataments": []}, "unknown field(s): stataments"),
    ([1, 2], "must be a JSON object"),
    (b'{"user_id": "u9", "chunks": [{"text": "caf\xe9"}]}', "not valid UTF-8"),
]


@pytest.mark.parametrize("bad, message", BAD_LINES, ids=[m for _, m in BAD_LINES])
def test_bad_line_names_path_and_line_and_writes_nothing(store, write_jsonl, bad, message):
    good = [user_line(f"u{i}") for i in range(5)]
    path = write_jsonl(good[:3] + [json.dumps(bad) if isinstance(bad, list) else bad] + good[3:])
    with pytest.raises(IngestError) as err:
        store.ingest_file(path)
    assert str(err.value).startswith(f"{path}:4: ")
    assert message in str(err.value)
    assert counts(store) == (0, 0)


def test_failure_after_many_batches_rolls_back_everything(store, write_jsonl):
    store.ingest_file(write_jsonl([user_line("keep")], "first.jsonl"))
    lines = [user_line(f"u{i}") for i in range(2500)] + ["{broken"]
    with pytest.raises(IngestError, match=":2501: invalid JSON"):
        store.ingest_file(write_jsonl(lines))
    assert counts(store) == (1, 2)
    assert store.get_user("keep")[1]["chunks"][0]["text"] == "post 0 of keep"


def test_chunk_metadata_may_be_null_or_empty(store, write_jsonl):
    store.ingest_file(write_jsonl([{"user_id": "u1", "chunks": [{"text": "x", "metadata": None},
                                                                {"text": "y", "metadata": {}}]}]))
    assert [c["metadata"] for c in store.get_user("u1")[1]["chunks"]] == [{}, {}]


def test_empty_file_is_an_error(store, write_jsonl, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n  \n")
    with pytest.raises(IngestError, match="empty"):
        store.ingest_file(empty)
    with pytest.raises(IngestError, match="no such file"):
        store.ingest_file(tmp_path / "missing.jsonl")


def test_upsert_keeps_primary_key_and_replaces_content(store, write_jsonl):
    store.ingest_file(write_jsonl([user_line("u1"), user_line("u2")], "a.jsonl"))
    pk_before = store.user_pk("u1")
    hash_before = store.content_hashes()[pk_before]
    changed = user_line("u1", n_chunks=1, statements=["plays chess"], negative_statements=[])
    result = store.ingest_file(write_jsonl([changed], "b.jsonl"))
    assert result["users_replaced"] == 1 and result["users_added"] == 0
    pk, record = store.get_user("u1")
    assert pk == pk_before
    assert len(record["chunks"]) == 1 and record["statements"] == ["plays chess"]
    assert record["negative_statements"] == []
    assert store.content_hashes()[pk] != hash_before
    assert counts(store) == (2, 3)


def test_duplicate_user_id_in_one_file_later_line_wins(store, write_jsonl):
    lines = [user_line("dup", n_chunks=1), user_line("other"), user_line("dup", n_chunks=3)]
    result = store.ingest_file(write_jsonl(lines))
    assert result["users_added"] == 2 and result["duplicate_lines"] == 1
    assert len(store.get_user("dup")[1]["chunks"]) == 3


def test_large_single_text_is_accepted_as_data(store, write_jsonl):
    text = "word " * 2_000_000  # 10 MB
    store.ingest_file(write_jsonl([{"user_id": "big", "chunks": [{"text": text}]}]))
    assert len(store.get_user("big")[1]["chunks"][0]["text"]) == len(text)


def test_timestamps_are_normalised_to_utc(store, write_jsonl):
    line = {"user_id": "tz", "chunks": [{"text": "a", "timestamp": "2024-05-01T14:00:00+02:00"},
                                        {"text": "b", "timestamp": "2024-05-01"}]}
    store.ingest_file(write_jsonl([line]))
    stamps = [c["timestamp"] for c in store.get_user("tz")[1]["chunks"]]
    assert stamps == ["2024-05-01T12:00:00Z", "2024-05-01T00:00:00Z"]


def test_statement_pool_and_held_out(store, write_jsonl, tmp_path):
    pool = tmp_path / "pool.txt"
    texts = [f"statement number {i}" for i in range(400)]
    pool.write_text("\n".join(texts) + "\n")
    store.ingest_file(write_jsonl([user_line("u1")]), pool)
    stored = dict((t, i) for i, t in store.statements())
    assert set(texts) <= set(stored)
    held = {t for i, t in store.statements(held_out=True)}
    assert held == {t for t in stored if is_held_out(t)}
    assert 0.05 < len(held) / len(stored) < 0.15  # ~10%, deterministic
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Label)) == 2


def test_statement_pool_jsonl_categories(store, write_jsonl):
    pool = write_jsonl([{"text": "enjoys hiking", "category": "hobby"}, {"text": "owns a cat"}], "pool.jsonl")
    result = store.ingest_file(write_jsonl([user_line("u1")]), pool)
    assert result["pool_statements"] == 2
    bad = write_jsonl([{"text": ""}], "bad_pool.jsonl")
    with pytest.raises(IngestError, match="bad_pool.jsonl:1: 'text' is required"):
        store.ingest_file(write_jsonl([user_line("u2")], "u2.jsonl"), bad)
    assert store.count_users() == 1


def test_split_is_deterministic_and_roughly_80_10_10():
    splits = [split_for(f"user-{i}") for i in range(20000)]
    assert splits == [split_for(f"user-{i}") for i in range(20000)]
    share = {s: splits.count(s) / len(splits) for s in ("train", "dev", "test")}
    assert abs(share["train"] - 0.8) < 0.02 and abs(share["dev"] - 0.1) < 0.02



def test_a_failed_ingest_turns_garbage_collection_back_on(store, write_jsonl):
    import gc

    with pytest.raises(IngestError):
        store.ingest_file(write_jsonl([user_line("a"), "{bad"]))
    assert gc.isenabled()
    store.ingest_file(write_jsonl([user_line("a"), user_line("b")], "good.jsonl"))
    assert gc.isenabled() and store.count_users() == 2


def test_iter_histories_gives_what_an_embedding_pass_reads_of_iter_users(store, write_jsonl):
    """Texts oldest first (by timestamp when every chunk has one, else in file order), by pk."""
    out_of_order = user_line("u1", n_chunks=3)
    out_of_order["chunks"].reverse()
    partial = user_line("u2", n_chunks=3)
    partial["chunks"][1].pop("timestamp")
    partial["chunks"].reverse()
    store.ingest_file(write_jsonl([out_of_order, partial, user_line("u3", n_chunks=1)]))
    pks = [store.get_user(u)[0] for u in ("u3", "u1", "u2")]
    got = list(store.iter_histories(pks + [10_000], batch_size=2))  # an unknown pk is skipped
    assert got == [(pk, history_texts(record["chunks"])) for pk, record in store.iter_users(pks=pks)]
    assert dict(got)[pks[1]] == ["post 0 of u1", "post 1 of u1", "post 2 of u1"]
    assert dict(got)[pks[2]] == ["post 2 of u2", "post 1 of u2", "post 0 of u2"]


def test_iter_histories_on_a_driver_without_question_marks_or_percent_s_takes_sqlalchemys_path(store, write_jsonl,
                                                                                            monkeypatch):
    store.ingest_file(write_jsonl([user_line("u1", n_chunks=3), user_line("u2", n_chunks=2)]))
    pks = [store.get_user(u)[0] for u in ("u1", "u2")]
    driver = list(store.iter_histories(pks))
    from storage import driver_sql

    monkeypatch.setattr(driver_sql, "MARKS", {})  # as for a driver whose style is :name (e.g. oracledb)
    assert list(store.iter_histories(pks)) == driver and len(driver) == 2


def test_iter_histories_errors_come_out_as_sqlalchemys(store, write_jsonl):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    store.ingest_file(write_jsonl([user_line("u1", n_chunks=2)]))
    pk = store.get_user("u1")[0]
    with store.session() as s:
        s.execute(text("ALTER TABLE chunks RENAME TO chunks_gone"))
    with pytest.raises(DBAPIError, match="chunks"):
        list(store.iter_histories([pk]))
    with store.session() as s:  # the connection is still usable
        s.execute(text("ALTER TABLE chunks_gone RENAME TO chunks"))
    assert list(store.iter_histories([pk])) == [(pk, ["post 0 of u1", "post 1 of u1"])]
