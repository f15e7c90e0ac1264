"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from storage.errors import UUEError
from uue.serve.deps import get_state
from uue.serve.state import ServeState

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process answers (liveness)."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "Not ready: `problems` says why"}})
def ready(state: Annotated[ServeState, Depends(get_state)]) -> Any:
    """Ready when the active model and both active indexes load and belong together (readiness)."""
    from index.builds import active_build

    problems, builds, model_id = [], {}, None
    try:
        model_id = state.store.active_model().id
        for kind in ("users", "statements"):
            builds[kind] = active_build(state.store, kind).id
        state.searcher.check_ready()
    except UUEError as exc:
        problems.append(str(exc))
    body = {"ready": not problems, "model_id": model_id, "builds": builds, "problems": problems}
    return body if not problems else JSONResponse(body, status_code=503)


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus text format: request counts, latency histograms, active index builds and model."""
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
