"""SQLAlchemy 2.0 tables of the metadata store.

The integer primary keys of ``users`` and ``statements`` are the FAISS ids: one id
space per index, no mapping table.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


# 64-bit keys (FAISS ids are int64). On SQLite an ``INTEGER PRIMARY KEY`` is already the
# 64-bit rowid, and only that spelling auto-increments, so SQLite keeps ``INTEGER``.
BigInt = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    user_id: Mapped[str] = mapped_column(String, unique=True)
    split: Mapped[str] = mapped_column(String(8), index=True)
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    content_hash: Mapped[str] = mapped_column(String(32))
    num_chunks: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class UserAttribute(Base):
    """User metadata as key/value rows, indexed, so ``--where country=DE`` is one lookup.

    ``value`` is the string form: strings as they are, other JSON scalars JSON-encoded.
    """

    __tablename__ = "user_attributes"
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[str] = mapped_column(String)
    __table_args__ = (Index("ix_user_attributes_key_value", "key", "value"), {"sqlite_with_rowid": False})


class Chunk(Base):
    __tablename__ = "chunks"
    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    platform: Mapped[str | None] = mapped_column(String, nullable=True)
    timestamp: Mapped[str | None] = mapped_column(String(20), nullable=True)  # ISO 8601 UTC, sortable
    metadata_: Mapped[dict | None] = mapped_column("metadata", JSON(none_as_null=True), nullable=True)
    __table_args__ = (
        Index("ix_chunks_user_pk", "user_pk"),
        Index("ix_chunks_platform_user", "platform", "user_pk"),
        Index("ix_chunks_timestamp_user", "timestamp", "user_pk"),
    )


class Statement(Base):
    __tablename__ = "statements"
    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    text: Mapped[str] = mapped_column(Text, unique=True)
    category: Mapped[str | None] = mapped_column(String, nullable=True)
    held_out: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class Label(Base):
    """A statement known true (positive=True) or known false of a user."""

    __tablename__ = "labels"
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), primary_key=True)
    positive: Mapped[bool] = mapped_column(Boolean)
    __table_args__ = (Index("ix_labels_statement", "statement_id"), {"sqlite_with_rowid": False})


class Trait(Base):
    __tablename__ = "traits"
    __table_args__ = {"sqlite_with_rowid": False}  # small rows keyed by their primary key
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[float] = mapped_column(Float)


class TrainedModel(Base):
    """A trained model: its directory and the sha256 of the weights file it was registered with.

    The identity is ``(path, checksum)``: retraining into the same directory writes other
    weights, so it registers a new model (and index builds of the old one stop matching).
    """

    __tablename__ = "models"
    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    path: Mapped[str] = mapped_column(String, index=True)
    checksum: Mapped[str | None] = mapped_column(String(64), nullable=True)  # sha256 of model.safetensors
    base_model: Mapped[str] = mapped_column(String)
    embedding_dim: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("path", "checksum"),)


class IndexBuild(Base):
    """One versioned index file. ``kind`` is ``users`` or ``statements``."""

    __tablename__ = "index_builds"
    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    kind: Mapped[str] = mapped_column(String(16))
    factory: Mapped[str] = mapped_column(String)
    dim: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(BigInt)
    path: Mapped[str] = mapped_column(String)
    checksum: Mapped[str] = mapped_column(String(64))
    files: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)  # sha256 of vector files
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("kind", "path"),)


class DeletedUser(Base):
    """The primary key of a deleted user (never its ``user_id``): queries leave it out of
    index builds made before the deletion, and SQLite never gives it to a new user."""

    __tablename__ = "deleted_users"
    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=False)
    deleted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class StoreMeta(Base):
    """Small key/value facts about the store, e.g. ``data_version`` (bumped by each ingest)."""

    __tablename__ = "store_meta"
    key: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


SQL_IN_BATCH = 900  # bound parameters per IN (...) list, under every backend's limit


def batched(items: list, size: int = SQL_IN_BATCH) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
