"""Index errors a user can fix; the CLI prints the message and exits 1."""

from __future__ import annotations

from storage.errors import UUEError


class IndexConfigError(UUEError):
    """An unknown or unusable index configuration (factory string, nlist, dimension)."""


class IndexFileError(UUEError):
    """An index file that is missing, truncated, corrupt or inconsistent with its sidecar."""
