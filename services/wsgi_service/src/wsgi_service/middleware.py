"""What every service gets around its app, whatever made the app: WSGI middleware.

ServiceMiddleware(app, runtime) wraps any PEP 3333 application (our own
ServiceApp, a Flask app, a Django project's handler) with:
- the standard endpoints, answered before the app sees the request:
  /healthz (liveness), /readyz (readiness: 503 while shutting down),
  /version (build info), /metrics (Prometheus); each path is a setting
  (HEALTH_PATH, READY_PATH, VERSION_PATH, METRICS_PATH; "off" leaves that
  path to the app, for an app with its own /healthz);
- a request id: the client's X-Request-ID if it is safe to echo, else a new
  one, in environ[REQUEST_ID_KEY] for the app and in every response, with
  X-Content-Type-Options: nosniff (unless the app set its own);
- one access-log line and the request metrics per answer, labelled with the
  route the app says it matched (environ[ROUTE_KEY]: a template such as
  "/items/{item_id}", never the raw path), UNMATCHED for a 404 the app did
  not route, OTHER_ROUTE for an app that names no routes;
- a 500 in JSON, logged with the request id, for an app that raises.

The limits on requests (header size, body size, connections, deadlines) are
the server's (server.py, connections.py), so they hold for every app alike.
"""

from __future__ import annotations

import time

