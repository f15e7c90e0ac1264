"""The JSONL data format (DESIGN.md contract) as typed dicts, and its validation.

The storage layer speaks the documented JSON shape directly: a validated user line is
a ``UserRecord`` dict, exactly the fields of ``users.jsonl`` after normalisation
(missing optional fields filled with empty values, the split assigned, timestamps
normalised to ISO 8601 UTC). ``uue.data.schema`` wraps the same shape in dataclasses.
"""

from __future__ import annotations

import hashlib
import json
import math
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, TypedDict

from storage.strict_json import INT_MAX

SPLITS = ("train", "dev", "test")
USER_FIELDS = frozenset(
    {"user_id", "chunks", "statements", "negative_statements", "traits", "metadata", "split"}
)
CHUNK_FIELDS = frozenset({"text", "platform", "timestamp", "metadata"})


class InvalidRecord(ValueError):
    """A line of an input file that does not follow the data format."""


class ChunkRecord(TypedDict):
    text: str
    platform: str | None
    timestamp: str | None
    metadata: dict[str, Any]


class UserRecord(TypedDict):
    user_id: str
    chunks: list[ChunkRecord]
    statements: list[str]
    negative_statements: list[str]
    traits: dict[str, float]
    metadata: dict[str, Any]
    split: str


class StatementRecord(TypedDict):
    text: str
    category: str | None


def split_for(user_id: str) -> str:
    """Deterministic 80/10/10 train/dev/test split from a stable hash of ``user_id``."""
    bucket = int.from_bytes(hashlib.blake2b(user_id.encode("utf-8"), digest_size=8).digest(), "big") % 100
    return "train" if bucket < 80 else "dev" if bucket < 90 else "test"


def is_held_out(statement: str) -> bool:
    """Deterministic ~10% of distinct statements, never used in training (zero-shot eval)."""
    digest = hashlib.blake2b(statement.strip().lower().encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 10 == 0


def normalise_timestamp(value: str) -> str:
    """Parse an ISO 8601 timestamp; return it in UTC as ``YYYY-MM-DDTHH:MM:SSZ``.

    A timestamp without a zone is taken as UTC. ``ValueError`` (with the reason) when it
    is not ISO 8601, or falls outside the years 0001-9999 once converted to UTC.
    """
    if len(value) == 20 and value[19] == "Z" and value[10] == "T" and value[4] == "-":
        # already in the stored form: only check that it is a real date and time
        datetime.fromisoformat(value[:19])
        return value
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)  # raises ValueError on a bad timestamp
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        utc = parsed.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("it falls outside the years 0001-9999 once converted to UTC") from None
    return utc.replace(tzinfo=None, microsecond=0).isoformat() + "Z"  # isoformat pads the year to 4 digits


def normalise_user_id(user_id: str) -> str:
    """A ``user_id`` in Unicode NFC: ``"café"`` typed precomposed or as ``e`` + combining accent
    is one user (ingest and every lookup normalise the same way)."""
    return user_id if unicodedata.is_normalized("NFC", user_id) else unicodedata.normalize("NFC", user_id)


