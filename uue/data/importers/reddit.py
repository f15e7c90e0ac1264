"""Reddit's data export (reddit.com/settings/data-request): a folder of CSV files.

Read: ``posts.csv`` (id, permalink, date, ip, subreddit, gildings, title, url, body) and
``comments.csv`` (id, permalink, date, ip, subreddit, gildings, link, parent, body, media);
``date`` reads like ``2023-01-15 12:34:56 UTC``. One post or comment = one chunk, with its
subreddit, kind and permalink as chunk metadata. The export is one person's: the user id is
``--user-id``, else the ``account name`` row of ``statistics.csv``. PATH is the folder, or
one of the two CSV files. Deleted/removed bodies are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from storage.errors import UUEError
from uue.data.importers.base import Importer, ImportFormatError, Message
from uue.data.importers.csvutil import parse_time, read_rows

FILES = {"posts.csv": "post", "comments.csv": "comment"}
GONE = {"[deleted]", "[removed]"}


class RedditImporter(Importer):
    platform = "reddit"
    options = frozenset({"user_id"})

    def messages(self, path: Path) -> Iterator[Message]:
        files = [path] if path.is_file() else [path / name for name in FILES if (path / name).is_file()]
        if not files or any(f.name not in FILES for f in files):
            raise ImportFormatError(path, "not a Reddit export: expected a folder with posts.csv and/or "
                                          "comments.csv, or one of those files")
        author = self.user_id or self._account(files[0].parent)
        for file in files:
            kind = FILES[file.name]
            for line, row in read_rows(file, ("date", "subreddit", "body") + (("title",) if kind == "post" else ())):
                body = "" if row["body"].strip() in GONE else row["body"]
                text = "\n\n".join(t for t in (row.get("title", "").strip(), body.strip()) if t)
                metadata = {"kind": kind, "subreddit": row["subreddit"]}
                if row.get("permalink"):
                    metadata["permalink"] = row["permalink"]
                yield Message(author, text, parse_time(row["date"], file, line), metadata)

    def _account(self, folder: Path) -> str:
        stats = folder / "statistics.csv"
        if stats.is_file():
            for _line, row in read_rows(stats, ("statistic", "value")):
                if row["statistic"].strip().lower() == "account name" and row["value"].strip():
                    return row["value"].strip()
        raise UUEError(f"{folder}: no account name in statistics.csv: give the user id with --user-id NAME")
