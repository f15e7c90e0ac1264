"""The X/Twitter archive (Settings → Your account → Download an archive of your data).

Read: ``data/tweets.js`` (older archives: ``data/tweet.js``; big ones add ``tweets-part1.js``
…), a JavaScript file ``window.YTD.tweets.part0 = [ {"tweet": {...}}, ... ]``. Each tweet
gives ``full_text`` (HTML-escaped), ``created_at`` (``Wed Oct 10 20:19:24 +0000 2018``),
``id_str``, ``lang``, ``in_reply_to_screen_name``. One tweet = one chunk; retweets
(``RT @…``: someone else's words) are skipped. The user id is ``--user-id``, else the
``username`` in ``data/account.js``. PATH is the archive folder, its ``data`` folder, or a
tweets.js file.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from storage.errors import UUEError
from uue.data.importers.base import Importer, ImportFormatError, Message

PREFIX = re.compile(r"\A\s*window\.YTD\.\w+\.part\d+\s*=\s*")
TWEET_FILES = re.compile(r"tweets?(-part\d+)?\.js")


def read_ytd(path: Path) -> list:
    """The JSON array inside one ``window.YTD.<name>.partN = [...]`` file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFormatError(path, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    prefix = PREFIX.match(text)
    if prefix is None:
        raise ImportFormatError(path, "not an X/Twitter archive file: it does not start with "
                                      "'window.YTD.<name>.part0 = '", 1)
    body = text[prefix.end():].rstrip().rstrip(";")
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(path, f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno) from None
    if not isinstance(data, list):
        raise ImportFormatError(path, "expected a JSON array after '='", 1)
    return data


class TwitterImporter(Importer):
    platform = "twitter"
    options = frozenset({"user_id"})

    def messages(self, path: Path) -> Iterator[Message]:
        data = path / "data" if (path / "data").is_dir() else path
        files = [path] if path.is_file() else sorted(p for p in data.glob("*.js") if TWEET_FILES.fullmatch(p.name))
        if not files:
            raise ImportFormatError(path, "not an X/Twitter archive: no data/tweets.js")
        author = self.user_id or self._account(files[0].parent)
        for file in files:
            for i, item in enumerate(read_ytd(file)):
                tweet = item.get("tweet", item) if isinstance(item, dict) else None
                if not isinstance(tweet, dict):
                    raise ImportFormatError(file, f"entry {i} is not a tweet object")
                yield self._message(file, i, author, tweet)

    def _message(self, file: Path, i: int, author: str, tweet: dict[str, Any]) -> Message:
        text = tweet.get("full_text", tweet.get("text"))
        created = tweet.get("created_at")
        if not isinstance(text, str) or not isinstance(created, str):
            raise ImportFormatError(file, f"tweet {i} ({tweet.get('id_str', 'no id')}) lacks full_text or created_at")
        try:
            when = datetime.strptime(created, "%a %b %d %H:%M:%S %z %Y")
        except ValueError:
            raise ImportFormatError(file, f"tweet {i}: unreadable created_at {created!r}") from None
        text = html.unescape(text)
        if text.startswith("RT @"):
            text = ""  # a retweet: not the author's words (skipped as empty)
        metadata = {k: v for k, v in (("tweet_id", tweet.get("id_str")), ("lang", tweet.get("lang")),
                                      ("reply_to", tweet.get("in_reply_to_screen_name"))) if isinstance(v, str)}
        return Message(author, text, when, metadata)

    def _account(self, data: Path) -> str:
        account = data / "account.js"
        if account.is_file():
            for item in read_ytd(account):
                name = item.get("account", {}).get("username") if isinstance(item, dict) else None
                if isinstance(name, str) and name:
                    return name
        raise UUEError(f"{data}: no username in account.js: give the user id with --user-id NAME")
