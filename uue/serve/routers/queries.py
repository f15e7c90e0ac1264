"""Audience, batch audience, similar and profile: the CLI's queries with its parameters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, Path, Query

from storage.filters import UserFilter, parse_filter
from uue.search.interest_search import use_interests
from uue.search.queries import QueryError, Searcher
from uue.search.queries import UserHit as Hit
from uue.serve.deps import get_searcher, get_state, search_params, user_filter
from uue.serve.schemas import (
    ERRORS,
    MAX_BATCH,
    MAX_K,
    MAX_TEXT,
    BatchAudienceRequest,
    BatchAudienceResult,
    CompoundAudienceRequest,
    Explanation,
    StatementHit,
    UserHit,
)
from uue.serve.state import ServeState

router = APIRouter(tags=["queries"], responses=ERRORS)

K = Annotated[int, Query(ge=1, le=MAX_K, description="Number of results")]
EXPLAIN = Annotated[bool, Query(description="Add each result's best-matching chunks (slower: scores every chunk)")]
EXPLAIN_TOP = Annotated[int, Query(ge=1, le=20, description="Chunks per explained result")]
USER_ID = Annotated[str, Path(min_length=1, max_length=512)]
INTERESTS = Annotated[bool | None, Query(description=(
    "Use each user's interests (the multi-interest index, README \"Multi-interest users\"); "
    "default: the server's $UUE_INTERESTS, else false"))]


def _explained(state: ServeState, hits: list[Hit], vector: Callable[[], np.ndarray], explain: bool,
               top: int) -> list[UserHit]:
    """Hits as the API returns them; with ``explain``, each with its chunks that score highest against
    ``vector()`` (``[1, d]``, computed only then)."""
    out = [UserHit(user_id=h.user_id, score=h.score) for h in hits]
    if explain and hits:
        vector = vector()
        for hit, why in zip(out, state.explainer.explain([h.user_id for h in hits], vector, top)):
            hit.explanation = Explanation(**why.to_json())
    return out


@router.get("/audience", response_model=list[UserHit], response_model_exclude_none=True)
def audience(state: Annotated[ServeState, Depends(get_state)],
             text: Annotated[str, Query(min_length=1, max_length=MAX_TEXT, description="A statement about users")],
             filters: Annotated[UserFilter, Depends(user_filter)], params: Annotated[dict | None, Depends(search_params)],
             k: K = 10, explain: EXPLAIN = False, explain_top: EXPLAIN_TOP = 3,
             interests: INTERESTS = None) -> list[UserHit]:
    """The users that the statement describes best (`uue audience TEXT`; `interests`: by their best interest)."""
    hits = state.searcher.audience(text, k, filters, params, interests=use_interests(interests))
    return _explained(state, hits, lambda: state.searcher.statement_vectors([text]), explain, explain_top)


@router.post("/audience/batch", response_model=list[BatchAudienceResult], response_model_exclude_none=True)
def audience_batch(request: BatchAudienceRequest,
                   searcher: Annotated[Searcher, Depends(get_searcher)]) -> list[BatchAudienceResult]:
    """Many statements in one request; each is answered as `GET /audience` answers it."""
    filters = parse_filter(request.where, request.since, request.until)
    params = search_params(request.nprobe, request.ef_search, request.recall)
    searcher.statement_vectors(request.statements)  # one model call for the free-text ones (raises on empty)
    return [BatchAudienceResult(statement=text, users=[UserHit(**asdict(h)) for h in
                                                       searcher.audience(text, request.k, filters, params,
                                                                         interests=use_interests(request.interests))])
            for text in request.statements]


@router.post("/audience/compound", response_model=list[UserHit], response_model_exclude_none=True)
def audience_compound(request: CompoundAudienceRequest,
                      state: Annotated[ServeState, Depends(get_state)]) -> list[UserHit]:
    """Statements and users, wanted or excluded, with weights, plus filters (`uue audience --statement ...
    --not-statement ... --like-user ... --unlike-user ...`). 422 for an ambiguous query (an input twice,
    one both wanted and excluded, only exclusions), 404 for an unknown user."""
    from uue.search.compound import CompoundQuery, query_vector

    query = CompoundQuery.of(*([(w.text, w.weight) for w in items] for items in (
        request.statements, request.not_statements, request.like_users, request.unlike_users)))
    filters = parse_filter(request.where, request.since, request.until)
    hits = state.searcher.compound_audience(query, request.k, filters, search_params(request.nprobe, request.ef_search, request.recall))
    return _explained(state, hits, lambda: query_vector(state.searcher, query)[None, :], request.explain,
                      request.explain_top)


@router.get("/users/{user_id}/similar", response_model=list[UserHit], response_model_exclude_none=True)
def similar(user_id: USER_ID, searcher: Annotated[Searcher, Depends(get_searcher)],
            filters: Annotated[UserFilter, Depends(user_filter)], params: Annotated[dict | None, Depends(search_params)],
            k: K = 10, interests: INTERESTS = None) -> list[UserHit]:
    """The users nearest to this one, never the user itself (`uue similar USER_ID`; `interests`: whose
    interests cover this user's best)."""
    return [UserHit(**asdict(h)) for h in searcher.similar(user_id, k, filters, params,
                                                           interests=use_interests(interests))]


@router.get("/users/{user_id}/profile", response_model=list[StatementHit], response_model_exclude_none=True)
def profile(user_id: USER_ID, state: Annotated[ServeState, Depends(get_state)], k: K = 10,
            statement: Annotated[list[str], Query(max_length=MAX_BATCH, description=(
                "Also score this free-text statement. Repeatable."))] = [],  # noqa: B006
            calibrated: Annotated[bool, Query(description="Rank by calibrated scores")] = False,
            explain: EXPLAIN = False, explain_top: EXPLAIN_TOP = 3, interests: INTERESTS = None) -> list[StatementHit]:
    """The pool statements that describe the user best, plus any `statement` asked (`uue profile USER_ID`;
    `interests`: the top statements of each of the user's interests, with the interest's weight and example)."""
    if use_interests(interests):
        if explain:
            raise QueryError("explain works on the single user vector: leave out interests")
        return [StatementHit(**row) for row in
                state.searcher.profile(user_id, k, statement, calibrated=calibrated, interests=True).to_json()]
    result = state.searcher.profile(user_id, k, statement, calibrated=calibrated)
    hits = [StatementHit(statement=h.statement, score=h.score) for h in result.top]
    hits += [StatementHit(statement=h.statement, score=h.score, requested=True) for h in result.scored]
    if explain and hits:
        vectors = state.searcher.statement_vectors([h.statement for h in hits])
        why = state.explainer.explain([user_id], vectors, explain_top)[0]
        for i, hit in enumerate(hits):
            hit.explanation = Explanation(**why.to_json(i))
    return hits
