"""What every answer is made of: JSON bodies, JSON errors, request ids, and the
headers every response carries, whether the app or the server wrote it."""

from __future__ import annotations

import json
import os

# The C generator behind random.Random, without random's own imports (hashlib
# among them) on the start path.
from _random import Random

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

JSON = "application/json"

REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    503: "Service Unavailable",
    507: "Insufficient Storage",
}

# Request ids we echo back: what common tracers and proxies send, nothing that
# could break a header or a log line.
_REQUEST_ID_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:"
)
MAX_REQUEST_ID_LENGTH = 128
# New request ids: 128 random bits from a generator seeded once from the
# kernel. An id only tells requests apart (it is no secret and grants
# nothing); os.urandom per request was a system call, which gives up the
# interpreter lock and then waits to take it back from the busy threads
# (17 us a request in a profile of the middleware with the log writer
# running, against 0.4 us for this; accesslog.py says why).
_ids = Random(int.from_bytes(os.urandom(32), "big"))


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
    # ensure_ascii: the body is plain ASCII whatever the data held.
    return json.dumps(data, separators=(",", ":")).encode("ascii")


def request_id(value: object) -> str:
    """The client's X-Request-ID if it is safe to echo and log, else a new one."""
    if (
        isinstance(value, str)
        and 0 < len(value) <= MAX_REQUEST_ID_LENGTH
        and _REQUEST_ID_CHARS.issuperset(value)
    ):
        return value
    return f"{_ids.getrandbits(128):032x}"


def headers(response: Response, request_id: str) -> list[tuple[str, str]]:
    return [
        ("Content-Type", response.content_type),
        ("Content-Length", str(len(response.body))),
        # Every answer describes the live process: never serve one from a cache.
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Request-ID", request_id),
        *response.headers,
    ]


def header(environ: Mapping[str, object], name: str) -> object:
    """A request header from a WSGI environ, e.g. header(environ, "X-Request-ID")."""
    return environ.get("HTTP_" + name.upper().replace("-", "_"))
