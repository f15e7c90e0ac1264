"""The metadata store: users, chunks, statements, labels, traits, models, index builds.

Any SQLAlchemy URL works; SQLite (the default) runs in WAL mode. The store is the
source of truth for which model is active and which index build serves queries.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, select, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from storage import driver_sql, strict_json
from storage.errors import NotFound, UnknownUser, UUEError
from storage.failures import database_error
from storage.records import StatementRecord, UserRecord, normalise_user_id, texts_oldest_first
from storage.schema import enable_wal, upgrade_schema
from storage.tables import (
    SQL_IN_BATCH,
    Chunk,
    Label,
    Statement,
    StoreMeta,
    TrainedModel,
    Trait,
    User,
    UserAttribute,
    batched,
)

logger = logging.getLogger(__name__)

DEFAULT_BUSY_TIMEOUT = 30.0  # seconds a writer waits for another's write lock
DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}  # psycopg 3: the `postgres` extra


def database_url(url: str | URL) -> URL:
    """Parse a database URL; a bare ``postgresql://`` (or ``postgres://``) means psycopg 3."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # not echoed: it may hold a password
        raise UUEError("cannot open database: the --db value ($UUE_DATABASE_URL) is not a database URL; "
                       "expected e.g. sqlite:///path/uue.db or postgresql://user:password@host:5432/dbname") from None
    return parsed.set(drivername=DRIVERS.get(parsed.drivername, parsed.drivername))


def masked(url: str | URL) -> str:
    """The URL as it may be shown: the password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(unparsable URL)"


def _scrub(message: str, url: URL) -> str:
    """A driver's message with the password taken out, should the driver have echoed it."""
    return message.replace(url.password, "***") if url.password else message


def busy_timeout_from_env() -> float:
    """``$UUE_BUSY_TIMEOUT`` (seconds), else ``DEFAULT_BUSY_TIMEOUT``."""
    raw = os.environ.get("UUE_BUSY_TIMEOUT")
    if raw is None or not raw.strip():
        return DEFAULT_BUSY_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1e6:
        raise UUEError(f"$UUE_BUSY_TIMEOUT={raw!r} is not a number of seconds between 0 and 1e6")
    return value


