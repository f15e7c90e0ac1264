"""Validated records to row tuples in ``storage.bulk.INSERT_COLUMNS`` order.

Shared by the in-process writer (``storage.ingest``) and the pipelined reader
(``storage.pipeline``), so both write the same rows. No database access here: primary
keys and statement ids come in from the caller. Imports stay light (no SQLAlchemy): the
pipelined reader runs this in its own process.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from storage import strict_json
from storage.records import UserRecord, attribute_value, content_hash

JSON_CACHE_LIMIT = 100_000


class Rows:
    """Row lists of one batch, one per table, and the JSON cache of repeated metadata objects."""

    def __init__(self, json_cache: dict[tuple, str] | None = None) -> None:
        self.users: list[tuple] = []
        self.chunks: list[tuple] = []
        self.labels: list[tuple] = []
        self.traits: list[tuple] = []
        self.attributes: list[tuple] = []
        self._json_cache = {} if json_cache is None else json_cache

    def metadata_json(self, metadata: dict) -> str:
        """JSON text of a flat metadata object; repeated objects (a subreddit, a board) are
        serialised once (the cache is bounded)."""
        key = tuple(metadata.items())
        text = self._json_cache.get(key)
        if text is None:
            text = strict_json.dumps(metadata)
            if len(self._json_cache) < JSON_CACHE_LIMIT:
                self._json_cache[key] = text
        return text

    def user(self, pk: int, record: UserRecord, now) -> None:
        """The ``users`` row of a new user."""
        self.users.append((pk, record["user_id"], record["split"], strict_json.dumps(record["metadata"]),
                           content_hash(record), len(record["chunks"]), now))

    def children(self, pk: int, record: UserRecord, statement_ids: dict[str, int], first_position: int = 0) -> None:
        """The chunk, label, trait and attribute rows of one user (its statements already have ids)."""
        as_json = self.metadata_json
        self.chunks.extend((pk, position, c["text"], c["platform"], c["timestamp"],
                            as_json(c["metadata"]) if c["metadata"] else None)
                           for position, c in enumerate(record["chunks"], start=first_position))
        labels = {statement_ids[t]: False for t in record["negative_statements"]}
        labels.update({statement_ids[t]: True for t in record["statements"]})
        self.labels.extend((pk, s, p) for s, p in labels.items())
        self.traits.extend((pk, k, v) for k, v in record["traits"].items())
        self.attributes.extend((pk, k, attribute_value(v)) for k, v in record["metadata"].items() if v is not None)

    def by_table(self) -> dict[str, list[tuple]]:
        return {"users": self.users, "chunks": self.chunks, "labels": self.labels, "traits": self.traits,
                "user_attributes": self.attributes}


def new_statements(records, statement_ids: dict[str, int]) -> dict[str, None]:
    """The statement texts of ``records`` without an id yet, in first-seen order."""
    missing: dict[str, None] = {}
    for record in records:
        for text in (*record["statements"], *record["negative_statements"]):
            if text not in statement_ids:
                missing[text] = None
    return missing


def batches(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
