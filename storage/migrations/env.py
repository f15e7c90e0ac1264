"""Alembic environment: runs on the connection ``storage.schema`` hands over.

Without one (the ``alembic`` command line), it connects to ``sqlalchemy.url``.
SQLite changes tables in batch mode (copy and move), the only way it can alter them.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from storage.tables import Base


def run(connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url"), poolclass=NullPool)
    with engine.connect() as conn:
        run(conn)
    engine.dispose()
