"""What PostgreSQL needs beyond the tests every store runs on both backends (``db_url``)."""

from __future__ import annotations

import pytest

from storage.errors import IngestError, UUEError
from storage.filters import parse_filter


def test_a_nul_character_is_a_line_error_on_every_backend(store, write_jsonl):
    """PostgreSQL text cannot hold NUL; SQLite could, but a store must move between backends."""
    lines = [{"user_id": "ok", "chunks": [{"text": "fine"}]},
             '{"user_id": "bad", "chunks": [{"text": "a\\u0000b"}]}']
    with pytest.raises(IngestError, match=r"users.jsonl:2: chunks\[0\].text holds a NUL character"):
        store.ingest_file(write_jsonl(lines))
    assert store.count_users() == 0
    with pytest.raises(UUEError, match="NUL character"):
        parse_filter(["country=D\x00E"])
