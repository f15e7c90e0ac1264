"""What a compound audience asks for: statements and users, wanted or excluded, with weights.

``uue audience --statement "enjoys hiking" --not-statement "enjoys camping^2" --like-user u42``:
each input is a ``Term``; a weight is written after a caret, as in Lucene's boost syntax
(``"likes dogs^0.5"``, ``"u42^3"``). The caret is the only character given a meaning, so
a statement may hold colons, commas or digits ("works 9:00-17:00"). Refused, with what to
write instead: a caret that is not followed by a weight (a number > 0 and ≤ ``MAX_WEIGHT``),
more than one caret, an empty text, the same input twice (give it once with a weight),
one input both wanted and excluded, and a query with nothing wanted (only exclusions).
The HTTP API takes the same as JSON objects ``{"text": ..., "weight": ...}``: no caret parsing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from storage.errors import UUEError

WEIGHT_MARK = "^"
MAX_WEIGHT = 100.0
MAX_TERMS = 64  # inputs per query
OPTIONS = {("statement", False): "--statement", ("statement", True): "--not-statement",
           ("user", False): "--like-user", ("user", True): "--unlike-user"}


class CompoundQueryError(UUEError):
    """A compound audience asked in a way that has no single meaning."""


@dataclass(frozen=True)
class Term:
    """One input: a statement text or a user id, its weight, and whether it is excluded."""

    kind: str  # "statement" | "user"
    value: str
    weight: float = 1.0
    negative: bool = False

    @property
    def option(self) -> str:
        return OPTIONS[(self.kind, self.negative)]

    def __str__(self) -> str:
        return f"{self.option} {self.value!r}" + (f" (weight {self.weight:g})" if self.weight != 1.0 else "")


def check_weight(weight: float, where: str) -> float:
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) \
            or not 0 < weight <= MAX_WEIGHT:
        raise CompoundQueryError(f"{where}: the weight must be a number above 0 and at most {MAX_WEIGHT:g}, "
                                 f"got {weight!r} (to exclude users, use --not-statement / --unlike-user)")
    return float(weight)


def parse_weighted(item: str, option: str) -> tuple[str, float]:
    """``"TEXT"`` → ``(TEXT, 1.0)``; ``"TEXT^W"`` → ``(TEXT, W)``; anything else with a caret is refused."""
    text, mark, weight = item.rpartition(WEIGHT_MARK)
    if not mark:
        return item.strip(), 1.0
    where = f"{option} {item!r}"
    if WEIGHT_MARK in text:
        raise CompoundQueryError(f"{where} has more than one '{WEIGHT_MARK}': '{WEIGHT_MARK}' only marks a weight at "
                                 f"the end, e.g. {option} \"enjoys hiking{WEIGHT_MARK}2\"")
    try:
        value = float(weight.strip())
    except ValueError:
        raise CompoundQueryError(f"{where}: '{WEIGHT_MARK}' marks a weight, and {weight.strip()!r} is not a number; "
                                 f"write TEXT{WEIGHT_MARK}WEIGHT, e.g. {option} \"enjoys hiking{WEIGHT_MARK}2\" "
                                 f"(a statement or user id cannot otherwise contain '{WEIGHT_MARK}')") from None
    return text.strip(), check_weight(value, where)


def parse_terms(statements: Iterable[str] = (), not_statements: Iterable[str] = (),
                like_users: Iterable[str] = (), unlike_users: Iterable[str] = ()) -> tuple[Term, ...]:
    """The options' strings as terms (each weight checked; the whole query is checked by ``CompoundQuery``)."""
    terms = []
    for kind, negative, items in (("statement", False, statements), ("statement", True, not_statements),
                                  ("user", False, like_users), ("user", True, unlike_users)):
        for item in items:
            value, weight = parse_weighted(item, OPTIONS[(kind, negative)])
            terms.append(Term(kind, value, weight, negative))
    return tuple(terms)


@dataclass(frozen=True)
class CompoundQuery:
    """Terms of a compound audience, checked: at least one wanted, none repeated or contradictory."""

    terms: tuple[Term, ...]

    def __post_init__(self) -> None:
        if not self.terms:
            raise CompoundQueryError("give at least one --statement or --like-user")
        if len(self.terms) > MAX_TERMS:
            raise CompoundQueryError(f"{len(self.terms)} inputs: a compound audience takes at most {MAX_TERMS}")
        seen: dict[tuple[str, str], Term] = {}
        for term in self.terms:
            if term.kind not in ("statement", "user"):
                raise CompoundQueryError(f"unknown input kind {term.kind!r}: statement or user")
            if not term.value.strip():
                raise CompoundQueryError(f"{term.option} is empty: give a sentence about users, e.g. "
                                         f"{term.option} \"enjoys hiking\"" if term.kind == "statement" else
                                         f"{term.option} is empty: give a user id")
            check_weight(term.weight, str(term))
            key = (term.kind, term.value.strip())
            if key in seen:
                first = seen[key]
                if first.negative != term.negative:
                    raise CompoundQueryError(f"{term.kind} {term.value.strip()!r} is both wanted ({OPTIONS[(term.kind, False)]}) "
                                             f"and excluded ({OPTIONS[(term.kind, True)]}): keep one")
                raise CompoundQueryError(f"{term.option} {term.value.strip()!r} is given twice: give it once, with a "
                                         f"weight for more influence, e.g. {term.option} \"{term.value.strip()}^2\"")
            seen[key] = term
        if not self.positives:
            raise CompoundQueryError("only exclusions given: a compound audience needs at least one --statement or "
                                     "--like-user to rank users by")

    @classmethod
    def parse(cls, statements: Iterable[str] = (), not_statements: Iterable[str] = (),
              like_users: Iterable[str] = (), unlike_users: Iterable[str] = ()) -> CompoundQuery:
        """From the command line's strings (``TEXT`` or ``TEXT^WEIGHT``)."""
        return cls(parse_terms(statements, not_statements, like_users, unlike_users))

    @classmethod
    def of(cls, statements: Sequence[tuple[str, float] | str] = (), not_statements: Sequence[tuple[str, float] | str] = (),
           like_users: Sequence[tuple[str, float] | str] = (), unlike_users: Sequence[tuple[str, float] | str] = ()
           ) -> CompoundQuery:
        """From Python values: each input a text (weight 1) or a ``(text, weight)`` pair; no caret parsing."""
        terms = []
        for kind, negative, items in (("statement", False, statements), ("statement", True, not_statements),
                                      ("user", False, like_users), ("user", True, unlike_users)):
            for item in items:
                value, weight = (item, 1.0) if isinstance(item, str) else item
                terms.append(Term(kind, value.strip(), weight, negative))
        return cls(tuple(terms))

    @property
    def positives(self) -> list[Term]:
        return [t for t in self.terms if not t.negative]

    @property
    def negatives(self) -> list[Term]:
        return [t for t in self.terms if t.negative]

    @property
    def single_statement(self) -> str | None:
        """The text when the query is one wanted statement and nothing else (a plain audience)."""
        if len(self.terms) == 1 and self.terms[0].kind == "statement" and not self.terms[0].negative:
            return self.terms[0].value
        return None
