"""What the queries return and raise: user and statement hits, profiles, query errors, the bound on k."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from storage.errors import UUEError

MAX_K = 10_000


class QueryError(UUEError):
    """A query that cannot be answered as asked (bad k, empty text, stale index)."""


class StaleIndex(QueryError):
    """The index cannot answer until a build: another model's, or older than the user asked about."""


@dataclass
class UserHit:
    user_id: str
    score: float


@dataclass
class StatementHit:
    statement: str
    score: float


@dataclass
class Profile:
    user_id: str
    top: list[StatementHit]
    scored: list[StatementHit] = field(default_factory=list)  # the free-text statements asked about

    def to_json(self) -> list[dict]:
        """The pool's top statements, then the ones asked about (``"requested": true``)."""
        return ([{**asdict(h), "requested": False} for h in self.top]
                + [{**asdict(h), "requested": True} for h in self.scored])


def check_k(k: int) -> int:
    if not 1 <= k <= MAX_K:
        raise QueryError(f"-k must be between 1 and {MAX_K}, got {k}")
    return k
