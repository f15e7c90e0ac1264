"""Streaming readers for ``users.jsonl`` and statement pools, with ``path:line`` errors.

Lines are read one at a time (memory stays flat as the file grows). Blank lines are
skipped. The first bad line raises ``IngestError("path:line: what is wrong")``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from storage import strict_json
from storage.errors import IngestError
from storage.records import InvalidRecord, StatementRecord, UserRecord, validate_statement, validate_user


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, decoded line)`` for each non-blank line; strict UTF-8."""
    if not path.exists():
        raise IngestError(f"{path}: no such file")
    if path.is_dir():
        raise IngestError(f"{path}: is a directory, expected a file")
    seen = False
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise IngestError(
                    f"{path}:{number}: not valid UTF-8 (byte {exc.start} of the line); re-encode the file as UTF-8"
                ) from None
            if number == 1 and line.startswith("\ufeff"):
                line = line[1:]  # tolerate a byte-order mark
            if line.strip():
                seen = True
                yield number, line
    if not seen:
        raise IngestError(f"{path}: the file is empty; expected one JSON object per line")


def _parse(path: Path, number: int, line: str) -> object:
    try:
        return strict_json.loads(line)
    except strict_json.StrictJSONError as exc:
        raise IngestError(f"{path}:{number}: {exc}") from None


def read_users(path: str | Path) -> Iterator[UserRecord]:
    """Validated user records of a ``users.jsonl`` file, lazily."""
    path = Path(path)
    for number, line in _lines(path):
        try:
            yield validate_user(_parse(path, number, line))
        except InvalidRecord as exc:
            raise IngestError(f"{path}:{number}: {exc}") from None


def read_statements(path: str | Path) -> Iterator[StatementRecord]:
    """A statement pool: ``.jsonl`` of ``{"text", "category"}`` or ``.txt``, one per line."""
    path = Path(path)
    as_text = path.suffix.lower() == ".txt"
    for number, line in _lines(path):
        if as_text:
            yield {"text": line.strip(), "category": None}
            continue
        try:
            yield validate_statement(_parse(path, number, line))
        except InvalidRecord as exc:
            raise IngestError(f"{path}:{number}: {exc}") from None
