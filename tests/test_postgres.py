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


def _users(prefix: str, n: int, vocabulary: list[str]) -> list[dict]:
    return [{"user_id": f"{prefix}{i}", "metadata": {"side": prefix},
             "chunks": [{"text": f"{prefix} post {i}.{j}", "platform": "forum", "metadata": {"n": j}} for j in range(3)],
             "statements": [vocabulary[(i + k) % len(vocabulary)] for k in range(3)]} for i in range(n)]


def test_two_ingests_and_queries_at_once_lose_nothing(db_url, write_jsonl):
    """Two writers sharing new statements and one user id, while a reader queries: every row
    arrives, no statement twice, the shared user whole from one file, no error anywhere."""
    import threading

    from storage.filters import resolve_filter
    from storage.store import Store

    shared = [f"new statement {k}" for k in range(40)]  # in neither store yet: both files create them
    first = _users("a", 300, shared) + [{"user_id": "both", "chunks": [{"text": "from a"}] * 2}]
    second = _users("b", 300, shared[::-1]) + [{"user_id": "both", "chunks": [{"text": "from b"}] * 3}]
    paths = [write_jsonl(first, "first.jsonl"), write_jsonl(second, "second.jsonl")]
    with Store(db_url) as store:
        store.ingest_file(write_jsonl(_users("base", 20, ["old statement"]), "base.jsonl"))
    errors: list[BaseException] = []
    done = threading.Event()

    def ingest(path) -> None:
        try:
            with Store(db_url) as own:
                own.ingest_file(path)
        except BaseException as exc:  # reported below
            errors.append(exc)

    def query() -> None:
        try:
            with Store(db_url) as own:
                while not done.is_set():
                    assert own.count_users() >= 20
                    found = resolve_filter(own, parse_filter(["platform=forum"]))
                    assert len(found) in (20, 320, 620)  # base, base and one file, all: never half a file
                    assert own.get_user("base3")[1]["statements"] == ["old statement"]
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=query)
    writers = [threading.Thread(target=ingest, args=(p,)) for p in paths]
    reader.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    reader.join()
    assert errors == []
    with Store(db_url) as store:
        stats = store.stats()
        assert stats["users"] == 20 + 300 + 300 + 1
        assert stats["chunks"] == 3 * 620 + len(store.get_user("both")[1]["chunks"])
        assert stats["statements"] == 1 + 40 and stats["positive_labels"] == 20 + 3 * 600
        texts = {c["text"] for c in store.get_user("both")[1]["chunks"]}
        assert texts in ({"from a"}, {"from b"})  # one file's version, never a mix
        assert len(store.get_user("b299")[1]["statements"]) == 3


def test_copy_and_insert_write_the_same_rows(postgres, write_jsonl, monkeypatch):
    """COPY (the default on PostgreSQL) and the multi-row INSERT it was measured against store
    the same rows, escapes included (COPY's text format has its own)."""
    from storage import bulk
    from storage.store import Store

    odd = "tab\there, newline\nthere, back\\slash, \\N, quote \" ' , emoji 🥾, CR\r"
    lines = [{"user_id": f"u{i}", "metadata": {"country": "DE", "note": odd, "n": i, "vip": i % 2 == 0, "none": None},
              "chunks": [{"text": f"{odd} {i}", "platform": None if i % 2 else "reddit",
                          "timestamp": "2024-05-01T12:00:00Z" if i % 3 else None,
                          "metadata": {"sub": odd, "k": 1.5} if i % 2 else {}}],
              "statements": [f"enjoys {odd}"], "negative_statements": ["dislikes x"], "traits": {"t": i / 3}}
             for i in range(5)]
    path = write_jsonl(lines)
    stored = {}
    for method in ("copy", "insert"):
        monkeypatch.setattr(bulk, "POSTGRES_METHOD", method)
        with Store(postgres.new_database()) as store:
            store.ingest_file(path)
            stored[method] = ([store.get_user(f"u{i}") for i in range(5)], store.stats())
    assert stored["copy"] == stored["insert"]
    users, _ = stored["copy"]
    assert users[0][1]["chunks"][0]["text"] == f"{odd} 0" and users[1][1]["chunks"][0]["metadata"]["sub"] == odd
    assert users[0][1]["metadata"] == {"country": "DE", "note": odd, "n": 0, "vip": True, "none": None}
