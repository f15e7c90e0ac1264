"""Issue 13: every edge of a line is a ``path:line:`` error, never a traceback or a poisoned store."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from storage import strict_json
from storage.errors import IngestError
from storage.filters import parse_filter, resolve_filter
from storage.records import InvalidRecord, normalise_timestamp, validate_user
from storage.tables import Chunk, User
from support.records import user_line


def counts(store) -> tuple[int, int]:
    with store.session() as s:
        return s.scalar(select(func.count(User.id))), s.scalar(select(func.count(Chunk.id)))


def chunk_line(**chunk) -> str:
    return json.dumps({"user_id": "u9", "chunks": [{"text": "x", **chunk}]})


# Each reproduced by the attack of issue 13 (a traceback before the fix).
EDGE_LINES = [
    (chunk_line(timestamp="0001-01-01T00:00:00+01:00"), "outside the years 0001-9999"),
    (chunk_line(timestamp="9999-12-31T23:59:59-01:00"), "outside the years 0001-9999"),
    ('{"user_id": "u9", "chunks": [{"text": "a \\ud800 b"}]}', "chunks[0].text holds a lone UTF-16 surrogate"),
    ('{"user_id": "\\udfff", "chunks": [{"text": "x"}]}', "user_id holds a lone UTF-16 surrogate"),
    ('{"user_id": "u9", "chunks": [{"text": "x", "metadata": {"\\ud800": 1}}]}', "lone UTF-16 surrogate"),
    ('{"user_id": "u9", "chunks": [{"text": "x"}], "traits": {"t": ' + "9" * 400 + "}}", "does not fit in 64 bits"),
    ('{"user_id": "u9", "chunks": [{"text": "x"}], "traits": {"t": ' + "9" * 5000 + "}}", "does not fit in 64 bits"),
    ('{"user_id": "u9", "chunks": [{"text": "x"}], "traits": {"t": 1e400}}', "too large for a 64-bit float"),
    ('{"user_id": "u9", "chunks": [{"text": "x"}], "metadata": ' + "[" * 100_000 + "]" * 100_000 + "}",
     "nested too deeply"),
    ('{"user_id": "u9", "chunks": [{"text": "x"}], "metadata": {"x": Infinity}}', "Infinity is not valid JSON"),
    ('{"user_id": "u9", "chunks": [{"text": "x", "metadata": {"x": NaN}}]}', "NaN is not valid JSON"),
    ('{"user_id": "u9", "chunks": [{"text": "x", "metadata": {"x": -Infinity}}]}', "-Infinity is not valid JSON"),
    ('{"user_id": "u9", "user_id": "u10", "chunks": [{"text": "x"}]}', "key 'user_id' appears more than once"),
]


@pytest.mark.parametrize("bad, message", EDGE_LINES, ids=[m for _, m in EDGE_LINES])
def test_edge_values_are_line_errors_and_write_nothing(store, write_jsonl, bad, message):
    path = write_jsonl([user_line("u1"), bad, user_line("u2")])
    with pytest.raises(IngestError) as err:
        store.ingest_file(path)
    assert str(err.value).startswith(f"{path}:2: ") and message in str(err.value)
    assert counts(store) == (0, 0)


def test_a_surrogate_pair_is_a_character_not_an_error(store, write_jsonl):
    store.ingest_file(write_jsonl(['{"user_id": "u1", "chunks": [{"text": "\\ud83d\\ude00 \\\\ud800"}]}']))
    assert store.get_user("u1")[1]["chunks"][0]["text"] == "\U0001F600 \\ud800"


def test_timestamps_at_the_calendar_edge_in_utc_are_kept_with_four_digit_years():
    assert normalise_timestamp("0001-01-01T00:30:00-00:30") == "0001-01-01T01:00:00Z"
    assert normalise_timestamp("0001-01-01T01:00:00+01:00") == "0001-01-01T00:00:00Z"
    assert normalise_timestamp("9999-12-31T23:59:59Z") == "9999-12-31T23:59:59Z"


def test_int64_is_the_largest_integer_and_is_kept(store, write_jsonl):
    store.ingest_file(write_jsonl([user_line("u1", metadata={"big": 2**63 - 1, "small": -(2**63 - 1)})]))
    assert store.get_user("u1")[1]["metadata"] == {"big": 2**63 - 1, "small": -(2**63 - 1)}
    with pytest.raises(strict_json.StrictJSONError, match="64 bits"):
        strict_json.loads(str(2**63))


def test_no_nan_reaches_the_store_from_the_python_api(store):
    with pytest.raises(InvalidRecord, match="finite"):
        validate_user({"user_id": "u1", "chunks": [{"text": "x"}], "metadata": {"x": float("nan")}})
    record = validate_user({"user_id": "u1", "chunks": [{"text": "x", "metadata": {"x": float("inf")}}]})
    with pytest.raises(strict_json.StrictJSONError, match="finite"):
        store.ingest([record])
    assert counts(store) == (0, 0)


def test_chunk_metadata_filters_keep_working_after_a_refused_infinity(store, write_jsonl):
    store.ingest_file(write_jsonl([user_line("u1")]))
    with pytest.raises(IngestError):
        store.ingest_file(write_jsonl(['{"user_id": "u2", "chunks": [{"text": "x", "metadata": {"x": Infinity}}]}'],
                                      "bad.jsonl"))
    found = resolve_filter(store, parse_filter(["subreddit=hiking"]))
    assert set(store.user_ids(found).values()) == {"u1"}


def test_user_ids_are_one_user_in_any_unicode_normal_form(store, write_jsonl):
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    store.ingest_file(write_jsonl([user_line(composed)]))
    result = store.ingest_file(write_jsonl([user_line(decomposed, n_chunks=3)], "again.jsonl"))
    assert result["users_replaced"] == 1 and result["users_added"] == 0
    assert counts(store) == (1, 3)
    assert store.get_user(decomposed)[1]["user_id"] == composed == store.get_user(composed)[1]["user_id"]
