"""The project's own small WSGI framework: routes to handlers, JSON answers.

One way to write a service's app (Flask or Django are others: the library
serves any WSGI app, main.py). Every request goes through ServiceApp.__call__,
which checks the request, routes it to a handler and turns failures into
JSON error responses; handlers only build responses. The middleware around
every app (middleware.py) answers /healthz, /readyz, /version and /metrics,
and writes the access log and the metrics, labelled with the route
ServiceApp matched (environ[ROUTE_KEY]: the path or template, never the raw
path).

Routes are exact paths ("/items") or templates with one-segment parameters
("/items/{item_id}": the handler reads request_path_params(environ)); a
plain handler answers GET and HEAD, a Route the methods it names.
"""

from __future__ import annotations

from wsgi_service.middleware import (
    REQUEST_ID_KEY,
    ROUTE_KEY,
    check_limits,
    content_length,
    log_exception,
)
from wsgi_service.observe import UNMATCHED
from wsgi_service.responses import (
    REASONS,
    HTTPError,
    Response,
    header,
    headers,
    request_id,
)

# Names only type checkers need: importing typing at run time costs start-up
# time (tests/startup lists what start-up may import).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    from wsgi_service.accesslog import Logger
    from wsgi_service.buildinfo import BuildInfo
    from wsgi_service.config import ServerConfig
    from wsgi_service.metrics import Metrics

    Environ = dict[str, Any]
    StartResponse = Callable[..., Any]
    Handler = Callable[[Environ], Response]

ALLOWED_METHODS = ("GET", "HEAD")
# Where a template route puts the parameters it matched, in the environ.
PATH_PARAMS_KEY = "wsgi_service.path_params"


class Route:
    """A route answering the methods it names: Route(get=show, post=create).

    A GET handler also answers HEAD (without the body)."""

    __slots__ = ("handlers",)

    def __init__(self, **handlers: Handler) -> None:
        self.handlers = {method.upper(): h for method, h in handlers.items()}
        if "GET" in self.handlers:
            self.handlers.setdefault("HEAD", self.handlers["GET"])

    @property
    def allowed(self) -> tuple[str, ...]:
        order = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        known = [m for m in order if m in self.handlers]
        return tuple(known + sorted(m for m in self.handlers if m not in order))


def request_path_params(environ: Environ) -> dict[str, str]:
    """The parameters of the template route that matched, e.g. {"item_id": "42"}."""
    params: dict[str, str] = environ.get(PATH_PARAMS_KEY, {})
    return params


def request_body(environ: Environ) -> bytes:
    """The request body, Content-Length bytes of it (already within the app's
    limit: bigger requests never reach a handler)."""
    length = content_length(environ)
    stream = environ.get("wsgi.input")
    if not length or stream is None:
        return b""
    return bytes(stream.read(length))


def _segments(path: str) -> list[str]:
    return path.split("/")


def _is_parameter(segment: str) -> bool:
    return len(segment) > 2 and segment[0] == "{" and segment[-1] == "}"


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


class Runtime:
    """What the library gives a service's app factory: the server settings, the
    build info, the metrics, the lifecycle state and the log."""

    __slots__ = ("build_info", "config", "log", "metrics", "name", "state")

    def __init__(
        self,
        name: str,
        config: ServerConfig,
        build_info: BuildInfo,
        metrics: Metrics,
        state: State,
        log: Logger,
    ):
        self.name = name
        self.config = config
        self.build_info = build_info
        self.metrics = metrics
        self.state = state
        self.log = log


class ServiceApp:
    """A service's routes (exact paths and templates), as one WSGI app."""

    def __init__(
        self,
        runtime: Runtime,
        routes: Mapping[str, Handler | Route],
        max_url_length: int = 2048,
        max_body_bytes: int = 1024,
    ):
        """max_url_length: longest request target (path and query) accepted;
        longer gets 414. max_body_bytes: largest request body accepted; larger
        gets 413 (the default suits services whose endpoints read no body)."""
        self.runtime = runtime
        self.max_url_length = max_url_length
        self.max_body_bytes = max_body_bytes
        self.routes: dict[str, Route] = {
            path: r if isinstance(r, Route) else Route(get=r)
            for path, r in routes.items()
        }
        # Templates, by their segments: "/items/{id}" -> ["", "items", "{id}"].
        self._templates = [
            (path, _segments(path))
            for path in self.routes
            if any(_is_parameter(s) for s in _segments(path))
        ]
        self._exact = frozenset(self.routes) - {t for t, _ in self._templates}

    # The request path -------------------------------------------------------

    def __call__(self, environ: Environ, start_response: StartResponse) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        route = self._match(environ, path)
        environ[ROUTE_KEY] = route
        rid = environ.get(REQUEST_ID_KEY) or request_id(header(environ, "X-Request-ID"))
        response = self._respond(environ, method, path, route, rid)
        body = b"" if method == "HEAD" else response.body
        status = f"{response.status} {REASONS[response.status]}"
        start_response(status, headers(response, rid))
        return [body]

    def _respond(
        self, environ: Environ, method: str, path: str, route: str, rid: str
    ) -> Response:
        try:
            self._check_request(environ, method, route)
            return self.routes[route].handlers[method](environ)
        except HTTPError as err:
            return err.response()
        except Exception as exc:  # noqa: BLE001 - any bug becomes a 500, never a crash
            # A bug, not a client mistake: answer 500, keep serving, and leave
            # enough in the log to find it (the request id ties it to the client).
            log_exception(self.runtime, environ, exc, rid)
            return HTTPError(
                500, "internal_error", "the server failed to answer this request"
            ).response()

    def _check_request(self, environ: Environ, method: str, route: str) -> None:
        check_limits(environ, self.max_url_length, self.max_body_bytes)
        if route == UNMATCHED:
            raise HTTPError(404, "not_found", "no such path")
        allowed = self.routes[route].allowed
        if method not in allowed:
            allow = ", ".join(allowed)
            raise HTTPError(
                405,
                "method_not_allowed",
                f"this path allows {allow}",
                headers=(("Allow", allow),),
            )

    def _match(self, environ: Environ, path: str) -> str:
        """The route a path is for (its path or template), else UNMATCHED; a
        template's parameters go into the environ."""
        if path in self._exact:
            return path
        segments = _segments(path)
        for template, parts in self._templates:
            if len(parts) != len(segments):
                continue
            params = {}
            for part, segment in zip(parts, segments):
                if _is_parameter(part) and segment:
                    params[part[1:-1]] = segment
                elif part != segment:
                    break
            else:
                environ[PATH_PARAMS_KEY] = params
                return template
        return UNMATCHED
