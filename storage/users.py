"""Users as a whole: list them (optionally through a filter) and delete them.

Deleting a user removes its row and everything hanging off it (chunks, labels, traits,
metadata) in one transaction and records its primary key in ``deleted_users``: index
builds made before the deletion still hold the user's vector, and queries leave every
recorded id out of their results until the next build drops the vector. The
``user_id`` itself is not kept. On SQLite, whose rowids would otherwise hand a deleted
maximum id to the next new user (and with it the deleted user's old vector), ingest
numbers new users above every recorded id (``storage.bulk.new_user_ids``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, select

from storage.bulk import lock_writers
from storage.errors import UUEError
from storage.store import Store
from storage.tables import Chunk, DeletedUser, Label, Trait, User, UserAttribute, batched

logger = logging.getLogger(__name__)

CHILD_TABLES = (Chunk.__table__, Label.__table__, Trait.__table__, UserAttribute.__table__)
MAX_LIST = 100_000  # users per ``list_users`` call


@dataclass
class Deletion:
    """What ``delete_users`` removed. ``chunk_texts``: the deleted chunks' texts (to purge caches)."""

    deleted: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    chunks: int = 0
    labels: int = 0
    chunk_texts: list[str] = field(default_factory=list, repr=False)

    def summary(self) -> dict[str, Any]:
        return {"deleted": self.deleted, "unknown": self.unknown, "chunks": self.chunks, "labels": self.labels}


def delete_users(store: Store, user_ids: Iterable[str], *, missing_ok: bool = True) -> Deletion:
    """Delete these users (rows, chunks, labels, traits, metadata) in one transaction.

    Unknown ids are reported in ``Deletion.unknown`` (``missing_ok=False``: raise instead,
    deleting nothing). Bumps the data version, so cached query filters are dropped.
    """
    from storage.ingest import bump_data_version

    wanted = list(dict.fromkeys(u.strip() for u in user_ids if u and u.strip()))
    if not wanted:
        raise UUEError("no user ids given: name at least one USER_ID (or --file FILE, one id per line)")
    result = Deletion()
    with store.engine.begin() as conn:
        lock_writers(conn)
        pk_of: dict[str, int] = {}
        for part in batched(wanted):
            pk_of.update(conn.execute(select(User.user_id, User.id).where(User.user_id.in_(part))).all())
        result.unknown = [u for u in wanted if u not in pk_of]
        if result.unknown and not missing_ok:
            shown = ", ".join(repr(u) for u in result.unknown[:5])
            raise UUEError(f"unknown user(s) {shown}{' ...' if len(result.unknown) > 5 else ''}: nothing deleted")
        result.deleted = [u for u in wanted if u in pk_of]
        pks = sorted(pk_of.values())
        for part in batched(pks):
            result.chunk_texts.extend(conn.scalars(select(Chunk.text).where(Chunk.user_pk.in_(part))))
            result.labels += conn.scalar(select(func.count()).select_from(Label).where(Label.user_pk.in_(part))) or 0
            for table in CHILD_TABLES:
                conn.execute(delete(table).where(table.c.user_pk.in_(part)))
            conn.execute(delete(User).where(User.id.in_(part)))
        known = set()
        for part in batched(pks):
            known.update(conn.scalars(select(DeletedUser.id).where(DeletedUser.id.in_(part))))
        fresh = [{"id": pk} for pk in pks if pk not in known]
        if fresh:
            conn.execute(insert(DeletedUser), fresh)
        if pks:
            bump_data_version(conn)
    result.chunks = len(result.chunk_texts)
    logger.info("deleted %d user(s) (%d chunks, %d labels); %d unknown", len(result.deleted), result.chunks,
                result.labels, len(result.unknown))
    return result


def deleted_user_pks(store: Store) -> np.ndarray:
    """The primary keys of every deleted user, sorted (``int64``)."""
    with store.session() as s:
        return np.fromiter(s.scalars(select(DeletedUser.id).order_by(DeletedUser.id)), dtype=np.int64)


def list_users(store: Store, pks: Sequence[int] | np.ndarray | None = None, *, limit: int = 100,
               offset: int = 0) -> list[dict[str, Any]]:
    """Users in primary-key order, one summary each: ``user_id``, ``split``, ``chunks``,
    ``metadata``, ``updated_at``. ``pks`` restricts the list (a resolved filter)."""
    if not 1 <= limit <= MAX_LIST:
        raise UUEError(f"--limit must be between 1 and {MAX_LIST}, got {limit}")
    if offset < 0:
        raise UUEError(f"--offset must be >= 0, got {offset}")
    columns = (User.id, User.user_id, User.split, User.num_chunks, User.metadata_, User.updated_at)
    with store.session() as s:
        if pks is None:
            rows = s.execute(select(*columns).order_by(User.id).offset(offset).limit(limit)).all()
        else:
            chosen = [int(p) for p in np.sort(np.asarray(pks, dtype=np.int64))[offset:offset + limit]]
            rows = []
            for part in batched(chosen):
                rows.extend(s.execute(select(*columns).where(User.id.in_(part)).order_by(User.id)).all())
    return [{"id": r.id, "user_id": r.user_id, "split": r.split, "chunks": r.num_chunks,
             "metadata": dict(r.metadata_ or {}), "updated_at": r.updated_at.isoformat(timespec="seconds")}
            for r in rows]
