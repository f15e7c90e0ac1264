"""The FastAPI application: routers, error handlers, metrics, the body size limit, the page."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from uue.serve import errors
from uue.serve.limits import BodySizeLimit
from uue.serve.metrics import Metrics, MetricsMiddleware
from uue.serve.routers import health, indexes, page, queries, users
from uue.serve.state import ServeState

DESCRIPTION = """Universal User Embeddings over HTTP: the CLI's queries (audience, similar, profile)
with the same parameters and JSON, user lookup, ingest, index builds, health and metrics.
Write endpoints need the server's API key in the `X-API-Key` header. Errors are
`{"error": message, "status": code}`: 404 unknown user, 409 not answerable until a build
(or a model), 422 bad input."""


def create_app(state: ServeState) -> FastAPI:
    from importlib.metadata import version

    app = FastAPI(title="UUE", version=version("uue"), description=DESCRIPTION)
    app.state.uue = state
    app.state.metrics = Metrics(state.store)
    errors.install(app)
    for module in (queries, users, indexes, health, page):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=page.STATIC), name="static")
    app.add_middleware(BodySizeLimit, max_bytes=state.settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)  # added last: outermost, sees every answer
    return app
