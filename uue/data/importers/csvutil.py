"""Streaming CSV reading shared by the CSV-based importers (Reddit, generic CSV)."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from dateutil import parser as dateparser

from uue.data.importers.base import ImportFormatError

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # long posts; csv's default caps a field at 128 KiB


def read_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line, row)`` for each row of a CSV file with a header holding ``required`` columns."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ImportFormatError(path, f"cannot read: {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        try:
            header = reader.fieldnames or []
            missing = [c for c in required if c not in header]
            if missing:
                raise ImportFormatError(path, f"no column {', '.join(map(repr, missing))} in the header "
                                              f"(columns: {', '.join(header) or 'none'})", 1)
            for row in reader:
                if None in row:  # more fields than the header names
                    raise ImportFormatError(path, f"{len(header) + len(row[None])} fields, the header has "
                                                  f"{len(header)}", reader.line_num)
                yield reader.line_num, row
        except csv.Error as exc:
            raise ImportFormatError(path, f"not valid CSV: {exc}", reader.line_num) from None
        except UnicodeDecodeError:
            raise ImportFormatError(path, "not UTF-8 text", reader.line_num + 1) from None


def parse_time(value: str, path: Path, line: int) -> datetime | None:
    """A date/time cell: ISO 8601, ``2023-01-15 12:34:56 UTC``, or Unix seconds; empty = None."""
    value = value.strip()
    if not value:
        return None
    try:
        if value.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        return dateparser.parse(value)
    except (ValueError, OverflowError):
        raise ImportFormatError(path, f"unreadable date/time {value!r} (expected ISO 8601 or Unix seconds)",
                                line) from None
