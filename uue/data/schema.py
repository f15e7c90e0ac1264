"""User records of the Python API: the ``users.jsonl`` format as dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from storage.records import ChunkRecord, UserRecord, history_texts, validate_user  # noqa: F401  (history_texts re-exported)


@dataclass
class UserChunk:
    """One piece of a user's history: a post, a message, a review."""

    text: str
    platform: str | None = None
    timestamp: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> ChunkRecord:
        return {"text": self.text, "platform": self.platform, "timestamp": self.timestamp,
                "metadata": dict(self.metadata)}


@dataclass
class UserData:
    """A user: an id, a text history, and optional labels (statements, traits)."""

    user_id: str
    chunks: list[UserChunk]
    statements: list[str] = field(default_factory=list)
    negative_statements: list[str] = field(default_factory=list)
    traits: dict[str, float] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    split: str | None = None

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> UserData:
        """Validate a JSON object in the ``users.jsonl`` format and wrap it."""
        record = validate_user(obj)
        return cls.from_record(record)

    @classmethod
    def from_record(cls, record: UserRecord) -> UserData:
        """Wrap an already validated record (from the store or the JSONL reader)."""
        return cls(
            user_id=record["user_id"],
            chunks=[UserChunk(c["text"], c.get("platform"), c.get("timestamp"), dict(c.get("metadata") or {}))
                    for c in record["chunks"]],
            statements=list(record.get("statements", [])),
            negative_statements=list(record.get("negative_statements", [])),
            traits=dict(record.get("traits", {})),
            metadata=dict(record.get("metadata", {})),
            split=record.get("split"),
        )

    def to_dict(self) -> UserRecord:
        out: dict[str, Any] = {
            "user_id": self.user_id,
            "chunks": [c.to_dict() for c in self.chunks],
            "statements": list(self.statements),
            "negative_statements": list(self.negative_statements),
            "traits": dict(self.traits),
            "metadata": dict(self.metadata),
        }
        if self.split is not None:
            out["split"] = self.split
        return out  # type: ignore[return-value]

    @property
    def texts(self) -> list[str]:
        """The history's texts, oldest first (see ``history_texts``)."""
        return history_texts(self.chunks)
