"""``deleted_users`` (tombstones of deleted users' primary keys) and ``index_builds.files``
(the sha256 of a build's vector files, nullable: older builds have none).

A store written by the code of the short while before migrations that already had
``deleted_users`` keeps its table (with 64-bit ids on PostgreSQL, like every key).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if inspector.has_table("deleted_users"):
        if bind.dialect.name != "sqlite":
            op.alter_column("deleted_users", "id", type_=sa.BigInteger())
    else:
        op.create_table(
            "deleted_users",
            sa.Column("id", BIGINT, primary_key=True, autoincrement=False),
            sa.Column("deleted_at", sa.DateTime(), nullable=False),
        )
    if "files" not in {c["name"] for c in inspector.get_columns("index_builds")}:
        op.add_column("index_builds", sa.Column("files", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("index_builds") as batch:
        batch.drop_column("files")
    op.drop_table("deleted_users")
