"""A split's users as small rows, read a page at a time: what streamed training needs to
plan an epoch without loading any history (``uue.training.data.TrainingData.from_store``),
and the positive statements of a block of users (``positive_statements``).

Each function reads in primary-key order with keyset pagination (``WHERE id > last``),
so memory stays at one page of rows whatever the number of users.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sqlalchemy import Select, select

from storage.store import Store
from storage.tables import SQL_IN_BATCH, Label, Statement, User, batched

PAGE = 20_000  # rows per query


def _paged(store: Store, query: Callable[[tuple], Select], start: tuple) -> Iterator[tuple]:
    """Rows of ``query(last row)`` page after page, until a page comes back empty."""
    last = start
    while True:
        with store.session() as s:
            rows = [tuple(r) for r in s.execute(query(last))]
        if not rows:
            return
        yield from rows
        last = rows[-1]


def split_rows(store: Store, split: str, *, up_to_pk: int | None = None,
               page: int = PAGE) -> Iterator[tuple[int, str, str]]:
    """``(pk, user_id, content_hash)`` of the split's users in pk order (pk <= ``up_to_pk``)."""
    def query(last: tuple) -> Select:
        stmt = (select(User.id, User.user_id, User.content_hash).where(User.split == split, User.id > last[0])
                .order_by(User.id).limit(page))
        return stmt if up_to_pk is None else stmt.where(User.id <= up_to_pk)

    return _paged(store, query, (0,))


def nth_pk(store: Store, split: str, n: int) -> int | None:
    """The pk of the split's ``n``-th user in pk order (1-based); None if it has fewer."""
    with store.session() as s:
        return s.scalar(select(User.id).where(User.split == split).order_by(User.id).offset(n - 1).limit(1))


def positive_labels(store: Store, split: str, *, up_to_pk: int | None = None,
                    page: int = PAGE) -> Iterator[tuple[int, int]]:
    """``(user pk, statement id)`` of the split's positive labels on statements that are not
    held out, ordered by user pk then statement id.

    A page is the labels of the split's next ``page`` users (a pk range): each query reads
    one bounded range of the labels' primary key. (Keyset pagination on ``(user_pk,
    statement_id)`` needs an OR, which SQLite answers by sorting every remaining label for
    each page: quadratic in the number of users, 82 s of CPU at 300k users.)"""
    last = 0
    while True:
        users = select(User.id).where(User.split == split, User.id > last).order_by(User.id).limit(page)
        with store.session() as s:
            pks = s.scalars(users if up_to_pk is None else users.where(User.id <= up_to_pk)).all()
            if not pks:
                return
            rows = s.execute(select(Label.user_pk, Label.statement_id)
                             .join(User, User.id == Label.user_pk).join(Statement, Statement.id == Label.statement_id)
                             .where(User.split == split, Label.positive.is_(True), Statement.held_out.is_(False),
                                    Label.user_pk > last, Label.user_pk <= pks[-1])
                             .order_by(Label.user_pk, Label.statement_id)).all()
        yield from (tuple(r) for r in rows)
        last = pks[-1]


def positive_statements(store: Store, pks: list[int]) -> dict[int, list[str]]:
    """``{pk: [statement text, ...]}`` of these users' positive labels (ordered by statement
    id, as ``Store.iter_users`` lists them); users without one are left out."""
    out: dict[int, list[str]] = {}
    for part in batched(sorted(set(int(p) for p in pks)), SQL_IN_BATCH):
        with store.session() as s:
            rows = s.execute(select(Label.user_pk, Statement.text).join(Statement, Statement.id == Label.statement_id)
                             .where(Label.user_pk.in_(part), Label.positive.is_(True))
                             .order_by(Label.user_pk, Statement.id)).all()
        for pk, text in rows:
            out.setdefault(pk, []).append(text)
    return out
