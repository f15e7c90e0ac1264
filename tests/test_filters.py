"""Filters resolve to user-id sets in SQL: platform, split, user and chunk metadata, time."""

from __future__ import annotations

import pytest

from storage.filters import FilterError, parse_filter, resolve_filter


@pytest.fixture
def filled(store, write_jsonl):
    lines = [
        {"user_id": "de_reddit", "metadata": {"country": "DE", "age": 30}, "split": "train",
         "chunks": [{"text": "a", "platform": "reddit", "timestamp": "2024-01-10T00:00:00Z",
                     "metadata": {"subreddit": "hiking"}}]},
        {"user_id": "fr_twitter", "metadata": {"country": "FR"}, "split": "test",
         "chunks": [{"text": "b", "platform": "twitter", "timestamp": "2024-03-10T00:00:00Z"}]},
        {"user_id": "de_both", "metadata": {"country": "DE"}, "split": "test",
         "chunks": [{"text": "c", "platform": "twitter", "timestamp": "2024-02-01T00:00:00Z"},
                    {"text": "d", "platform": "reddit", "metadata": {"subreddit": "chess"}}]},
    ]
    store.ingest_file(write_jsonl(lines))
    return store


def ids(store, *where, since=None, until=None) -> set[str]:
    found = resolve_filter(store, parse_filter(where, since, until))
    return set(store.user_ids(found).values())


def test_each_filter_kind(filled):
    assert ids(filled, "platform=reddit") == {"de_reddit", "de_both"}
    assert ids(filled, "country=DE") == {"de_reddit", "de_both"}
    assert ids(filled, "country=DE", "platform=twitter") == {"de_both"}
    assert ids(filled, "split=test") == {"fr_twitter", "de_both"}
    assert ids(filled, "subreddit=chess") == {"de_both"}
    assert ids(filled, "age=30") == {"de_reddit"}
    assert ids(filled, "country=US") == set()


def test_time_window(filled):
    assert ids(filled, since="2024-02-01") == {"fr_twitter", "de_both"}
    assert ids(filled, until="2024-02-01") == {"de_reddit", "de_both"}  # a bare date covers the whole day
    assert ids(filled, since="2024-01-15", until="2024-02-15") == {"de_both"}


@pytest.mark.parametrize("until", ["2024-02-01", "20240201", " 2024-02-01 ", "2024-W05-4"])
def test_a_bare_until_date_covers_the_whole_day(filled, write_jsonl, until):
    assert parse_filter(until=until).until == "2024-02-01T23:59:59Z"  # any ISO 8601 date form
    filled.ingest_file(write_jsonl([{"user_id": "evening", "chunks": [
        {"text": "e", "timestamp": "2024-02-01T18:30:00Z"}]}], "more.jsonl"))
    assert "evening" in ids(filled, until=until)
    assert parse_filter(until="20240201T00:00").until == "2024-02-01T00:00:00Z"  # a time is taken as given
    assert parse_filter(since="20240201").since == "2024-02-01T00:00:00Z"


def test_no_filter_is_none(filled):
    assert resolve_filter(filled, parse_filter()) is None


@pytest.mark.parametrize("where, message", [
    (["country"], "expected KEY=VALUE"),
    (["=DE"], "expected KEY=VALUE"),
])
def test_malformed(where, message):
    with pytest.raises(FilterError, match=message):
        parse_filter(where)


def test_bad_dates_and_unknown_key(filled):
    with pytest.raises(FilterError, match="not an ISO 8601"):
        parse_filter(since="last week")
    with pytest.raises(FilterError, match="window is empty"):
        parse_filter(since="2024-03-01", until="2024-01-01")
    with pytest.raises(FilterError, match="unknown filter key 'colour'.*country"):
        resolve_filter(filled, parse_filter(["colour=red"]))


def test_values_are_bound_not_evaluated(filled):
    assert ids(filled, "country=DE' OR '1'='1") == set()