def _sqlite_pragmas(busy_timeout: float):
    def apply(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")  # first: the next pragmas may wait
        enable_wal(dbapi_connection, busy_timeout)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache
        cursor.close()

    return apply


def _engine_options(url: URL) -> dict:
    if url.get_backend_name() == "postgresql":
        return {"pool_pre_ping": True}  # a server restart or an idle timeout drops pooled connections
    return {}


class Store:
    """SQLAlchemy-backed metadata store. ``Store("sqlite:///path/uue.db")``."""

    def __init__(self, url: str | URL, *, echo: bool = False, busy_timeout: float | None = None) -> None:
        """``busy_timeout``: seconds a write waits for another process's write lock before it fails
        with ``WorkspaceBusy`` (default ``$UUE_BUSY_TIMEOUT``, else 30)."""
        parsed = database_url(url)
        self.url = parsed.render_as_string(hide_password=False)  # for child processes; never print it
        self.display_url = masked(url)
        self.busy_timeout = busy_timeout_from_env() if busy_timeout is None else float(busy_timeout)
        try:
            # every JSON column is written by the one strict serialiser: no NaN / Infinity in the store
            self.engine: Engine = create_engine(parsed, echo=echo, json_serializer=strict_json.dumps,
                                                **_engine_options(parsed))
        except NoSuchModuleError:
            raise UUEError(f"cannot open database {self.display_url}: no SQLAlchemy dialect "
                           f"{parsed.drivername!r}; use sqlite:///PATH or postgresql://...") from None
        except ImportError as exc:  # the driver package is missing
            extra = " (pip install 'uue[postgres]')" if parsed.get_backend_name() == "postgresql" else ""
            raise UUEError(f"cannot open database {self.display_url}: its driver is not installed: "
                           f"{exc}{extra}") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas(self.busy_timeout))
        event.listen(self.engine, "handle_error", self._translate)
        try:
            upgrade_schema(self.engine, busy_timeout=self.busy_timeout)
        except UUEError:  # translated by the handle_error hook (full disk, read-only file...)
            self.engine.dispose()
            raise
        except SQLAlchemyError as exc:  # missing directory, read-only file, server down, bad credentials
            self.engine.dispose()
            reason = _scrub(str(getattr(exc, "orig", None) or exc), parsed).strip()
            raise UUEError(f"cannot open database {self.display_url}: {reason}; check that its directory "
                           "exists and is writable (or the server is reachable and the user and password "
                           "are right), or pass another --db URL ($UUE_DATABASE_URL)") from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def __repr__(self) -> str:
        return f"Store({self.display_url!r})"

    def _translate(self, context) -> None:
        """Engine hook: a busy, full or read-only database raises a ``StorageError`` that says so."""
        error = database_error(self.url, context.original_exception, self.busy_timeout)
        if error is not None:
            raise error from None

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    # ---- ingest ----------------------------------------------------------------------

    def ingest(self, users: Iterable[UserRecord], statements: Iterable[StatementRecord] = (),
               *, batch_size: int = 2000, progress: bool = False, append: bool = False) -> dict[str, int]:
        """Write validated records in one transaction (see ``storage.ingest``); ``append``
        adds chunks to stored users instead of replacing them (``storage.append``)."""
        from storage.ingest import ingest_records

        return ingest_records(self.engine, users, statements, batch_size=batch_size, progress=progress,
                              append=append)

    def ingest_file(self, users_path, statements_path=None, *, progress: bool = False,
                    append: bool = False) -> dict[str, int]:
        """Ingest a ``users.jsonl`` file (and a statement pool) in one transaction."""
        from storage.ingest import ingest_files

        return ingest_files(self.engine, users_path, statements_path, progress=progress, append=append)

    # ---- users -----------------------------------------------------------------------

    def count_users(self, split: str | None = None) -> int:
        stmt = select(func.count(User.id))
        if split is not None:
            stmt = stmt.where(User.split == split)
        with self.session() as s:
            return s.scalar(stmt) or 0

    def user_pk(self, user_id: str) -> int:
        user_id = normalise_user_id(user_id)
        with self.session() as s:
            pk = s.scalar(select(User.id).where(User.user_id == user_id))
        if pk is None:
            raise UnknownUser(f"unknown user {user_id!r}: no such user_id in the store (see `uue stats`)")
        return pk

    def user_ids(self, pks: Iterable[int]) -> dict[int, str]:
        """Map primary keys (FAISS ids) back to ``user_id`` strings."""
        out: dict[int, str] = {}
        with self.session() as s:
            for part in batched([int(p) for p in pks]):
                out.update(s.execute(select(User.id, User.user_id).where(User.id.in_(part))).all())
        return out

    def user_pks(self, split: str | None = None) -> list[int]:
        stmt = select(User.id).order_by(User.id)
        if split is not None:
            stmt = stmt.where(User.split == split)
        with self.session() as s:
            return list(s.scalars(stmt))

    def content_hashes(self) -> dict[int, str]:
        """``{user pk: content hash}`` — what a user's vector depends on."""
        with self.session() as s:
            return dict(s.execute(select(User.id, User.content_hash)).all())

    def get_user(self, user_id: str) -> tuple[int, UserRecord]:
        pk = self.user_pk(user_id)
        return next(iter(self.iter_users(pks=[pk])))

    def iter_users(self, split: str | None = None, *, pks: list[int] | None = None,
                   batch_size: int = 1000) -> Iterator[tuple[int, UserRecord]]:
        """Yield ``(pk, record)`` in primary-key order, reading ``batch_size`` users at a time."""
        if pks is not None:
            ordered = sorted(set(int(p) for p in pks))
            for part in batched(ordered, min(batch_size, SQL_IN_BATCH)):
                yield from self._load_users(select(User).where(User.id.in_(part)).order_by(User.id))
            return
        last = 0
        while True:
            stmt = select(User).where(User.id > last).order_by(User.id).limit(batch_size)
            if split is not None:
                stmt = stmt.where(User.split == split)
            rows = list(self._load_users(stmt))
            if not rows:
                return
            yield from rows
            last = rows[-1][0]

    def iter_histories(self, pks: list[int], batch_size: int = 1000) -> Iterator[tuple[int, list[str]]]:
        """Yield ``(pk, texts)`` in primary-key order: each user's chunk texts, oldest first
        (``history_texts``), for the given users that exist. What an embedding pass needs of a
        user, in one query per batch (``iter_users`` also reads labels, traits and metadata).

        The query runs on the driver's own cursor (bound parameters in the driver's style, for
        the drivers whose style is ``?`` or ``%s``: SQLite, psycopg, psycopg2, pg8000): an index
        build reads every post through here, and SQLAlchemy's result rows cost ~3x the driver's
        tuples (400k posts: 0.73 s CPU against 0.25 s). Other drivers take SQLAlchemy's path."""
        mark = driver_sql.MARKS.get(self.engine.dialect.paramstyle)
        for part in batched(sorted(set(int(p) for p in pks)), min(batch_size, SQL_IN_BATCH)):
            if mark is not None:
                rows = driver_sql.driver_rows(self, f"SELECT user_pk, text, timestamp FROM {Chunk.__tablename__} WHERE "
                                              f"user_pk IN ({','.join([mark] * len(part))}) ORDER BY user_pk, position",
                                              tuple(part))
            else:
                with self.session() as s:
                    rows = s.execute(select(Chunk.user_pk, Chunk.text, Chunk.timestamp)
                                     .where(Chunk.user_pk.in_(part)).order_by(Chunk.user_pk, Chunk.position)).all()
            for pk, group in itertools.groupby(rows, key=lambda r: r[0]):
                yield pk, texts_oldest_first([(r[1], r[2]) for r in group])

    def _load_users(self, stmt) -> Iterator[tuple[int, UserRecord]]:
        with self.session() as s:
            users = list(s.scalars(stmt))
            if not users:
                return
            pks = [u.id for u in users]
            chunks: dict[int, list] = {pk: [] for pk in pks}
            for c in s.execute(select(Chunk.user_pk, Chunk.text, Chunk.platform, Chunk.timestamp, Chunk.metadata_)
                               .where(Chunk.user_pk.in_(pks)).order_by(Chunk.user_pk, Chunk.position)):
                chunks[c.user_pk].append({"text": c.text, "platform": c.platform, "timestamp": c.timestamp,
                                          "metadata": c.metadata_ or {}})
            positives: dict[int, list[str]] = {pk: [] for pk in pks}
            negatives: dict[int, list[str]] = {pk: [] for pk in pks}
            for row in s.execute(select(Label.user_pk, Label.positive, Statement.text)
                                 .join(Statement, Statement.id == Label.statement_id)
                                 .where(Label.user_pk.in_(pks)).order_by(Label.user_pk, Statement.id)):
                (positives if row.positive else negatives)[row.user_pk].append(row.text)
            traits: dict[int, dict[str, float]] = {pk: {} for pk in pks}
            for row in s.execute(select(Trait.user_pk, Trait.name, Trait.value).where(Trait.user_pk.in_(pks))):
                traits[row.user_pk][row.name] = row.value
        for u in users:
            yield u.id, {
                "user_id": u.user_id, "chunks": chunks[u.id], "statements": positives[u.id],
                "negative_statements": negatives[u.id], "traits": traits[u.id],
                "metadata": dict(u.metadata_ or {}), "split": u.split,
            }

    # ---- statements and labels ---------------------------------------------------------

    def statements(self, held_out: bool | None = None) -> list[tuple[int, str]]:
        """``[(statement id, text)]`` in id order; ``held_out`` filters the zero-shot set."""
        stmt = select(Statement.id, Statement.text).order_by(Statement.id)
        if held_out is not None:
            stmt = stmt.where(Statement.held_out == held_out)
        with self.session() as s:
            return [tuple(r) for r in s.execute(stmt)]

    def statement_ids(self, texts: Iterable[str]) -> dict[str, int]:
        """``{text: id}`` for those of ``texts`` that are in the pool."""
        out: dict[str, int] = {}
        with self.session() as s:
            for part in batched(list({t.strip() for t in texts})):
                out.update(s.execute(select(Statement.text, Statement.id).where(Statement.text.in_(part))).all())
        return out

    def statement_texts(self, ids: Iterable[int]) -> dict[int, str]:
        """``{id: text}`` for the given statement ids."""
        out: dict[int, str] = {}
        with self.session() as s:
            for part in batched([int(i) for i in ids]):
                out.update(s.execute(select(Statement.id, Statement.text).where(Statement.id.in_(part))).all())
        return out

    def held_out_ids(self) -> set[int]:
        with self.session() as s:
            return set(s.scalars(select(Statement.id).where(Statement.held_out.is_(True))))

    def labels(self, split: str | None = None, positive: bool = True) -> dict[int, list[int]]:
        """``{user pk: [statement id, ...]}`` of positive (or known negative) labels."""
        stmt = select(Label.user_pk, Label.statement_id).where(Label.positive.is_(positive))
        if split is not None:
            stmt = stmt.join(User, User.id == Label.user_pk).where(User.split == split)
        out: dict[int, list[int]] = {}
        with self.session() as s:
            for user_pk, statement_id in s.execute(stmt.order_by(Label.user_pk, Label.statement_id)):
                out.setdefault(user_pk, []).append(statement_id)
        return out

    # ---- models ---------------------------------------------------------------------

    def register_model(self, path: str, base_model: str, embedding_dim: int,
                       metrics: dict[str, Any] | None = None, *, checksum: str | None = None,
                       activate: bool = True) -> int:
        """Record a trained model; by default make it the active model. Returns its id.

        A model is identified by ``(path, checksum)``, ``checksum`` being the sha256 of its
        weights file: registering the same directory with other weights (retrained into
        it, resumed into it) records a new model, so vectors and index builds of the old
        weights are never taken for the new ones.
        """
        with self.session() as s:
            # ``== None`` compiles to IS NULL: models registered without a checksum match by path
            row = s.scalar(select(TrainedModel).where(TrainedModel.path == path, TrainedModel.checksum == checksum))
            if row is None:
                row = TrainedModel(path=path, checksum=checksum, base_model=base_model, embedding_dim=embedding_dim)
                s.add(row)
            row.base_model, row.embedding_dim, row.metrics = base_model, embedding_dim, metrics or {}
            s.flush()
            if activate:
                s.execute(update(TrainedModel).values(active=False))
                row.active = True
            return row.id

    def active_model(self) -> TrainedModel:
        with self.session() as s:
            row = s.scalar(select(TrainedModel).where(TrainedModel.active.is_(True)))
        if row is None:
            raise NotFound("no trained model yet: run `uue train` first")
        return row

    def data_version(self) -> int:
        """A counter bumped by every ingest: cached query filters are valid while it holds."""
        with self.session() as s:
            return s.scalar(select(StoreMeta.value).where(StoreMeta.key == "data_version")) or 0

    # ---- overview -------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counts per split, statements, labels, platforms, models."""
        with self.session() as s:
            splits = dict(s.execute(select(User.split, func.count()).group_by(User.split)).all())
            platforms = dict(s.execute(select(Chunk.platform, func.count()).group_by(Chunk.platform)
                                       .order_by(func.count().desc())).all())
            held_out = dict(s.execute(select(Statement.held_out, func.count()).group_by(Statement.held_out)).all())
            labels = dict(s.execute(select(Label.positive, func.count()).group_by(Label.positive)).all())
            return {
                "users": sum(splits.values()),
                "splits": {k: splits.get(k, 0) for k in ("train", "dev", "test")},
                "chunks": s.scalar(select(func.count(Chunk.id))) or 0,
                "platforms": {("(none)" if k is None else k): v for k, v in platforms.items()},
                "statements": sum(held_out.values()),
                "held_out_statements": held_out.get(True, 0),
                "positive_labels": labels.get(True, 0),
                "negative_labels": labels.get(False, 0),
                "traits": sorted(s.scalars(select(Trait.name).distinct())),
                "user_metadata_keys": sorted(s.scalars(select(UserAttribute.key).distinct())),
                "models": s.scalar(select(func.count(TrainedModel.id))) or 0,
            }