def _flat_object(value: Any, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRecord(f"'{field}' must be a JSON object, got {type(value).__name__}")
    for key, item in value.items():
        kind = type(item)
        if kind in (dict, list):
            raise InvalidRecord(f"'{field}.{key}' must be a string, number, boolean or null (metadata is flat)")
        if (kind is float and not math.isfinite(item)) or (kind is int and abs(item) > INT_MAX):
            raise InvalidRecord(f"'{field}.{key}' is {item!r}: numbers must be finite and fit in 64 bits")
    return value


def _string_list(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRecord(f"'{field}' must be a list of strings, got {type(value).__name__}")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise InvalidRecord(f"'{field}[{i}]' must be a non-empty string")
        out.append(item.strip())
    return out


def _chunk(value: Any, i: int) -> ChunkRecord:
    # The hot loop of ingest: cheap type checks first, details only on the error path.
    if type(value) is not dict:
        raise InvalidRecord(f"'chunks[{i}]' must be an object with a 'text' field")
    text = value.get("text")
    if type(text) is not str:
        raise InvalidRecord(f"'chunks[{i}].text' is required and must be a string")
    if not text or text.isspace():
        raise InvalidRecord(f"'chunks[{i}].text' is empty")
    platform = value.get("platform")
    if platform is not None and type(platform) is not str:
        raise InvalidRecord(f"'chunks[{i}].platform' must be a string")
    timestamp = value.get("timestamp")
    if timestamp is not None:
        if type(timestamp) is not str:
            raise InvalidRecord(f"'chunks[{i}].timestamp' must be an ISO 8601 string")
        try:
            timestamp = normalise_timestamp(timestamp)
        except ValueError as exc:
            what = "is outside the years 0001-9999 in UTC" if "outside" in str(exc) else "is not ISO 8601"
            raise InvalidRecord(
                f"'chunks[{i}].timestamp' {what}: {value['timestamp']!r} (expected e.g. 2024-05-01T12:00:00Z)"
            ) from None
    if len(value) > 4 or not CHUNK_FIELDS.issuperset(value):
        unknown = value.keys() - CHUNK_FIELDS
        raise InvalidRecord(f"'chunks[{i}]' has unknown field(s): {', '.join(sorted(unknown))}")
    metadata = value.get("metadata")
    if type(metadata) is dict:
        if metadata and any(type(v) in (dict, list) for v in metadata.values()):
            _flat_object(metadata, f"chunks[{i}].metadata")  # raises with the offending key
    elif metadata is None:
        metadata = {}
    else:  # 0, "", [], false... are not "no metadata": refuse them like user metadata
        _flat_object(metadata, f"chunks[{i}].metadata")
    return {"text": text, "platform": platform, "timestamp": timestamp, "metadata": metadata}


def validate_user(obj: Any) -> UserRecord:
    """Check one parsed JSON line against the format; return the normalised record.

    Raises ``InvalidRecord`` with a message naming the offending field.
    """
    if not isinstance(obj, dict):
        raise InvalidRecord(f"a user line must be a JSON object, got {type(obj).__name__}")
    user_id = obj.get("user_id")
    if not isinstance(user_id, str) or not user_id.strip():
        raise InvalidRecord("'user_id' is required and must be a non-empty string")
    user_id = normalise_user_id(user_id)
    chunks = obj.get("chunks")
    if not isinstance(chunks, list) or not chunks:
        raise InvalidRecord("'chunks' is required and must be a non-empty list")
    unknown = obj.keys() - USER_FIELDS
    if unknown:
        raise InvalidRecord(f"unknown field(s): {', '.join(sorted(unknown))}")
    traits = _flat_object(obj.get("traits"), "traits")
    for key, item in traits.items():
        if isinstance(item, bool) or not isinstance(item, (int, float)) or not math.isfinite(item):
            raise InvalidRecord(f"'traits.{key}' must be a finite number")
    split = obj.get("split")
    if split is None:
        split = split_for(user_id)
    elif split not in SPLITS:
        raise InvalidRecord(f"'split' must be one of {', '.join(SPLITS)}, got {split!r}")
    return {
        "user_id": user_id,
        "chunks": [_chunk(c, i) for i, c in enumerate(chunks)],
        "statements": _string_list(obj.get("statements"), "statements"),
        "negative_statements": _string_list(obj.get("negative_statements"), "negative_statements"),
        "traits": {k: float(v) for k, v in traits.items()},
        "metadata": _flat_object(obj.get("metadata"), "metadata"),
        "split": split,
    }


def validate_statement(obj: Any) -> StatementRecord:
    """One line of a ``statements.jsonl`` pool: ``{"text": ..., "category": ...}``."""
    if not isinstance(obj, dict):
        raise InvalidRecord(f"a statement line must be a JSON object, got {type(obj).__name__}")
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidRecord("'text' is required and must be a non-empty string")
    category = obj.get("category")
    if category is not None and not isinstance(category, str):
        raise InvalidRecord("'category' must be a string")
    return {"text": text.strip(), "category": category}


def content_hash(record: UserRecord) -> str:
    """Hash of what the user's vector depends on (chunk texts, platforms, timestamps)."""
    fields = "\x1e".join(f"{c['text']}\x1f{c['platform'] or ''}\x1f{c['timestamp'] or ''}" for c in record["chunks"])
    return hashlib.blake2b(fields.encode("utf-8"), digest_size=16).hexdigest()


def attribute_value(value: Any) -> str:
    """The string form of a metadata value used for ``--where`` matching."""
    return value if isinstance(value, str) else json.dumps(value)


def history_texts(chunks: Sequence[Any]) -> list[str]:
    """A history's chunk texts, oldest first: by timestamp when every chunk has one
    (ISO 8601 UTC strings sort in time order), else in file order. ``chunks``: dicts
    (``ChunkRecord``) or objects with ``text`` and ``timestamp`` (``uue.data.schema.UserChunk``)."""
    def get(c: Any, key: str) -> Any:
        return c.get(key) if isinstance(c, dict) else getattr(c, key)

    return texts_oldest_first([(get(c, "text"), get(c, "timestamp")) for c in chunks])


def texts_oldest_first(pairs: Sequence[tuple[str, str | None]]) -> list[str]:
    """``history_texts`` of ``(text, timestamp)`` pairs in file order (the form the store reads)."""
    if pairs and all(stamp for _, stamp in pairs):
        pairs = sorted(pairs, key=lambda p: p[1])  # stable: ties keep file order
    return [text for text, _ in pairs]
