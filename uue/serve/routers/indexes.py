"""Index build status, and starting a build (write key)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException

from index import create_index
from uue.search.maintenance import index_stats
from uue.serve.deps import get_state, require_api_key
from uue.serve.schemas import WRITE_ERRORS, BuildRequest
from uue.serve.state import ServeState

router = APIRouter(prefix="/index", tags=["index"])


@router.get("/status")
def status(state: Annotated[ServeState, Depends(get_state)]) -> dict[str, Any]:
    """The active builds, the build history, what is stored, and the build this server started."""
    data = index_stats(state.store)
    for row in data["builds"]:
        row.pop("path", None)  # the server's file layout is not the client's business
    stats = state.store.stats()
    data["stored"] = {"users": stats["users"], "statements": stats["statements"]}
    data["job"] = state.job.to_json()
    return data


@router.post("/build", status_code=202, dependencies=[Depends(require_api_key)], responses=WRITE_ERRORS)
def build(request: BuildRequest, state: Annotated[ServeState, Depends(get_state)]) -> dict[str, Any]:
    """Start an index build in the background (`full`: re-embed everything, as `uue index rebuild`).

    Queries keep being answered by the active build until the new one switches in; follow it
    with `GET /index/status`.
    """
    if request.factory is not None:  # a bad factory string is the request's fault: refused now, not in the job
        create_index(request.factory, state.store.active_model().embedding_dim)
    if not state.start_build(full=request.full, factory=request.factory, interests=request.interests):
        raise HTTPException(409, "an index build started by this server is still running: see GET /index/status")
    return state.job.to_json()
