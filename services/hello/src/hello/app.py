"""The WSGI application: a plain callable, no framework.

Every request goes through HelloApp.__call__, which checks the request, routes it
to a handler, turns failures into JSON error responses, and records one access-log
line and the request metrics. Handlers only build responses.
"""

from __future__ import annotations

import json
import os
import time

from hello.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from hello.metrics import Registry

# Names only type checkers need: importing typing (and the dataclass modules
# behind Config and BuildInfo) at run time costs start-up time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from hello.accesslog import Logger
    from hello.buildinfo import BuildInfo
    from hello.config import Config

    Environ = dict[str, Any]
    StartResponse = Callable[..., Any]
    Handler = Callable[[Environ], "Response"]

JSON = "application/json"
ALLOWED_METHODS = ("GET", "HEAD")
# The route label for every path that matches no route, so that scanners probing
# random paths cannot grow the metrics without bound.
UNMATCHED = "unmatched"
# Request ids we echo back: what common tracers and proxies send, nothing that
# could break a header or a log line.
_REQUEST_ID_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:"
)
MAX_REQUEST_ID_LENGTH = 128
# Longest path written to the access log; the rest is cut, the status says why.
_MAX_LOGGED_PATH = 512
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")

REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    414: "URI Too Long",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class State:
    """Lifecycle state shared by the app and the server."""

    def __init__(self) -> None:
        # A plain attribute: set once from a signal handler, read by request
        # threads; no lock is needed for a single boolean store.
        self.shutting_down = False

    def begin_shutdown(self) -> bool:
        """Mark shutdown as begun; return False if it already was."""
        if self.shutting_down:
            return False
        self.shutting_down = True
        return True


class Response:
    __slots__ = ("body", "content_type", "headers", "status")

    def __init__(
        self,
        status: int,
        body: bytes,
        content_type: str = JSON,
        headers: tuple[tuple[str, str], ...] = (),
    ):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers


class HTTPError(Exception):
    """Raised by checks and handlers to answer with a JSON error body."""

    def __init__(
        self,
        status: int,
        error: str,
        detail: str,
        headers: tuple[tuple[str, str], ...] = (),
    ):
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers

    def response(self) -> Response:
        body = json_body({"error": self.error, "detail": self.detail})
        return Response(self.status, body, headers=self.headers)


def json_body(data: object) -> bytes:
    # ensure_ascii: the body is plain ASCII whatever the name was.
    return json.dumps(data, separators=(",", ":")).encode("ascii")


class HelloApp:
    def __init__(
        self,
        config: Config,
        build_info: BuildInfo,
        registry: Registry,
        state: State,
        log: Logger,
        started_at: float,
    ):
        self.config = config
        self.build_info = build_info
        self.registry = registry
        self.state = state
        self.log = log
        self.routes: dict[str, Handler] = {
            "/": self.greet,
            "/healthz": self.healthz,
            "/readyz": self.readyz,
            "/version": self.version,
            "/metrics": self.metrics,
        }
        self.requests_total = registry.counter(
            "http_requests_total",
            "HTTP requests answered by the app, by route template and status code.",
            ("route", "status"),
        )
        self.duration = registry.histogram(
            "http_request_duration_seconds",
            "Time the app took to answer a request, in seconds, by route template.",
            ("route",),
        )
        self.in_flight = registry.gauge(
            "http_requests_in_flight", "Requests the app is answering right now."
        )
        registry.gauge(
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch, in seconds.",
        ).set(started_at)
        registry.gauge(
            "hello_build_info",
            "Always 1; the labels tell which build is running.",
            ("version", "revision"),
        ).set(1, build_info.version, build_info.revision)

    # The request path -------------------------------------------------------

    def __call__(self, environ: Environ, start_response: StartResponse) -> list[bytes]:
        started = time.perf_counter()
        self.in_flight.inc()
        try:
            method = environ.get("REQUEST_METHOD", "GET")
            path = environ.get("PATH_INFO", "")
            route = path if path in self.routes else UNMATCHED
            request_id = _client_request_id(environ) or os.urandom(16).hex()
            response = self._respond(environ, method, path, route, request_id)
            body = b"" if method == "HEAD" else response.body
            status = f"{response.status} {REASONS[response.status]}"
            start_response(status, _headers(response, request_id))
        finally:
            self.in_flight.dec()
        elapsed = time.perf_counter() - started
        self._record(
            environ, method, path, route, response, len(body), request_id, elapsed
        )
        return [body]

    def _respond(
        self, environ: Environ, method: str, path: str, route: str, request_id: str
    ) -> Response:
        try:
            self._check_request(environ, method, route)
            return self.routes[route](environ)
        except HTTPError as err:
            return err.response()
        except Exception as exc:  # noqa: BLE001 - any bug becomes a 500, never a crash
            # A bug, not a client mistake: answer 500, keep serving, and leave
            # enough in the log to find it (the request id ties it to the client).
            self._log_exception(exc, method, path, request_id)
            return HTTPError(
                500, "internal_error", "the server failed to answer this request"
            ).response()

    def _check_request(self, environ: Environ, method: str, route: str) -> None:
        if _target_length(environ) > self.config.max_url_length:
            raise HTTPError(
                414,
                "uri_too_long",
                f"the request target is longer than {self.config.max_url_length} bytes",
            )
        if _content_length(environ) > self.config.max_body_bytes:
            raise HTTPError(
                413,
                "content_too_large",
                f"the request body is larger than {self.config.max_body_bytes} bytes",
            )
        if route == UNMATCHED:
            raise HTTPError(404, "not_found", "no such path")
        if method not in ALLOWED_METHODS:
            allow = ", ".join(ALLOWED_METHODS)
            raise HTTPError(
                405,
                "method_not_allowed",
                f"this path allows {allow}",
                headers=(("Allow", allow),),
            )

    def _record(
        self,
        environ: Environ,
        method: str,
        path: str,
        route: str,
        response: Response,
        sent: int,
        request_id: str,
        elapsed: float,
    ) -> None:
        self.requests_total.inc(route, str(response.status))
        self.duration.observe(elapsed, route)
        self.log.info(
            "request",
            method=method,
            path=path[:_MAX_LOGGED_PATH],
            route=route,
            status=response.status,
            duration_ms=round(elapsed * 1000, 3),
            bytes=sent,
            request_id=request_id,
            remote=environ.get("REMOTE_ADDR", ""),
        )

    def _log_exception(
        self, exc: Exception, method: str, path: str, request_id: str
    ) -> None:
        # Imported here: only the (rare) failure path pays for it.
        import traceback

        self.log.error(
            "unhandled exception",
            method=method,
            path=path[:_MAX_LOGGED_PATH],
            request_id=request_id,
            error=f"{type(exc).__name__}: {exc}",
            traceback="".join(traceback.format_exception(exc)),
        )

    # Handlers ---------------------------------------------------------------

    def greet(self, environ: Environ) -> Response:
        name = parse_name(environ.get("QUERY_STRING", ""), self.config.max_name_length)
        message = f"Hello, {'world' if name is None else name}!"
        return Response(200, json_body({"message": message}))

    def healthz(self, environ: Environ) -> Response:
        # Liveness: the process answers. Deliberately checks nothing else, so a
        # slow dependency never gets a healthy process restarted.
        return Response(200, json_body({"status": "ok"}))

    def readyz(self, environ: Environ) -> Response:
        if self.state.shutting_down:
            return Response(503, json_body({"status": "shutting_down"}))
        return Response(200, json_body({"status": "ok"}))

    def version(self, environ: Environ) -> Response:
        info = self.build_info
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
        return Response(
            200, self.registry.render().encode("utf-8"), METRICS_CONTENT_TYPE
        )


