"""Prometheus metrics: counted on the request path, written by prometheus_client.

One Metrics per service process holds the RED metrics of its requests, by
route template (rate and errors: http_requests_total{route,status};
duration: http_request_duration_seconds{route}), the requests in flight, the
connections the server holds and drops, and SERVICE_build_info. A scrape of
/metrics adds prometheus_client's process, platform and garbage-collector
collectors (process_*, python_info, python_gc_*), so dashboards built for any
Python service work unchanged.

Counting is plain Python under one lock: importing prometheus_client costs a
start-up about half of the service's import time, for objects no request
needs before the first scrape. The first scrape imports it (prometheus.py)
and reads these counts through a collector, so the page is the one
prometheus_client's own Counter, Histogram, Gauge and Info would write.
"""

from __future__ import annotations

import threading
from bisect import bisect_left

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

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

# Each family: its name as prometheus_client's metric classes take it, and
# its help text.
REQUESTS = (
    "http_requests_total",
    "HTTP requests answered, by route template and status code.",
)
DURATION = (
    "http_request_duration_seconds",
    "Time taken to answer a request, in seconds, by route template.",
)
IN_FLIGHT = ("http_requests_in_flight", "Requests the app is answering right now.")
CONNECTIONS_OPEN = (
    "http_connections_open",
    "Client connections the server holds open.",
)
CONNECTIONS_DROPPED = (
    "http_connections_dropped_total",
    "Client connections the server closed to protect itself: header_timeout"
    " (request headers not complete in time), shed (closed at the"
    " connection limit to make room).",
)
BUILD_INFO_HELP = "Always 1; the labels tell which build is running."


class Gauge:
    """A number that goes up and down (requests in flight)."""

    __slots__ = ("_lock", "value")

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self.value = 0

    def inc(self) -> None:
        with self._lock:
            self.value += 1

    def dec(self) -> None:
        with self._lock:
            self.value -= 1


class Metrics:
    """The metrics of one service process, and its /metrics page.

    registry: a prometheus_client CollectorRegistry to report into (tests
    give their own, and read it with get_sample_value); without one, the
    first scrape makes it, with the process, platform and GC collectors
    unless process_collectors is False.
    """

    def __init__(
        self,
        service: str,
        build_info: BuildInfo,
        registry: Any = None,
        process_collectors: bool = True,
    ):
        self.service = service
        self.build_info = build_info
        self._lock = threading.Lock()
        self.in_flight = Gauge(self._lock)
        # route, status -> count; route -> [count per bucket..., +Inf], sum.
        self._requests: dict[tuple[str, str], int] = {}
        self._durations: dict[str, tuple[list[int], list[float]]] = {}
        self._dropped: dict[str, int] = {}
        self._open_connections: Callable[[], int] | None = None
        self._process_collectors = process_collectors
        self._registry = None
        if registry is not None:
            from wsgi_service import prometheus

            self._registry = prometheus.register(self, registry, process_collectors)

    # The request path ---------------------------------------------------------

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        key = (route, str(status))
        bucket = bisect_left(DURATION_BUCKETS, seconds)
        with self._lock:
            self._requests[key] = self._requests.get(key, 0) + 1
            counts, total = self._durations.get(route) or self._new_histogram(route)
            counts[bucket] += 1
            total[0] += seconds

    def _new_histogram(self, route: str) -> tuple[list[int], list[float]]:
        entry = ([0] * (len(DURATION_BUCKETS) + 1), [0.0])
        self._durations[route] = entry
        return entry

    def count_dropped_connection(self, reason: str) -> None:
        with self._lock:
            self._dropped[reason] = self._dropped.get(reason, 0) + 1

    def count_open_connections(self, count: Callable[[], int]) -> None:
        """Read the open connections from `count` at every scrape."""
        self._open_connections = count

    # What a scrape reads --------------------------------------------------------

    def snapshot(self) -> Iterator[tuple[str, Any]]:
        """(family, values) in page order, copied under the lock: requests
        {(route, status): count}, duration {route: (cumulative bucket counts,
        sum)}, in_flight, connections_open, connections_dropped {reason: count}."""
        with self._lock:
            requests = dict(self._requests)
            durations = {
                route: (_cumulative(counts), total[0])
                for route, (counts, total) in self._durations.items()
            }
            in_flight = self.in_flight.value
            dropped = dict(self._dropped)
        count = self._open_connections
        yield "requests", requests
        yield "duration", durations
        yield "in_flight", in_flight
        yield "connections_open", count() if count is not None else 0
        yield "connections_dropped", dropped

    @property
    def registry(self) -> Any:
        """The prometheus_client registry the page is written from (made, and
        prometheus_client imported, on first use)."""
        if self._registry is None:
            from wsgi_service import prometheus

            registry = prometheus.new_registry()
            with self._lock:
                if self._registry is None:
                    self._registry = prometheus.register(
                        self, registry, self._process_collectors
                    )
        return self._registry

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The page and its content type: the text format, or OpenMetrics for a
        scraper that asks for it in its Accept header."""
        from wsgi_service import prometheus

        return prometheus.render(self.registry, accept or "")


def _cumulative(counts: list[int]) -> list[int]:
    running, out = 0, []
    for count in counts:
        running += count
        out.append(running)
    return out
