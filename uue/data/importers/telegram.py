"""Telegram Desktop's export (Settings → Advanced → Export Telegram data, format JSON).

Read: ``result.json`` — one chat (``{"name", "type", "messages": [...]}``) or a whole account
(``{"chats": {"list": [chat, ...]}, "left_chats": {...}}``). A message has ``type``
(``message``; ``service`` lines are skipped), ``from`` (display name), ``from_id``
(``user123…``: the user id), ``date`` (local time) and ``date_unixtime`` (UTC seconds,
preferred), and ``text`` — a string, or a list of strings and entity objects
``{"type": "bold", "text": "…"}`` whose texts are joined. Chunks: an author's consecutive
messages in one chat within ``--window`` minutes. PATH is result.json or its folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from uue.data.importers.base import Importer, ImportFormatError, Message


def message_text(value: Any) -> str | None:
    """Telegram's ``text``: a string or a list of strings and ``{"text": ...}`` entities."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [p if isinstance(p, str) else p.get("text") if isinstance(p, dict) else None for p in value]
        if all(isinstance(p, str) for p in parts):
            return "".join(parts)
    return None


class TelegramImporter(Importer):
    platform = "telegram"
    chat = True

    def messages(self, path: Path) -> Iterator[Message]:
        file = path / "result.json" if path.is_dir() else path
        try:
            with file.open(encoding="utf-8-sig") as handle:
                data = json.load(handle)
        except OSError as exc:
            raise ImportFormatError(file, f"cannot read: {exc.strerror} (Telegram Desktop writes result.json)") from None
        except UnicodeDecodeError:
            raise ImportFormatError(file, "not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise ImportFormatError(file, f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno) from None
        for chat in self._chats(file, data):
            yield from self._chat_messages(file, chat)

    def _chats(self, file: Path, data: Any) -> list[dict]:
        if isinstance(data, dict) and isinstance(data.get("messages"), list):
            return [data]
        if isinstance(data, dict) and isinstance(data.get("chats"), dict):
            chats = list(data["chats"].get("list") or []) + list((data.get("left_chats") or {}).get("list") or [])
            if all(isinstance(c, dict) and isinstance(c.get("messages"), list) for c in chats):
                return chats
        raise ImportFormatError(file, "not a Telegram Desktop JSON export: expected an object with 'messages' "
                                      "(one chat) or 'chats': {'list': [...]} (the whole account)")

    def _chat_messages(self, file: Path, chat: dict) -> Iterator[Message]:
        name = chat.get("name") if isinstance(chat.get("name"), str) else str(chat.get("id", ""))
        for i, msg in enumerate(chat["messages"]):
            where = f"chat {name!r}, message {msg.get('id', i) if isinstance(msg, dict) else i}"
            if not isinstance(msg, dict):
                raise ImportFormatError(file, f"{where}: not an object")
            if msg.get("type", "message") != "message":
                continue
            author = msg.get("from_id") or msg.get("from")
            text = message_text(msg.get("text", ""))
            if text is None:
                raise ImportFormatError(file, f"{where}: 'text' is neither a string nor a list of text entities")
            if not isinstance(author, str | int):
                continue  # a deleted account: no author to attribute the message to
            yield Message(str(author), text, self._when(file, where, msg), {"chat": name},
                          msg.get("from") if isinstance(msg.get("from"), str) else None)

    def _when(self, file: Path, where: str, msg: dict) -> datetime:
        try:
            if msg.get("date_unixtime") is not None:
                return datetime.fromtimestamp(int(msg["date_unixtime"]), tz=timezone.utc)
            return datetime.fromisoformat(msg["date"])  # local time of the exporting computer (--tz)
        except (KeyError, TypeError, ValueError, OverflowError):
            raise ImportFormatError(file, f"{where}: no readable 'date_unixtime' or 'date'") from None
