"""Baseline: the schema as the store wrote it before migrations existed (32-bit keys).

On an empty database this creates the tables. On a database written by earlier code
(no ``alembic_version`` table) it adopts what is there: missing tables and indexes are
created, and a ``models`` table from before weights checksums (no ``checksum`` column,
or ``path`` alone unique) is brought to the identity ``(path, checksum)``.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import CreateIndex, CreateTable

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

logger = logging.getLogger(__name__)

# Frozen copy of the tables at this revision: later edits to storage/tables.py must not change it.
baseline = sa.MetaData()
sa.Table(
    "users", baseline,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("user_id", sa.String(), nullable=False, unique=True),
    sa.Column("split", sa.String(8), nullable=False, index=True),
    sa.Column("metadata", sa.JSON(), nullable=False),
    sa.Column("content_hash", sa.String(32), nullable=False),
    sa.Column("num_chunks", sa.Integer(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
)
sa.Table(
    "user_attributes", baseline,
    sa.Column("user_pk", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(), primary_key=True),
    sa.Column("value", sa.String(), nullable=False),
    sa.Index("ix_user_attributes_key_value", "key", "value"),
    sqlite_with_rowid=False,
)
sa.Table(
    "chunks", baseline,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("user_pk", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("platform", sa.String(), nullable=True),
    sa.Column("timestamp", sa.String(20), nullable=True),
    sa.Column("metadata", sa.JSON(none_as_null=True), nullable=True),
    sa.Index("ix_chunks_user_pk", "user_pk"),
    sa.Index("ix_chunks_platform_user", "platform", "user_pk"),
    sa.Index("ix_chunks_timestamp_user", "timestamp", "user_pk"),
)
sa.Table(
    "statements", baseline,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("text", sa.Text(), nullable=False, unique=True),
    sa.Column("category", sa.String(), nullable=True),
    sa.Column("held_out", sa.Boolean(), nullable=False, index=True),
)
sa.Table(
    "labels", baseline,
    sa.Column("user_pk", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("statement_id", sa.Integer(), sa.ForeignKey("statements.id"), primary_key=True),
    sa.Column("positive", sa.Boolean(), nullable=False),
    sa.Index("ix_labels_statement", "statement_id"),
    sqlite_with_rowid=False,
)
sa.Table(
    "traits", baseline,
    sa.Column("user_pk", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("name", sa.String(), primary_key=True),
    sa.Column("value", sa.Float(), nullable=False),
    sqlite_with_rowid=False,
)
MODELS = sa.Table(
    "models", baseline,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("path", sa.String(), nullable=False, index=True),
    sa.Column("checksum", sa.String(64), nullable=True),
    sa.Column("base_model", sa.String(), nullable=False),
    sa.Column("embedding_dim", sa.Integer(), nullable=False),
    sa.Column("metrics", sa.JSON(), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.UniqueConstraint("path", "checksum"),
)
sa.Table(
    "index_builds", baseline,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("model_id", sa.Integer(), sa.ForeignKey("models.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("factory", sa.String(), nullable=False),
    sa.Column("dim", sa.Integer(), nullable=False),
    sa.Column("count", sa.Integer(), nullable=False),
    sa.Column("path", sa.String(), nullable=False),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.UniqueConstraint("kind", "path"),
)
sa.Table(
    "store_meta", baseline,
    sa.Column("key", sa.String(), primary_key=True),
    sa.Column("value", sa.Integer(), nullable=False),
)


def upgrade() -> None:
    bind = op.get_bind()
    present = set(sa.inspect(bind).get_table_names())
    if "models" in present:
        _models_checksum(bind)
    baseline.create_all(bind, checkfirst=True)  # the tables an older store lacks, with their indexes
    for name in present & set(baseline.tables):
        for index in baseline.tables[name].indexes:
            index.create(bind, checkfirst=True)


def downgrade() -> None:
    raise RuntimeError("0001 is the baseline: there is no earlier revision to go back to")


def _path_unique(bind) -> list[str]:
    """Names of the unique constraints (and, on SQLite, unique indexes) on ``models.path`` alone."""
    inspector = sa.inspect(bind)
    names = [u.get("name") or "" for u in inspector.get_unique_constraints("models") if u["column_names"] == ["path"]]
    if bind.dialect.name == "sqlite":
        names += [i["name"] for i in inspector.get_indexes("models")
                  if i["unique"] and i["column_names"] == ["path"]]
    return names


def _models_checksum(bind) -> None:
    """Bring a ``models`` table from before weights checksums to the identity ``(path, checksum)``."""
    inspector = sa.inspect(bind)
    columns = {c["name"] for c in inspector.get_columns("models")}
    path_unique = _path_unique(bind)
    if "checksum" in columns and not path_unique:
        return
    if bind.dialect.name == "sqlite":  # SQLite cannot drop a constraint: copy into a new table
        names = [c.name for c in MODELS.columns]
        source = [n if n in columns else "NULL" for n in names]
        staged = MODELS.to_metadata(sa.MetaData(), name="models_new")
        bind.exec_driver_sql("DROP TABLE IF EXISTS models_new")
        bind.exec_driver_sql(str(CreateTable(staged).compile(dialect=bind.dialect)))
        bind.exec_driver_sql(f"INSERT INTO models_new ({', '.join(names)}) SELECT {', '.join(source)} FROM models")
        bind.exec_driver_sql("DROP TABLE models")  # foreign keys are off: index_builds keep their model ids
        bind.exec_driver_sql("ALTER TABLE models_new RENAME TO models")
        for index in MODELS.indexes:
            bind.exec_driver_sql(str(CreateIndex(index, if_not_exists=True).compile(dialect=bind.dialect)))
    else:
        if "checksum" not in columns:
            op.add_column("models", sa.Column("checksum", sa.String(64), nullable=True))
        for name in path_unique:
            op.drop_constraint(name, "models", type_="unique")
        if not any(u["column_names"] == ["path", "checksum"] for u in inspector.get_unique_constraints("models")):
            op.create_unique_constraint("models_path_checksum_key", "models", ["path", "checksum"])
        for index in MODELS.indexes:
            index.create(bind, checkfirst=True)
    logger.info("migrated the models table: weights checksum, identity (path, checksum)")
