"""Query filters (``--where KEY=VALUE``, ``--since``, ``--until``) resolved to user ids.

Filters are parsed, never evaluated: each becomes a bound-parameter SQL condition.
Keys, in order of lookup:

- ``platform``: users with at least one chunk on that platform;
- ``split``: the user's train / dev / test split;
- a user metadata key (``country=DE``): from the indexed ``user_attributes`` table;
- a chunk metadata key (``subreddit=hiking``): users with at least one such chunk.

``since`` / ``until`` (ISO 8601, inclusive) keep users with at least one chunk in the
window; an ``until`` without a time part (``2024-05-01``, ``20240501``) covers that
whole day. All conditions are ANDed. The result is a sorted ``int64`` array of user
primary keys (= FAISS ids), or ``None`` when there is no filter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlalchemy import Select, String, case, cast, func, null, select, true

from storage.errors import UUEError
from storage.records import normalise_timestamp
from storage.store import Store
from storage.tables import Chunk, User, UserAttribute


class FilterError(UUEError):
    """A malformed or unknown filter."""


@dataclass(frozen=True)
class UserFilter:
    where: tuple[tuple[str, str], ...] = ()
    since: str | None = None
    until: str | None = None

    @property
    def empty(self) -> bool:
        return not self.where and self.since is None and self.until is None


def _date_only(value: str) -> date | None:
    """The date of an ISO 8601 value without a time part (``2024-05-01``, ``20240501``), else ``None``."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def parse_filter(where: Sequence[str] = (), since: str | None = None, until: str | None = None) -> UserFilter:
    """Parse ``KEY=VALUE`` strings and timestamps; raise ``FilterError`` with the fix."""
    for name, item in (*(("--where", w) for w in where), ("--since", since), ("--until", until)):
        try:
            (item or "").encode("utf-8")
        except UnicodeEncodeError:  # bytes that were not UTF-8 on the command line arrive as lone surrogates
            raise FilterError(f"{name} {item!r} is not valid UTF-8 text") from None
        if item and "\x00" in item:  # never stored (ingest refuses it): PostgreSQL text cannot hold it
            raise FilterError(f"{name} {item!r} contains a NUL character (\\x00); remove it")
    pairs = []
    for item in where:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise FilterError(f"malformed --where {item!r}: expected KEY=VALUE, e.g. --where country=DE")
        pairs.append((key.strip(), value.strip()))

    def stamp(name: str, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            if name == "until" and (day := _date_only(value)) is not None:  # through the end of that day
                return f"{day.isoformat()}T23:59:59Z"
            return normalise_timestamp(value)
        except ValueError:
            raise FilterError(f"--{name} {value!r} is not an ISO 8601 date or time, e.g. 2024-05-01 "
                              "or 2024-05-01T12:00:00Z") from None

    parsed = UserFilter(tuple(pairs), stamp("since", since), stamp("until", until))
    if parsed.since and parsed.until and parsed.since > parsed.until:
        raise FilterError(f"--since {since} is after --until {until}: the window is empty")
    return parsed


def _chunk_key_value(store: Store):
    """``(chunk primary key column, key column, value-as-text column, FROM clause)`` of chunk metadata
    as one row per key, so a key is a bound parameter (never spliced into a JSON path: a key with a
    quote works) and a value reads as ``attribute_value`` writes user metadata: strings as they are,
    ``true`` / ``false`` for booleans, numbers as their JSON text."""
    if store.engine.dialect.name == "sqlite":
        pairs = func.json_each(Chunk.metadata_).table_valued("key", "type", "atom").alias("chunk_meta")
        value = case((pairs.c.type.in_(("true", "false")), pairs.c.type),
                     (pairs.c.type == "null", null()), else_=cast(pairs.c.atom, String))
        return Chunk.__table__.join(pairs, true()), pairs.c.key, value
    pairs = func.json_each_text(Chunk.metadata_).table_valued("key", "value").alias("chunk_meta")  # PostgreSQL
    return Chunk.__table__.join(pairs, true()), pairs.c.key, pairs.c.value


KEYS_SHOWN = 30  # metadata keys named in an unknown-key error


def _listed(keys: list[str]) -> str:
    if not keys:
        return "none stored"
    return ", ".join(keys[:KEYS_SHOWN]) + (", ..." if len(keys) > KEYS_SHOWN else "")


def _condition(store: Store, key: str, value: str) -> Select:
    if key == "platform":
        return select(Chunk.user_pk).where(Chunk.platform == value)
    if key == "split":
        return select(User.id).where(User.split == value)
    with store.session() as s:
        is_user_key = s.scalar(select(UserAttribute.key).where(UserAttribute.key == key).limit(1)) is not None
        if is_user_key:
            return select(UserAttribute.user_pk).where(UserAttribute.key == key, UserAttribute.value == value)
        source, key_column, value_column = _chunk_key_value(store)
        has_key = select(Chunk.id).select_from(source).where(key_column == key, value_column.is_not(None)).limit(1)
        if s.scalar(has_key) is None:
            user_keys = sorted(s.scalars(select(UserAttribute.key).distinct()))
            chunk_keys = sorted(s.scalars(select(key_column).select_from(source).distinct().limit(KEYS_SHOWN + 1)))
            raise FilterError(f"unknown filter key {key!r}: not platform, split, a user metadata key "
                              f"({_listed(user_keys)}) or a chunk metadata key ({_listed(chunk_keys)})")
    return select(Chunk.user_pk).select_from(source).where(key_column == key, value_column == value)


def resolve_filter(store: Store, user_filter: UserFilter) -> np.ndarray | None:
    """The user primary keys that pass every condition, sorted, or ``None`` (no filter)."""
    if user_filter.empty:
        return None
    subqueries = [_condition(store, k, v) for k, v in user_filter.where]
    if user_filter.since is not None or user_filter.until is not None:
        window = select(Chunk.user_pk)
        if user_filter.since is not None:
            window = window.where(Chunk.timestamp >= user_filter.since)
        if user_filter.until is not None:
            window = window.where(Chunk.timestamp <= user_filter.until)
        subqueries.append(window)
    stmt = select(User.id)
    for sub in subqueries:
        stmt = stmt.where(User.id.in_(sub))
    with store.session() as s:
        return np.fromiter(s.scalars(stmt.order_by(User.id)), dtype=np.int64)