from wsgi_service.observe import UNMATCHED, record_request
from wsgi_service.responses import (
    REASONS,
    HTTPError,
    Response,
    header,
    headers,
    json_body,
    request_id,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Any

    from wsgi_service.app import Runtime

    Environ = dict[str, Any]
    StartResponse = Callable[..., Any]
    WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

# Where the middleware puts the request id, and where an app (or a framework
# adapter, frameworks.py) puts the route template a request matched.
REQUEST_ID_KEY = "wsgi_service.request_id"
ROUTE_KEY = "wsgi_service.route"
# The route label of answers from an app that does not say which route it
# matched (and that are not 404s): one label, so the metrics stay bounded.
OTHER_ROUTE = "other"
# The limits of the standard endpoints' requests.
STANDARD_MAX_URL_LENGTH = 2048
STANDARD_MAX_BODY_BYTES = 1024


def service_middleware(app: WSGIApp, runtime: Runtime) -> ServiceMiddleware:
    """app inside ServiceMiddleware, unless it is one already (an app factory
    may return its own, a subclass that adds to it)."""
    if isinstance(app, ServiceMiddleware):
        return app
    from wsgi_service import frameworks

    frameworks.adapt(app)
    return ServiceMiddleware(app, runtime)


class ServiceMiddleware:
    """The standard endpoints, request ids, the access log and the metrics around app."""

    def __init__(self, app: WSGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        config = runtime.config
        own = {
            config.health_path: self.healthz,
            config.ready_path: self.readyz,
            config.version_path: self.version,
            config.metrics_path: self.metrics,
        }
        self.standard: dict[str, Callable[[Environ], Response]] = {
            path: handler for path, handler in own.items() if path
        }

    def __call__(self, environ: Environ, start_response: StartResponse) -> Any:
        started = time.perf_counter()
        metrics = self.runtime.metrics
        rid = request_id(header(environ, "X-Request-ID"))
        environ[REQUEST_ID_KEY] = rid
        path = environ.get("PATH_INFO", "")
        handler = self.standard.get(path)
        metrics.in_flight.inc()
        try:
            if handler is not None:
                environ[ROUTE_KEY] = path
                return self._answer(environ, start_response, handler, rid, started)
            return self._call_app(environ, start_response, rid, started)
        finally:
            metrics.in_flight.dec()

    # The standard endpoints ---------------------------------------------------

    def _answer(
        self,
        environ: Environ,
        start_response: StartResponse,
        handler: Callable[[Environ], Response],
        rid: str,
        started: float,
    ) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            # They read no body and need no long URL: ServiceApp's defaults.
            check_limits(environ, STANDARD_MAX_URL_LENGTH, STANDARD_MAX_BODY_BYTES)
            if method not in ("GET", "HEAD"):
                raise HTTPError(
                    405,
                    "method_not_allowed",
                    "this path allows GET, HEAD",
                    headers=(("Allow", "GET, HEAD"),),
                )
            response = handler(environ)
        except HTTPError as err:
            response = err.response()
        body = b"" if method == "HEAD" else response.body
        start_response(
            f"{response.status} {REASONS[response.status]}", headers(response, rid)
        )
        self._record(environ, response.status, len(body), started)
        return [body]

    def healthz(self, environ: Environ) -> Response:
        # Liveness: the process answers. Deliberately checks nothing else, so a
        # slow dependency never gets a healthy process restarted.
        return Response(200, json_body({"status": "ok"}))

    def readyz(self, environ: Environ) -> Response:
        if self.runtime.state.shutting_down:
            return Response(503, json_body({"status": "shutting_down"}))
        return Response(200, json_body({"status": "ok"}))

    def version(self, environ: Environ) -> Response:
        info = self.runtime.build_info
        return Response(
            200,
            json_body(
                {
                    "version": info.version,
                    "revision": info.revision,
                    "build_time": info.build_time,
                }
            ),
        )

    def metrics(self, environ: Environ) -> Response:
        page, content_type = self.runtime.metrics.render(environ.get("HTTP_ACCEPT"))
        return Response(200, page, content_type)

    # The app ----------------------------------------------------------------

    def _call_app(
        self, environ: Environ, start_response: StartResponse, rid: str, started: float
    ) -> Any:
        answered: list[int] = []

        def start(status: str, response_headers: list, exc_info: Any = None) -> Any:
            code = status.partition(" ")[0]
            answered[:] = [int(code) if code.isdigit() else 500]
            names = {name.lower() for name, _ in response_headers}
            # Every answer carries its request id, and is never sniffed into
            # another type by a browser; an app's own values are kept.
            extra = [
                (name, value)
                for name, value in (
                    ("X-Content-Type-Options", "nosniff"),
                    ("X-Request-ID", rid),
                )
                if name.lower() not in names
            ]
            response_headers = [*response_headers, *extra]
            return start_response(status, response_headers, exc_info)

        try:
            result = self.app(environ, start)
        except Exception as exc:  # noqa: BLE001 - an app's bug is a 500, never a crash
            self._log_exception(environ, exc, rid)
            if answered:
                raise  # Headers went out: only the server can end the response.
            response = HTTPError(
                500, "internal_error", "the server failed to answer this request"
            ).response()
            start_response("500 Internal Server Error", headers(response, rid))
            self._record(environ, 500, len(response.body), started)
            return [response.body]
        if isinstance(result, (list, tuple)):
            # The whole body is here (ServiceApp, most frameworks): record now.
            self._record(
                environ, _status(answered), sum(len(b) for b in result), started
            )
            return result
        return _Recorded(result, lambda sent: self._record(
            environ, _status(answered), sent, started
        ))  # fmt: skip

    def _record(self, environ: Environ, status: int, sent: int, started: float) -> None:
        route = environ.get(ROUTE_KEY) or (UNMATCHED if status == 404 else OTHER_ROUTE)
        record_request(
            self.runtime.metrics,
            self.runtime.log,
            method=environ.get("REQUEST_METHOD", "GET"),
            path=environ.get("PATH_INFO", ""),
            route=route,
            status=status,
            sent=sent,
            request_id=environ[REQUEST_ID_KEY],
            seconds=time.perf_counter() - started,
            remote=environ.get("REMOTE_ADDR", ""),
        )

    def _log_exception(self, environ: Environ, exc: Exception, rid: str) -> None:
        log_exception(self.runtime, environ, exc, rid)


def log_exception(runtime: Runtime, environ: Environ, exc: Exception, rid: str) -> None:
    """An unhandled exception: enough in the log to find it (the request id
    ties it to the client). Imported here: only the rare failure pays."""
    import traceback

    from wsgi_service.observe import MAX_LOGGED_PATH

    runtime.log.error(
        "unhandled exception",
        method=environ.get("REQUEST_METHOD", "GET"),
        path=environ.get("PATH_INFO", "")[:MAX_LOGGED_PATH],
        request_id=rid,
        error=f"{type(exc).__name__}: {exc}",
        traceback="".join(traceback.format_exception(exc)),
    )


def check_limits(environ: Environ, max_url_length: int, max_body_bytes: int) -> None:
    """HTTPError 414 for a longer request target, 413 for a larger body, 400
    for a Content-Length that is not a number."""
    if target_length(environ) > max_url_length:
        raise HTTPError(
            414,
            "uri_too_long",
            f"the request target is longer than {max_url_length} bytes",
        )
    if content_length(environ) > max_body_bytes:
        raise HTTPError(
            413,
            "content_too_large",
            f"the request body is larger than {max_body_bytes} bytes",
        )


def target_length(environ: Environ) -> int:
    """Length of the request target (path and query) as the client sent it."""
    uri = environ.get("REQUEST_URI")  # waitress passes the raw target
    if uri is not None:
        return len(uri)
    query = environ.get("QUERY_STRING", "")
    return len(environ.get("PATH_INFO", "")) + (len(query) + 1 if query else 0)


def content_length(environ: Environ) -> int:
    raw = environ.get("CONTENT_LENGTH", "")
    if not raw:
        return 0
    if not (raw.isascii() and raw.isdigit()):
        raise HTTPError(400, "bad_request", "the Content-Length header is not a number")
    # A longer number is over any limit; int() of thousands of digits would
    # also be slow and, past sys.get_int_max_str_digits(), fail.
    return int(raw) if len(raw) <= 18 else 10**18


def _status(answered: list[int]) -> int:
    # An app that returned without calling start_response is broken: the
    # server answers 500 for it.
    return answered[0] if answered else 500


class _Recorded:
    """A streamed body: counted as it goes, recorded when the server closes it."""

    def __init__(self, body: Iterable[bytes], record: Callable[[int], None]) -> None:
        self._body = body
        self._record = record
        self._sent = 0
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._body:
            self._sent += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            if not self._done:
                self._done = True
                self._record(self._sent)
