"""Streaming readers for ``users.jsonl`` and statement pools, with ``path:line`` errors.

Lines are read one at a time (memory stays flat as the file grows). Blank lines are
skipped. The first bad line raises ``IngestError("path:line: what is wrong")``.

Each line's bytes go to ``strict_json.fast_loads`` first; a line it declines (bad UTF-8,
a blank line, anything the strict parser must judge) takes the checked path, which
decodes and parses it strictly and names the fault.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from storage import strict_json
from storage.errors import IngestError
from storage.records import InvalidRecord, StatementRecord, UserRecord, validate_statement, validate_user

BOM = b"\xef\xbb\xbf"


def _raw_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    if not path.exists():
        raise IngestError(f"{path}: no such file")
    if path.is_dir():
        raise IngestError(f"{path}: is a directory, expected a file")
    with path.open("rb") as handle:
        yield from enumerate(handle, start=1)


def _decoded(path: Path, number: int, raw: bytes) -> str:
    """The line as text, strict UTF-8, without a byte-order mark on line 1."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{path}:{number}: not valid UTF-8 (byte {exc.start} of the line); re-encode the file as UTF-8"
        ) from None
    return line[1:] if number == 1 and line.startswith("\ufeff") else line  # tolerate a byte-order mark


def _parse(path: Path, number: int, line: str) -> object:
    try:
        return strict_json.loads(line)
    except strict_json.StrictJSONError as exc:
        raise IngestError(f"{path}:{number}: {exc}") from None


def _not_empty(path: Path, items: Iterator) -> Iterator:
    seen = False
    for item in items:
        seen = True
        yield item
    if not seen:
        raise IngestError(f"{path}: the file is empty; expected one JSON object per line")


def parsed_lines(path: Path) -> Iterator[tuple[int, object]]:
    """``(line number, parsed JSON value)`` for each non-blank line; strict UTF-8 and JSON."""
    return _not_empty(path, _parsed_lines(path))


def _parsed_lines(path: Path) -> Iterator[tuple[int, object]]:
    fast, declined = strict_json.fast_loads, strict_json.DECLINED
    for number, raw in _raw_lines(path):
        value = fast(raw[len(BOM):] if number == 1 and raw.startswith(BOM) else raw)
        if value is declined:
            line = _decoded(path, number, raw)
            if not line.strip():
                continue
            value = _parse(path, number, line)
        yield number, value


def read_users(path: str | Path) -> Iterator[UserRecord]:
    """Validated user records of a ``users.jsonl`` file, lazily."""
    path = Path(path)
    for number, value in parsed_lines(path):
        try:
            yield validate_user(value)
        except InvalidRecord as exc:
            raise IngestError(f"{path}:{number}: {exc}") from None


def read_statements(path: str | Path) -> Iterator[StatementRecord]:
    """A statement pool: ``.jsonl`` of ``{"text", "category"}`` or ``.txt``, one per line."""
    path = Path(path)
    if path.suffix.lower() == ".txt":
        lines = ((_decoded(path, number, raw).strip()) for number, raw in _raw_lines(path))
        yield from _not_empty(path, ({"text": line, "category": None} for line in lines if line))
        return
    for number, value in parsed_lines(path):
        try:
            yield validate_statement(value)
        except InvalidRecord as exc:
            raise IngestError(f"{path}:{number}: {exc}") from None
