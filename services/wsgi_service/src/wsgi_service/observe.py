"""One answered request: one access-log line and its RED metrics.

The app records what it answers; the server records what it answers itself
(malformed or oversized requests) the same way, so that the access log and
http_requests_total count every answer the process sends.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from wsgi_service.accesslog import Logger
    from wsgi_service.metrics import Metrics

# The route label of every request that matched no route (or was never
# routed), so that scanners probing random paths cannot grow the metrics
# without bound.
UNMATCHED = "unmatched"
# Longest path written to the access log; the rest is cut, the status says why.
MAX_LOGGED_PATH = 512


def record_request(
    metrics: Metrics,
    log: Logger,
    *,
    method: str,
    path: str,
    route: str,
    status: int,
    sent: int,
    request_id: str,
    seconds: float,
    remote: str,
) -> None:
    metrics.observe_request(route, status, seconds)
    log.info(
        "request",
        method=method,
        path=path[:MAX_LOGGED_PATH],
        route=route,
        status=status,
        duration_ms=round(seconds * 1000, 3),
        bytes=sent,
        request_id=request_id,
        remote=remote,
    )
