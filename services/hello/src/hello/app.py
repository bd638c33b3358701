"""hello's WSGI app: the greeting at /, on the shared service library.

The library (wsgi_service) adds /healthz, /readyz, /version and /metrics, the
request checks, JSON errors, request ids, the access log and the metrics.
"""

from __future__ import annotations

from wsgi_service.app import ServiceApp
from wsgi_service.config import load_settings
from wsgi_service.responses import HTTPError, Response, json_body

from hello.config import HelloConfig

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from wsgi_service.app import Runtime

    Environ = dict[str, Any]

_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


def create_app(runtime: Runtime, environ: Mapping[str, str]) -> ServiceApp:
    """The WSGI app; hello's own settings come from environ (ConfigError if bad)."""
    config = load_settings(HelloConfig, environ)

    def greet(request: Environ) -> Response:
        name = parse_name(request.get("QUERY_STRING", ""), config.max_name_length)
        message = f"Hello, {'world' if name is None else name}!"
        return Response(200, json_body({"message": message}))

    return ServiceApp(runtime, {"/": greet})


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
