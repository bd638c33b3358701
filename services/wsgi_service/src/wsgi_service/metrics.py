"""Prometheus metrics through prometheus_client, the field's standard client.

One registry per service holds the RED metrics of its requests, by route
template (rate and errors: http_requests_total{route,status}; duration:
http_request_duration_seconds{route}), the requests in flight, the
connections the server holds and drops, SERVICE_build_info, and
prometheus_client's process, platform and garbage-collector collectors
(process_*, python_info, python_gc_*), so dashboards built for any Python
service work unchanged.
"""

from __future__ import annotations

import prometheus_client
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
)
from prometheus_client.exposition import choose_encoder

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from wsgi_service.buildinfo import BuildInfo

# The Prometheus text format, which a scrape without an Accept header gets.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Request latency in seconds: fine steps where a healthy service lives, coarse
# ones to show how bad a bad tail is.
DURATION_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

# Every counter would also get a `_created` series (its creation time) per
# label set: twice the page for a value no common dashboard reads.
prometheus_client.disable_created_metrics()


class Metrics:
    """The metrics of one service process, and its /metrics page."""

    def __init__(
        self,
        service: str,
        build_info: BuildInfo,
        registry: CollectorRegistry | None = None,
        process_collectors: bool = True,
    ):
        self.registry = CollectorRegistry() if registry is None else registry
        if process_collectors:
            # The collectors prometheus_client registers by default, also read
            # here: the same families, from this process.
            for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
                self.registry.register(collector)
        self.requests_total = Counter(
            "http_requests_total",
            "HTTP requests answered, by route template and status code.",
            ("route", "status"),
            registry=self.registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time taken to answer a request, in seconds, by route template.",
            ("route",),
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "http_requests_in_flight",
            "Requests the app is answering right now.",
            registry=self.registry,
        )
        self.connections_open = Gauge(
            "http_connections_open",
            "Client connections the server holds open.",
            registry=self.registry,
        )
        self.connections_dropped = Counter(
            "http_connections_dropped_total",
            "Client connections the server closed to protect itself: header_timeout"
            " (request headers not complete in time), shed (closed at the"
            " connection limit to make room).",
            ("reason",),
            registry=self.registry,
        )
        Info(
            f"{service}_build",
            "Always 1; the labels tell which build is running.",
            registry=self.registry,
        ).info({"version": build_info.version, "revision": build_info.revision})

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        self.requests_total.labels(route, str(status)).inc()
        self.duration.labels(route).observe(seconds)

    def count_open_connections(self, count: Callable[[], int]) -> None:
        """Read the open connections from `count` at every scrape."""
        self.connections_open.set_function(count)

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The page and its content type: the text format, or OpenMetrics for a
        scraper that asks for it in its Accept header."""
        encode, content_type = choose_encoder(accept or "")
        return encode(self.registry), content_type
