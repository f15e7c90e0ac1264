"""WhatsApp's exported chat (chat → ⋮ / contact info → Export chat → Without media): a ``.txt``.

Each message starts a line with its date and time, in the phone's locale:

- Android: ``15/01/2023, 14:05 - Alice: Hello`` (also ``1/15/23, 2:05 PM - …``, ``15.01.23, 14:05 - …``)
- iOS:     ``[15/01/2023, 14:05:09] Alice: Hello`` (also ``[1/15/23, 2:05:09 PM] …``)

A line that does not start so continues the previous message (multi-line messages). Lines
without ``Author: `` (“Messages and calls are end-to-end encrypted”, “Alice added Bob”) and
iOS lines marked with U+200E (system notes, “image omitted”) are skipped, as are
``<Media omitted>`` and deleted-message notes. Day or month first is read from the file (a
first field above 12 means day first, a second one month first; ``--date-order`` decides
when nothing does, default day first). Times carry no zone: ``--tz`` (default UTC). The
author's name as shown in the chat is the user id. Chunks: an author's consecutive messages
within ``--window`` minutes. The file is read as a stream, twice (the date order, then the messages).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from storage.errors import UUEError
from uue.data.importers.base import Importer, ImportFormatError, Message

logger = logging.getLogger(__name__)

_DATE = r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4}),? (\d{1,2}):(\d{2})(?::(\d{2}))?(?: ?([AaPp])\.? ?[Mm]\.?)?"
HEADER = re.compile(rf"^(?:\[{_DATE}\] |{_DATE} - )(.*)$")
SKIPPED = {"<media omitted>", "this message was deleted", "you deleted this message", "null"}


def _line(raw: str) -> str:
    return raw.rstrip("\r\n").replace("\u202f", " ").replace("\u00a0", " ").lstrip("\ufeff")


def _fields(match: re.Match) -> tuple[str | None, ...]:
    groups = match.groups()
    return groups[:7] if groups[0] is not None else groups[7:14]


class WhatsAppImporter(Importer):
    platform = "whatsapp"
    chat = True
    options = frozenset({"date_order"})

    def messages(self, path: Path) -> Iterator[Message]:
        if path.is_dir():
            files = sorted(path.glob("*.txt"))
            if not files:
                raise ImportFormatError(path, "no exported WhatsApp chat (.txt) in this folder")
        else:
            files = [path]
        for file in files:
            yield from self._file(file, self._day_first(file))

    def _lines(self, file: Path) -> Iterator[tuple[int, str]]:
        try:
            with file.open(encoding="utf-8-sig") as handle:
                for number, raw in enumerate(handle, start=1):
                    yield number, _line(raw)
        except OSError as exc:
            raise ImportFormatError(file, f"cannot read: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ImportFormatError(file, "not UTF-8 text (WhatsApp exports are UTF-8)") from None

    def _day_first(self, file: Path) -> bool:
        day_first = month_first = False
        for _number, line in self._lines(file):
            match = HEADER.match(line.lstrip("\u200e"))
            if match:
                first, second = (int(x) for x in _fields(match)[:2])
                day_first |= first > 12
                month_first |= second > 12
        if day_first and month_first:
            raise ImportFormatError(file, "dates read both day-first and month-first: is this one chat export?")
        if day_first or month_first:
            return day_first
        if self.date_order not in (None, "dmy", "mdy"):
            raise UUEError(f"--date-order is dmy or mdy, not {self.date_order!r}")
        return self.date_order != "mdy"

    def _file(self, file: Path, day_first: bool) -> Iterator[Message]:
        chat = file.stem
        current: Message | None = None
        for number, line in self._lines(file):
            match = HEADER.match(line.lstrip("\u200e"))
            if match is None:
                if current is not None:
                    current.text += "\n" + line
                elif line.strip():
                    raise ImportFormatError(file, "not a WhatsApp chat export: the line does not start with a "
                                                  "date and time such as '15/01/2023, 14:05 - ' or "
                                                  "'[15/01/2023, 14:05:09] '", number)
                continue
            if current is not None:
                yield current
                current = None
            when = self._when(file, number, _fields(match), day_first)
            author, sep, text = match.groups()[-1].partition(": ")
            if not sep or text.startswith("\u200e") or text.strip().lower() in SKIPPED:
                continue  # a system line, a media note or a deleted message
            current = Message(author.strip().lstrip("\u200e"), text, when, {"chat": chat})
        if current is not None:
            yield current

    def _when(self, file: Path, number: int, fields: tuple, day_first: bool) -> datetime:
        a, b, year, hour, minute, second, meridiem = fields
        day, month = (int(a), int(b)) if day_first else (int(b), int(a))
        year_n = int(year) + (2000 if len(year) == 2 else 0)
        hour_n = int(hour)
        if meridiem:
            hour_n = hour_n % 12 + (12 if meridiem.lower() == "p" else 0)
        try:
            return datetime(year_n, month, day, hour_n, int(minute), int(second or 0))
        except ValueError as exc:
            raise ImportFormatError(file, f"impossible date/time: {exc}", number) from None