def create_app(
    config: Config,
    build_info: BuildInfo,
    registry: Registry,
    state: State,
    log: Logger,
    started_at: float | None = None,
) -> HelloApp:
    """Build the WSGI callable; started_at defaults to now (process start)."""
    return HelloApp(
        config,
        build_info,
        registry,
        state,
        log,
        time.time() if started_at is None else started_at,
    )


# Request parsing -------------------------------------------------------------


def parse_name(query: str, max_length: int) -> str | None:
    """The ?name= value, or None if absent; HTTPError(400) if it is not acceptable.

    The whole query string must be well-formed percent-encoded UTF-8: a client
    that sends a broken one is told so rather than greeted with half its name.
    """
    names = [value for key, value in _query_pairs(query) if key == "name"]
    if not names:
        return None
    if len(names) > 1:
        raise _bad_name("must be given at most once")
    name = names[0]
    if not name.strip():
        raise _bad_name("must not be empty")
    if len(name) > max_length:
        raise _bad_name(f"must be at most {max_length} characters")
    if not name.isprintable():
        raise _bad_name("must contain printable characters only")
    return name


def _bad_name(problem: str) -> HTTPError:
    return HTTPError(400, "bad_request", f"query parameter 'name' {problem}")


def _query_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        try:
            pairs.append((percent_decode(key), percent_decode(value)))
        except ValueError:
            raise HTTPError(
                400,
                "bad_request",
                "the query string is not valid percent-encoded UTF-8",
            ) from None
    return pairs


def percent_decode(text: str) -> str:
    """Strictly decode one query component: '+' is a space, every '%' must be
    followed by two hex digits, and the bytes must be UTF-8. Raises ValueError.

    urllib.parse.unquote would pass broken escapes through and replace bad UTF-8
    silently; this one refuses both.
    """
    # WSGI hands the raw bytes over as latin-1 text; anything else is not bytes.
    raw = text.replace("+", " ").encode("latin-1")
    head, *escapes = raw.split(b"%")
    out = bytearray(head)
    for chunk in escapes:
        if len(chunk) < 2 or not _HEX_DIGITS.issuperset(chunk[:2]):
            raise ValueError("bad percent escape")
        out.append(int(chunk[:2], 16))
        out += chunk[2:]
    return out.decode("utf-8")


def _client_request_id(environ: Environ) -> str | None:
    """The client's X-Request-ID if it is safe to echo and log, else None."""
    value = environ.get("HTTP_X_REQUEST_ID")
    if (
        isinstance(value, str)
        and 0 < len(value) <= MAX_REQUEST_ID_LENGTH
        and _REQUEST_ID_CHARS.issuperset(value)
    ):
        return value
    return None


def _target_length(environ: Environ) -> int:
    """Length of the request target (path and query) as the client sent it."""
    uri = environ.get("REQUEST_URI")  # waitress passes the raw target
    if uri is not None:
        return len(uri)
    query = environ.get("QUERY_STRING", "")
    return len(environ.get("PATH_INFO", "")) + (len(query) + 1 if query else 0)


def _content_length(environ: Environ) -> int:
    raw = environ.get("CONTENT_LENGTH", "")
    if not raw:
        return 0
    if not (raw.isascii() and raw.isdigit()):
        raise HTTPError(400, "bad_request", "the Content-Length header is not a number")
    # A longer number is over any limit; int() of thousands of digits would
    # also be slow and, past sys.get_int_max_str_digits(), fail.
    return int(raw) if len(raw) <= 18 else 10**18


def _headers(response: Response, request_id: str) -> list[tuple[str, str]]:
    return [
        ("Content-Type", response.content_type),
        ("Content-Length", str(len(response.body))),
        # Every answer describes the live process: never serve one from a cache.
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Request-ID", request_id),
        *response.headers,
    ]
