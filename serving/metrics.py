"""Prometheus metrics: requests and latency per route and status, reloads, and what the serving bundle holds.

Each app has its own registry, so several apps in one process (tests) never share counters. Under
``--workers N`` every worker counts its own requests; see docs/deployment.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.live import LiveBundle

#: Seconds; dense where the service should answer (a few ms) and sparse out to the slow tail.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class BundleCollector(Collector):
    """Read at scrape time, so the figures always describe the bundles serving now (playlists, and images where
    the service has an image bundle)."""

    def __init__(self, lives: list[LiveBundle]) -> None:
        self.lives = lives

    def collect(self) -> Iterator[GaugeMetricFamily]:
        info = GaugeMetricFamily("recsys_bundle_info", "A serving bundle (value 1)", labels=["name", "version"])
        loaded = GaugeMetricFamily(
            "recsys_bundle_loaded_timestamp_seconds", "When each serving bundle went live", labels=["name"]
        )
        rows = GaugeMetricFamily("recsys_bundle_rows", "Users, items, images in the serving bundles", labels=["table"])
        vectors = GaugeMetricFamily("recsys_index_vectors", "Vectors in each FAISS index", labels=["index"])
        for live in self.lives:
            bundle, loaded_at = live.snapshot()
            if bundle is None:
                continue
            info.add_metric([live.name, bundle.version], 1)
            loaded.add_metric([live.name], loaded_at)
            for table, n in bundle.rows().items():
                rows.add_metric([table], n)
            for name, index in bundle.named_indexes().items():
                vectors.add_metric([name], index.ntotal)
        yield from (info, loaded, rows, vectors)


class Metrics:
    """The app's registry and the instruments the middleware and the reloads update."""

    def __init__(self, lives: list[LiveBundle]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "recsys_http_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "recsys_http_request_duration_seconds",
            "Time from request to the end of the response, by route template and method",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.reloads = Counter(
            "recsys_bundle_reloads",
            "Bundle loads, by result: loaded, unchanged, refused",
            ["result"],
            registry=self.registry,
        )
        self.registry.register(BundleCollector(lives))
        ProcessCollector(registry=self.registry)  # resident memory, CPU seconds, open files

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Plain ASGI (no BaseHTTPMiddleware task per request): counts and times every HTTP request.

    The label is the matched route's template (``/recommend``), never the raw path, so ids cannot blow up the
    number of series; requests that match no route share ``unmatched``. A request answered before routing (a 413
    from the body limit) or by one of FastAPI's own routes (``/docs``, ``/openapi.json``) is labelled by its path
    when that path is one of ``paths()``, the app's route paths.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, paths: Callable[[], set[str]] = set) -> None:
        self.app = app
        self.metrics = metrics
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 500  # an exception that escapes is answered 500 further out

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or (scope["path"] if scope["path"] in self.paths() else "unmatched")
            self.metrics.latency.labels(template, scope["method"]).observe(time.perf_counter() - start)
            self.metrics.requests.labels(template, scope["method"], str(status)).inc()
