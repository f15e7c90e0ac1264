"""The base of every platform importer: read an export into messages, group them into users.

An importer reads the files a platform gives a person who downloads their data and yields
``Message`` objects (author, text, time, metadata). ``Importer.users`` groups them into
``users.jsonl`` records, one user per author:

- **post platforms** (Reddit, X/Twitter, a generic CSV): one post or comment = one chunk;
- **chat platforms** (Telegram, WhatsApp): an author's consecutive messages become one
  chunk while each follows the previous one within ``window`` minutes and the chunk stays
  under ``max_chars`` characters (a chat message alone is too short to say much).

A bad or partial file raises ``ImportFormatError`` (``path:line: what is wrong``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage.errors import IngestError, UUEError

logger = logging.getLogger(__name__)


class ImportFormatError(IngestError):
    """A file that is not (or no longer) in the platform's export format: ``path:line: what``."""

    def __init__(self, path: str | Path, what: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {what}")


@dataclass
class Message:
    """One post, comment or chat message by one author."""

    author: str
    text: str
    timestamp: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    name: str | None = None  # the author's display name, when the id is not it


class Importer:
    """Base class: ``messages(path)`` is each platform's job; grouping into users is shared."""

    platform: str = ""
    chat: bool = False  # group an author's consecutive messages into time windows
    options: frozenset[str] = frozenset()  # the platform's own options (besides the common ones)

    def __init__(self, *, window: float = 30.0, max_chars: int = 2000, tz: str | None = None,
                 **options: Any) -> None:
        unknown = sorted(set(options) - self.options)
        if unknown:
            allowed = ", ".join(sorted(self.options)) or "none"
            raise UUEError(f"{self.platform} does not take {', '.join(unknown)} (its own options: {allowed})")
        if window <= 0 or max_chars <= 0:
            raise UUEError("window and max_chars must be positive")
        self.window = timedelta(minutes=window)
        self.max_chars = int(max_chars)
        self.tz = _zone(tz)
        for name in self.options:
            setattr(self, name, options.get(name))

    def messages(self, path: Path) -> Iterator[Message]:
        raise NotImplementedError

    def users(self, path: str | Path) -> list[dict[str, Any]]:
        """``users.jsonl`` records, one per author, in order of first appearance."""
        path = Path(path)
        if not path.exists():
            raise ImportFormatError(path, f"no such file or directory (a {self.platform} export was expected)")
        by_author: dict[str, list[Message]] = {}
        names: dict[str, str] = {}
        for message in self.messages(path):
            text = message.text.strip()
            if not text or not message.author:
                continue
            message.text = text
            by_author.setdefault(message.author, []).append(message)
            if message.name:
                names[message.author] = message.name
        if not by_author:
            raise ImportFormatError(path, f"no {self.platform} messages with text found")
        users = []
        for author, messages in by_author.items():
            chunks = self._chat_chunks(messages) if self.chat else [self._chunk(m) for m in messages]
            user: dict[str, Any] = {"user_id": author, "chunks": chunks, "metadata": {"platform": self.platform}}
            if author in names and names[author] != author:
                user["metadata"]["name"] = names[author]
            users.append(user)
        logger.info("%s: %d users, %d chunks", path, len(users), sum(len(u["chunks"]) for u in users))
        return users

    def timestamp(self, value: datetime | None) -> str | None:
        """ISO 8601 in UTC; a time without a zone is in ``tz`` (default UTC)."""
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.tz)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _chunk(self, message: Message) -> dict[str, Any]:
        return {"text": message.text, "platform": self.platform, "timestamp": self.timestamp(message.timestamp),
                "metadata": message.metadata}

    def _chat_chunks(self, messages: list[Message]) -> list[dict[str, Any]]:
        chunks: list[dict[str, Any]] = []
        group: list[Message] = []

        def close() -> None:
            if group:
                chunk = self._chunk(group[0])
                chunk["text"] = "\n".join(m.text for m in group)
                chunk["metadata"] = {**group[0].metadata, "messages": len(group)}
                chunks.append(chunk)

        for message in messages:
            if group:
                last = group[-1]
                size = sum(len(m.text) + 1 for m in group) + len(message.text)
                gap_ok = (last.timestamp is not None and message.timestamp is not None
                          and timedelta(0) <= message.timestamp - last.timestamp <= self.window)
                same_place = message.metadata.get("chat") == group[0].metadata.get("chat")
                if not (gap_ok and same_place and size <= self.max_chars):
                    close()
                    group = []
            group.append(message)
        close()
        return chunks


def _zone(name: str | None) -> tzinfo:
    if not name:
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UUEError(f"unknown time zone {name!r}: give an IANA name such as Europe/Berlin") from None
