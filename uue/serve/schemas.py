"""Request and response models (pydantic): what the OpenAPI at ``/docs`` shows."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from uue.search.compound_query import MAX_TERMS, MAX_WEIGHT

MAX_K = 1000  # results per query over HTTP (the library allows 10,000)
MAX_BATCH = 64  # statements per batch audience request
MAX_TEXT = 2000  # characters of a statement
MAX_WHERE = 16  # filter conditions
MAX_INGEST = 10_000  # users per ingest request
MAX_DELETE = 10_000  # user ids per delete request


class ChunkHit(BaseModel):
    position: int = Field(description="The chunk's place in the user's stored history (0 = first)")
    text: str
    platform: str | None = None
    timestamp: str | None = None
    score: float = Field(description="Cosine of the chunk, as a one-chunk user, with the statement")


class Explanation(BaseModel):
    chunks: int = Field(description="Chunks in the user's history")
    scored: int = Field(description="Of those, the most recent ones scored")
    top: list[ChunkHit] = Field(description="The chunks that score highest against the statement, best first")


class UserHit(BaseModel):
    user_id: str
    score: float
    explanation: Explanation | None = Field(None, description="With explain=true: the chunks that matched most")


class StatementHit(BaseModel):
    statement: str
    score: float
    requested: bool = Field(False, description="A statement given in the request (not a pool statement)")
    explanation: Explanation | None = None
    interest: int | None = Field(None, description="With interests=true: the user's interest (0 = largest)")
    weight: float | None = Field(None, description="With interests=true: the interest's share of the user's chunks")
    chunks: int | None = Field(None, description="With interests=true: the interest's chunks")
    example: str | None = Field(None, description="With interests=true: the interest's most central chunk")


class AudienceQuery(BaseModel):
    """What every audience request body shares: ``k``, the filters and the search settings."""

    k: int = Field(10, ge=1, le=MAX_K)
    where: list[str] = Field(default_factory=list, max_length=MAX_WHERE)
    since: str | None = Field(None, max_length=64)
    until: str | None = Field(None, max_length=64)
    nprobe: int | None = Field(None, ge=1, le=65536)
    ef_search: int | None = Field(None, ge=1, le=65536)
    recall: float | None = Field(None, gt=0, le=1, description="HNSW: target recall@10 (the build's "
                                 "calibration picks efSearch)")
    interests: bool | None = Field(None, description="Score users by their best-matching interest "
                                   "(default: $UUE_INTERESTS of the server, else false)")


class BatchAudienceRequest(AudienceQuery):
    statements: list[Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]] = Field(
        min_length=1, max_length=MAX_BATCH, description=f"At most {MAX_BATCH} statements")


class Weighted(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT, description="A statement, or a user id")
    weight: float = Field(1.0, gt=0, le=MAX_WEIGHT, description="Its influence (default 1)")


class CompoundAudienceRequest(AudienceQuery):
    """A compound audience (`uue audience --statement ... --not-statement ... --like-user ...`):
    at least one statement or liked user; scoring in the README, "Compound audiences"."""

    statements: list[Weighted] = Field(default_factory=list, max_length=MAX_TERMS, description="Wanted statements")
    not_statements: list[Weighted] = Field(default_factory=list, max_length=MAX_TERMS,
                                           description="Statements whose users are pushed down")
    like_users: list[Weighted] = Field(default_factory=list, max_length=MAX_TERMS,
                                       description="User ids: find users like them")
    unlike_users: list[Weighted] = Field(default_factory=list, max_length=MAX_TERMS,
                                         description="User ids whose look-alikes are pushed down")
    explain: bool = Field(False, description="Add each result's chunks that match the wanted inputs best")
    explain_top: int = Field(3, ge=1, le=20)


class BatchAudienceResult(BaseModel):
    statement: str
    users: list[UserHit]


class IngestRequest(BaseModel):
    users: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_INGEST,
                                        description="Records in the users.jsonl format")
    statements: list[dict[str, Any] | str] = Field(default_factory=list, max_length=MAX_INGEST,
                                                   description="Pool statements: {text, category} or a string")
    mode: Literal["replace", "append"] = Field(
        "replace", description="replace: a user's history is the one sent; append: chunks are added to it")


class DeleteRequest(BaseModel):
    user_ids: list[Annotated[str, Field(min_length=1, max_length=512)]] = Field(min_length=1, max_length=MAX_DELETE)


class BuildRequest(BaseModel):
    full: bool = Field(False, description="Re-embed everything (what `uue index rebuild` does)")
    factory: str | None = Field(None, max_length=100, pattern=r"^[A-Za-z0-9_,.]+$",
                                description='FAISS factory string for users (default: the active build\'s), e.g. "HNSW32"')
    interests: bool | None = Field(None, description="Also build each user's interests (`uue index build --interests`); "
                                   "default: as the active build; false drops them")


class ErrorBody(BaseModel):
    error: str
    status: int


ERRORS = {code: {"model": ErrorBody} for code in (404, 409, 422)}
WRITE_ERRORS = {code: {"model": ErrorBody} for code in (401, 403, 409, 413, 422)}
