"""Exceptions for mistakes a user can fix. The CLI prints the message and exits 1."""


class UUEError(Exception):
    """Base of every error caused by input, state or configuration (never a bug).

    The message says what is wrong, where, and what to do.
    """


class NotFound(UUEError):
    """An unknown user, statement, model or index build."""


class UnknownUser(NotFound):
    """A ``user_id`` that is not in the store."""


class IngestError(UUEError):
    """A bad line in an input file: ``path:line: what is wrong``. Nothing was written."""
