"""Prometheus metrics (``prometheus_client``, one registry per application).

- ``uue_http_requests_total{method, route, status}``;
- ``uue_http_request_duration_seconds{method, route}`` (a histogram);
- ``uue_index_build_id{kind}`` and ``uue_index_vectors{kind}``: the active builds, read from
  the store at scrape time; ``uue_model_id``: the active model.

The route label is the route's template (``/users/{user_id}/similar``), never the raw path,
so a scan of user ids cannot blow up the number of series.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storage.errors import NotFound
from storage.store import Store

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _IndexCollector:
    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self):
        from index.builds import active_build

        build_id = GaugeMetricFamily("uue_index_build_id", "Id of the active index build", labels=["kind"])
        vectors = GaugeMetricFamily("uue_index_vectors", "Vectors in the active index build", labels=["kind"])
        model = GaugeMetricFamily("uue_model_id", "Id of the active model (0: none)")
        for kind in ("users", "statements"):
            try:
                build = active_build(self.store, kind)
            except NotFound:
                continue
            build_id.add_metric([kind], build.id)
            vectors.add_metric([kind], build.count)
        try:
            model.add_metric([], self.store.active_model().id)
        except NotFound:
            model.add_metric([], 0)
        yield from (build_id, vectors, model)


class Metrics:
    def __init__(self, store: Store) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("uue_http_requests", "HTTP requests answered", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("uue_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
                                 buckets=BUCKETS, registry=self.registry)
        self.registry.register(_IndexCollector(store))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI (no per-request task): counts and times every HTTP request by route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def tracking(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(scope["method"], route).observe(time.perf_counter() - started)
