"""Storage and filesystem failures a user can cause, as messages that name the cause and the fix.

Busy (another process holds the database's write lock past the wait), full (no space
left on the device), read-only and permission errors arrive from SQLite, PostgreSQL and
the OS in many forms; ``database_error`` and ``filesystem_error`` turn each into one
``StorageError`` line. The store installs ``database_error`` as the engine's
``handle_error`` hook, so every statement of every layer gets the same translation.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from storage.errors import UUEError

FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
DENIED_ERRNOS = {errno.EACCES, errno.EPERM}


class StorageError(UUEError):
    """The database or a workspace file cannot be read or written (busy, full, read-only, denied)."""


class WorkspaceBusy(StorageError):
    """Another process holds the write lock (of the database, or of the index build) past the wait."""


def free_bytes(path: str | os.PathLike) -> int | None:
    """Bytes free on the device holding ``path`` (its nearest existing parent); None if unknown or
    a pseudo file system (``/proc``: no size at all)."""
    probe = Path(path).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        usage = shutil.disk_usage(probe)
    except OSError:
        return None
    return usage.free if usage.total > 0 else None


def _full(where: str | os.PathLike) -> StorageError:
    free = free_bytes(where)
    shown = f" ({free / 2**20:.1f} MiB free)" if free is not None else ""
    return StorageError(f"no space left on the device holding {os.fspath(where)}{shown}: free some space (old "
                        "builds go with `uue index rebuild`; delete unused HOME/models runs), or use a --home on "
                        "a larger disk. Nothing was half-written: the previous data and index builds are intact")


def filesystem_error(path: str | os.PathLike, exc: OSError, action: str = "write") -> StorageError:
    """The message for an ``OSError`` while ``action``-ing ``path``."""
    code = exc.errno
    where = os.fspath(path)
    if code in FULL_ERRNOS:
        return _full(where)
    if code == errno.EROFS:
        return StorageError(f"cannot {action} {where}: the file system is read-only; use a --home on a writable disk")
    if code in DENIED_ERRNOS:
        return StorageError(f"cannot {action} {where}: permission denied; make it writable by this user or "
                            "use another --home")
    return StorageError(f"cannot {action} {where}: {exc.strerror or exc}")


def _sqlite_path(url: str) -> str | None:
    prefix = "sqlite:///"
    return url[len(prefix):] if url.startswith(prefix) and url != prefix else None


def database_error(url: str, exc: BaseException, busy_timeout: float) -> StorageError | None:
    """The message for a driver error of the database at ``url``; None when it is not a storage failure."""
    text = str(exc).lower()
    path = _sqlite_path(url)
    where = path or "the database"
    if "database is locked" in text or "database table is locked" in text:
        return WorkspaceBusy(f"{where} is busy: another uue process (an ingest, an index build or a training run) "
                             f"held its write lock for over {busy_timeout:g} s. Nothing was written; run this "
                             "again when that process has finished (set $UUE_BUSY_TIMEOUT=SECONDS to wait longer)")
    if "database or disk is full" in text or "disk full" in text or "no space left" in text:
        return _full(path or ".")
    if "readonly database" in text or "read-only" in text:
        return StorageError(f"cannot write {where}: the file or its directory is read-only; make both writable "
                            "by this user or use another --home")
    if "unable to open database file" in text or "disk i/o error" in text:
        if path is not None and free_bytes(path) == 0:
            return _full(path)
        return StorageError(f"cannot open database {url!r}: {exc}; check that its directory exists and is "
                            "writable (or the server is reachable), or pass another --db URL ($UUE_DATABASE_URL)")
    return None


def write_failure(path: str | os.PathLike, exc: BaseException) -> StorageError | None:
    """The message for any exception while writing ``path`` (an ``OSError``, or a library's own error
    type wrapping one, e.g. safetensors' or torch's); None when it is not a storage failure."""
    if isinstance(exc, OSError):
        return filesystem_error(path, exc)
    text = str(exc).lower()
    if "no space left" in text or "storagefull" in text or "os error 28" in text or free_bytes(path) == 0:
        return _full(path)
    return None


@contextmanager
def translated_writes(path: str | os.PathLike) -> Iterator[None]:
    """Raise a ``StorageError`` naming the cause for a write to ``path`` that fails for lack of space,
    permission or a writable disk; other exceptions pass unchanged."""
    try:
        yield
    except UUEError:
        raise
    except Exception as exc:
        error = write_failure(path, exc)
        if error is None:
            raise
        raise error from None
