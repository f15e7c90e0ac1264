"""64-bit keys: primary keys, the foreign keys that point at them, and index build counts.

FAISS ids are int64 and are the store's primary keys. On SQLite nothing changes: an
``INTEGER PRIMARY KEY`` is already the 64-bit rowid (and must stay spelled ``INTEGER`` to
auto-increment). On PostgreSQL the columns become ``BIGINT`` and the sequences behind the
serial keys ``AS bigint`` (a serial sequence stops at 2^31 - 1 otherwise). PostgreSQL
rewrites each altered table: minutes for a store of millions of chunks, once.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# (table, column) in an order that alters each referenced key before the keys pointing at it
COLUMNS = (
    ("users", "id"), ("statements", "id"), ("models", "id"), ("index_builds", "id"),
    ("chunks", "id"), ("chunks", "user_pk"), ("user_attributes", "user_pk"), ("labels", "user_pk"),
    ("labels", "statement_id"), ("traits", "user_pk"), ("index_builds", "model_id"), ("index_builds", "count"),
)
SERIAL = ("users", "statements", "models", "index_builds", "chunks")


def _retype(column_type: type[sa.types.TypeEngine], sequence_type: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, type_=column_type())
    if bind.dialect.name == "postgresql":
        for table in SERIAL:
            sequence = bind.scalar(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table})
            if sequence:
                op.execute(f"ALTER SEQUENCE {sequence} AS {sequence_type}")


def upgrade() -> None:
    _retype(sa.BigInteger, "bigint")


def downgrade() -> None:
    _retype(sa.Integer, "integer")
