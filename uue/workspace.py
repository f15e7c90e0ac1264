"""The UUE home directory: database, ``models/``, ``indexes/`` (DESIGN.md contract)."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from storage.errors import UUEError
from storage.store import Store


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

    def open_store(self) -> Store:
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a parent that cannot hold directories, no permission, read-only disk
            raise UUEError(f"cannot create the workspace directory {self.home}: {exc.strerror or exc}; "
                           "pass a writable --home DIR (or set $UUE_HOME)") from None
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
