"""The UUE home directory: database, ``models/``, ``indexes/`` (DESIGN.md contract)."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from storage.errors import UUEError
from storage.failures import filesystem_error
from storage.store import Store, masked


@dataclass(frozen=True)
class Workspace:
    """``--home DIR``, else ``$UUE_HOME``, else ``./.uue``.

    The database defaults to ``HOME/uue.db`` (SQLite, WAL); ``$UUE_DATABASE_URL`` or
    ``--db`` points it at any SQLAlchemy URL instead.
    """

    home: Path
    database_url: str

    @classmethod
    def resolve(cls, home: str | os.PathLike | None = None, database_url: str | None = None) -> Workspace:
        root = Path(home or os.environ.get("UUE_HOME") or ".uue").expanduser().resolve()
        url = database_url or os.environ.get("UUE_DATABASE_URL") or f"sqlite:///{root / 'uue.db'}"
        return cls(root, url)

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def indexes_dir(self) -> Path:
        return self.home / "indexes"

    @property
    def cache_dir(self) -> Path:
        """Chunk vectors per token encoder (``uue.model.chunk_cache``): safe to delete, rebuilt on use."""
        return self.home / "cache"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    def sqlite_path(self) -> Path | None:
        """The SQLite database file, or ``None`` for a server database (PostgreSQL) or memory."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(self.database_url)
        except ArgumentError:
            return None  # Store reports the bad URL
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        return Path(url.database)

    def shown_database_url(self) -> str:
        """The database URL with any password hidden (safe to print)."""
        return masked(self.database_url)

    def describe(self) -> str:
        """The workspace and its database, with any password hidden."""
        return f"{self.home}  (database {self.shown_database_url()})"

    def open_store(self, *, create: bool = True) -> Store:
        """The workspace's store. ``create=False`` (read-only commands, and those that need
        data already there) refuses a workspace whose SQLite database does not exist
        instead of creating an empty one."""
        database = self.sqlite_path()
        if not create and database is not None and not database.is_file():
            where = f"no UUE workspace at {self.home}" if database.parent == self.home else f"no database {database}"
            raise UUEError(f"{where}: nothing has been ingested there. Run `uue ingest USERS.jsonl` (or `uue demo`) "
                           "first, or point --home (or $UUE_HOME) at an existing workspace")
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a parent that cannot hold directories, no permission, read-only or full disk
            error = filesystem_error(self.home, exc, "create the workspace directory")
            raise UUEError(f"{error}; or pass another --home DIR (or set $UUE_HOME)") from None
        return Store(self.database_url)

    def new_run_dir(self) -> Path:
        """A new, empty ``models/<timestamp>`` directory (a short random suffix when that exists)."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for name in [stamp] + [f"{stamp}-{uuid.uuid4().hex[:6]}" for _ in range(5)]:
            try:
                (self.models_dir / name).mkdir(parents=True)
                return self.models_dir / name
            except FileExistsError:
                continue
            except OSError as exc:
                raise UUEError(f"cannot create the model directory {self.models_dir / name}: "
                               f"{exc.strerror or exc}; pass a writable --home or --output-dir") from None
        raise UUEError(f"cannot find a free model directory name under {self.models_dir}; pass --output-dir")
