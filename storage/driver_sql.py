"""Reads on the DB-API driver's own cursor, for the hot paths where SQLAlchemy's result rows
cost more than the query (``Store.iter_histories``: ~3x the driver's tuples). Bound
parameters only, in the driver's style; errors come out as they do from the engine's own
statements."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DBAPIError

from storage.failures import database_error

MARKS = {"qmark": "?", "format": "%s", "pyformat": "%s"}  # the driver's bound-parameter mark, by paramstyle


def driver_rows(store: Any, sql: str, params: tuple) -> list[tuple]:
    """``sql`` with ``params`` on the driver's cursor, in one of ``store``'s sessions. A failure is
    what the engine's hook makes of it (a ``StorageError`` that names the cause) or SQLAlchemy's
    ``DBAPIError``; a lost connection is invalidated, as SQLAlchemy does for its own statements."""
    dialect = store.engine.dialect
    with store.session() as session:
        connection = session.connection()
        cursor = connection.connection.driver_connection.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchall()
        except dialect.loaded_dbapi.Error as exc:
            error = database_error(store.url, exc, store.busy_timeout)
            if error is not None:
                raise error from None
            if dialect.is_disconnect(exc, connection.connection.dbapi_connection, cursor):
                connection.invalidate(exc)
            raise DBAPIError.instance(sql, params, exc, dialect.loaded_dbapi.Error) from None
        finally:
            cursor.close()
