"""Issue 13: filters agree on value forms and take any key; fuzzed, they never raise a foreign exception."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.errors import UUEError
from storage.filters import parse_filter, resolve_filter


@pytest.fixture
def typed(store, write_jsonl):
    lines = [
        {"user_id": "yes", "metadata": {"vip": True, "score": 1.5, 'q"k': "a"},
         "chunks": [{"text": "a", "metadata": {"flag": True, "n": 3, "r": 2.5, 'say"x': "hi", "none": None}}]},
        {"user_id": "no", "metadata": {"vip": False, "score": 1},
         "chunks": [{"text": "b", "metadata": {"flag": False, "n": 1}}]},
    ]
    store.ingest_file(write_jsonl(lines))
    return store


def ids(store, *where) -> set[str]:
    return set(store.user_ids(resolve_filter(store, parse_filter(where))).values())


def test_booleans_and_numbers_read_the_same_in_user_and_chunk_metadata(typed):
    assert ids(typed, "vip=true") == {"yes"} and ids(typed, "flag=true") == {"yes"}
    assert ids(typed, "vip=false") == {"no"} and ids(typed, "flag=false") == {"no"}
    assert ids(typed, "vip=1") == set() and ids(typed, "flag=1") == set()  # a boolean is not the number 1
    assert ids(typed, "n=1") == {"no"} and ids(typed, "score=1") == {"no"}
    assert ids(typed, "r=2.5") == {"yes"} and ids(typed, "score=1.5") == {"yes"}


def test_a_quote_in_a_key_is_a_key_like_any_other(typed):
    assert ids(typed, 'say"x=hi') == {"yes"}  # chunk metadata
    assert ids(typed, 'q"k=a') == {"yes"}  # user metadata
    with pytest.raises(UUEError, match="unknown filter key 'key\"'"):
        ids(typed, 'key"=1')


def test_a_key_whose_only_values_are_null_is_unknown(typed):
    with pytest.raises(UUEError, match="unknown filter key 'none'"):
        ids(typed, "none=null")


filter_text = st.text(st.characters(exclude_categories=()), max_size=30)  # lone surrogates too
where_items = st.lists(st.one_of(filter_text, st.builds(lambda k, v: f"{k}={v}", filter_text, filter_text)),
                       max_size=3)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=where_items, since=st.one_of(st.none(), filter_text), until=st.one_of(st.none(), filter_text))
def test_any_filter_resolves_or_fails_with_the_projects_error(typed, where, since, until):
    try:
        found = resolve_filter(typed, parse_filter(where, since, until))
    except UUEError:
        return
    assert found is None or found.dtype.kind == "i"
