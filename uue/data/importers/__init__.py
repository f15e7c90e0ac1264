"""Platform importers: the files a platform gives a person who downloads their data → users.jsonl.

One module per platform, each an ``Importer`` (``uue.data.importers.base``); the factory
``create_importer(name, **options)`` names the known ones when given another. Example::

    from uue.data.importers import import_users, write_users
    users = import_users("whatsapp", "WhatsApp Chat with Alice.txt", tz="Europe/Berlin")
    write_users(users, "users.jsonl")
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Any

from storage.errors import UUEError
from uue.data.importers.base import Importer, ImportFormatError, Message

# name -> "module:Class" (imported when used)
IMPORTERS = {
    "reddit": "uue.data.importers.reddit:RedditImporter",
    "twitter": "uue.data.importers.twitter:TwitterImporter",
    "telegram": "uue.data.importers.telegram:TelegramImporter",
    "whatsapp": "uue.data.importers.whatsapp:WhatsAppImporter",
    "csv": "uue.data.importers.generic_csv:CsvImporter",
}


def create_importer(name: str, **options: Any) -> Importer:
    """The importer for platform ``name``; options that are None are left at their defaults."""
    target = IMPORTERS.get(name)
    if target is None:
        raise UUEError(f"unknown platform {name!r}: choose one of {', '.join(IMPORTERS)}")
    module, cls = target.split(":")
    importer_cls = getattr(importlib.import_module(module), cls)
    return importer_cls(**{k: v for k, v in options.items() if v is not None})


def import_users(name: str, path: str | os.PathLike, **options: Any) -> list[dict[str, Any]]:
    """``users.jsonl`` records (one per author) read from a platform export at ``path``."""
    return create_importer(name, **options).users(Path(path))


def write_users(users: list[dict[str, Any]], path: str | os.PathLike) -> int:
    """Write records as users.jsonl (UTF-8, one JSON object per line); the number written."""
    out = Path(path)
    tmp = out.with_name(out.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            for user in users:
                handle.write(json.dumps(user, ensure_ascii=False) + "\n")
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UUEError(f"{out}: cannot write: {exc.strerror}") from None
    return len(users)


__all__ = ["IMPORTERS", "Importer", "ImportFormatError", "Message", "create_importer", "import_users", "write_users"]
