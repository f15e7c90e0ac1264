"""Operations on a workspace's data, as Python functions (the CLI and the HTTP API call these).

    from uue.operations import ingest, delete_users, list_users, list_models, activate_model
    with Workspace.resolve("~/uue").open_store() as store:
        ingest(store, "today.jsonl", append=True)        # add chunks to stored users
        delete_users(store, ["u42"], cache_dir=ws.cache_dir)  # gone from every result now

- ``ingest``: a users.jsonl (and statement pool) in one transaction; ``append=True`` adds
  a line's chunks to a stored user instead of replacing the user (``storage.append``).
- ``delete_users``: rows, chunks, labels, traits, metadata and cached chunk vectors; from
  that moment queries leave the users out (``Searcher.deleted_ids``), and the next index
  build drops their vectors.
- ``list_users``: user summaries, optionally through a query filter.
- ``list_models`` / ``activate_model``: the registered models; roll back to an earlier one.
- ``export_audience``: every user a statement describes (``min_score``, no 10,000 cap) to
  a CSV or JSONL file (``uue.search.export``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from storage.errors import UUEError
from storage.filters import UserFilter, resolve_filter
from storage.models import activate_model, list_models
from storage.store import Store
from storage.users import delete_users as delete_user_rows
from storage.users import list_users as list_user_rows
from uue.search.export import export_audience

logger = logging.getLogger(__name__)

__all__ = ["activate_model", "delete_users", "export_audience", "ingest", "list_models", "list_users",
           "read_user_ids"]


def ingest(store: Store, users_path: str | os.PathLike, statements_path: str | os.PathLike | None = None, *,
           append: bool = False, progress: bool = False) -> dict[str, int]:
    """Ingest a users.jsonl file (and a statement pool) in one transaction; returns counts.

    ``append``: a stored user keeps their history and gets the line's new chunks, labels,
    traits and metadata added; only those chunks are embedded at the next build.
    """
    return store.ingest_file(users_path, statements_path, progress=progress, append=append)


def delete_users(store: Store, user_ids: Iterable[str], *, cache_dir: str | os.PathLike | None = None,
                 missing_ok: bool = True) -> dict[str, Any]:
    """Delete users: their rows, chunks, labels, traits, metadata and, with ``cache_dir``
    (the workspace's), their cached chunk vectors.

    Returns ``{"deleted": [...], "unknown": [...], "chunks": n, "labels": n,
    "cached_vectors": n}``. Queries leave the deleted users out at once; the next index
    build drops their vectors. ``missing_ok=False`` refuses (and deletes nothing) when an
    id is unknown.
    """
    result = delete_user_rows(store, user_ids, missing_ok=missing_ok)
    summary = result.summary()
    summary["cached_vectors"] = 0
    if cache_dir is not None and result.chunk_texts:
        from uue.model.chunk_cache import purge_chunks

        summary["cached_vectors"] = purge_chunks(cache_dir, result.chunk_texts)
    return summary


def read_user_ids(path: str | os.PathLike) -> list[str]:
    """User ids from a file, one per line (blank lines and ``#`` comments skipped)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UUEError(f"cannot read user ids from {path}: {getattr(exc, 'strerror', None) or exc}") from None
    ids = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not ids:
        raise UUEError(f"{path} holds no user ids: write one user_id per line")
    return ids


def list_users(store: Store, user_filter: UserFilter | None = None, *, limit: int = 100,
               offset: int = 0) -> dict[str, Any]:
    """``{"total": n, "users": [...]}``: the users passing ``user_filter`` (all when None),
    ``limit`` of them from ``offset``, in primary-key order."""
    pks = resolve_filter(store, user_filter) if user_filter is not None and not user_filter.empty else None
    total = store.count_users() if pks is None else len(pks)
    return {"total": total, "users": list_user_rows(store, pks, limit=limit, offset=offset)}
