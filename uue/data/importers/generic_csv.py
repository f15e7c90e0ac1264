"""Any CSV with one message per row: ``--user-col``, ``--text-col`` and optionally ``--time-col``
name the columns (dates: ISO 8601, ``2023-01-15 12:34:56``, or Unix seconds; no zone = ``--tz``,
default UTC). Every other non-empty column of a row becomes chunk metadata. One row = one chunk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from storage.errors import UUEError
from uue.data.importers.base import Importer, Message
from uue.data.importers.csvutil import parse_time, read_rows


class CsvImporter(Importer):
    platform = "csv"
    options = frozenset({"user_col", "text_col", "time_col", "platform_name"})

    def __init__(self, **options) -> None:
        super().__init__(**options)
        if not self.user_col or not self.text_col:
            raise UUEError("csv needs --user-col and --text-col (the columns holding the author and the text)")
        if self.platform_name:
            self.platform = self.platform_name

    def messages(self, path: Path) -> Iterator[Message]:
        columns = tuple(c for c in (self.user_col, self.text_col, self.time_col) if c)
        for line, row in read_rows(path, columns):
            when = parse_time(row[self.time_col], path, line) if self.time_col else None
            metadata = {k: v for k, v in row.items() if k not in columns and k and v not in (None, "")}
            yield Message(row[self.user_col].strip(), row[self.text_col], when, metadata)
