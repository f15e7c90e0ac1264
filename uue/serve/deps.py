"""FastAPI dependencies: the shared state, its store and searcher, the write key, query filters."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, Security
from fastapi.security import APIKeyHeader

from storage.filters import UserFilter, parse_filter
from storage.store import Store
from uue.search.queries import Searcher
from uue.serve.schemas import MAX_WHERE
from uue.serve.state import ServeState

API_KEY_HEADER = "X-API-Key"
_api_key = APIKeyHeader(name=API_KEY_HEADER, auto_error=False,
                        description="The write key (`$UUE_API_KEY` or `--api-key-file` of `uue serve`).")


def get_state(request: Request) -> ServeState:
    return request.app.state.uue


def get_store(state: Annotated[ServeState, Depends(get_state)]) -> Store:
    return state.store


def get_searcher(state: Annotated[ServeState, Depends(get_state)]) -> Searcher:
    return state.searcher


def require_api_key(state: Annotated[ServeState, Depends(get_state)],
                    key: Annotated[str | None, Security(_api_key)] = None) -> None:
    """Write endpoints: 403 when the server has no key, 401 for a missing or wrong one."""
    expected = state.settings.api_key
    if expected is None:
        raise HTTPException(403, "write endpoints are off: start `uue serve` with $UUE_API_KEY set "
                                 "(or --api-key-file FILE)")
    if key is None or not hmac.compare_digest(key.encode("utf-8"), expected.encode("utf-8")):
        raise HTTPException(401, f"missing or wrong API key: send it in the {API_KEY_HEADER} header",
                            headers={"WWW-Authenticate": API_KEY_HEADER})


def user_filter(where: Annotated[list[str], Query(max_length=MAX_WHERE, description=(
                    "KEY=VALUE: platform=, split=, a user or chunk metadata key. Repeatable (AND)."))] = [],  # noqa: B006
                since: Annotated[str | None, Query(max_length=64, description="ISO 8601, inclusive")] = None,
                until: Annotated[str | None, Query(max_length=64, description="ISO 8601, inclusive")] = None
                ) -> UserFilter:
    """``--where`` / ``--since`` / ``--until`` as query parameters (parsed, never evaluated)."""
    return parse_filter(where, since, until)


def search_params(nprobe: Annotated[int | None, Query(ge=1, le=65536, description="IVF: lists visited")] = None,
                  ef_search: Annotated[int | None, Query(ge=1, le=65536, description="HNSW: candidates")] = None,
                  recall: Annotated[float | None, Query(gt=0, le=1, description="HNSW: target recall@10; the "
                                                        "build's calibration picks efSearch")] = None
                  ) -> dict | None:
    params = {k: v for k, v in (("nprobe", nprobe), ("efSearch", ef_search), ("recall", recall)) if v is not None}
    return params or None

