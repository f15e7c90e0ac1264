"""Server settings and the API key (from ``$UUE_API_KEY``, else a file); never printed."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from storage.errors import UUEError

API_KEY_ENV = "UUE_API_KEY"
API_KEY_FILE_ENV = "UUE_API_KEY_FILE"
MIN_KEY_LENGTH = 16
DEFAULT_MAX_BODY = 16 * 2**20  # bytes: an ingest of a few thousand users


@dataclass(frozen=True)
class ServeSettings:
    api_key: str | None = field(default=None, repr=False)  # None: write endpoints are refused
    max_body_bytes: int = DEFAULT_MAX_BODY


def load_api_key(key_file: str | os.PathLike | None = None, environ: dict[str, str] | None = None) -> str | None:
    """The write key: ``key_file`` (first line), else ``$UUE_API_KEY``, else ``$UUE_API_KEY_FILE``'s file."""
    environ = os.environ if environ is None else environ
    source = f"${API_KEY_ENV}"
    key = None
    path = key_file or (None if environ.get(API_KEY_ENV) else environ.get(API_KEY_FILE_ENV))
    if path:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UUEError(f"cannot read the API key file {path}: {getattr(exc, 'strerror', None) or exc}") from None
        key = text.strip().splitlines()[0].strip() if text.strip() else ""
    elif environ.get(API_KEY_ENV) is not None:
        key = environ[API_KEY_ENV].strip()
    if key is not None and len(key) < MIN_KEY_LENGTH:
        raise UUEError(f"the API key from {source} is shorter than {MIN_KEY_LENGTH} characters: use a long random "
                       "one, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
    return key
