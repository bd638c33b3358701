"""The test service's app: a greeting, an error, a bug, a POST route, a template
route, and requests held on demand.

A request carrying `X-Test-Delay: SECONDS` is held that long before it is
answered, after writing `test: holding PATH` to stderr, so that process tests
can hold requests in flight (no real service has such a knob).
"""

from __future__ import annotations

import os
import time
from urllib.parse import parse_qs

from wsgi_service.app import Route, ServiceApp, request_body, request_path_params
from wsgi_service.config import Settings, load_settings, setting
from wsgi_service.middleware import ServiceMiddleware
from wsgi_service.responses import HTTPError, Response, json_body


class SampleConfig(Settings):
    greeting: str = setting("SAMPLE_GREETING", "Hello", lambda raw: _word(raw))


def _word(raw: str) -> str:
    if not (raw.isascii() and raw.isalpha()):
        raise ValueError("expected letters")
    return raw


def create_app(runtime, environ):
    config = load_settings(SampleConfig, environ)

    def greet(request):
        names = parse_qs(request.get("QUERY_STRING", "")).get("name", ["world"])
        return Response(200, json_body({"message": f"{config.greeting}, {names[0]}!"}))

    def bad(request):
        raise HTTPError(400, "bad_request", "this path always refuses")

    def fail(request):
        raise RuntimeError("boom in fail")

    def echo(request):
        body = request_body(request)
        return Response(200, json_body({"received": len(body)}))

    def thing(request):
        return Response(200, json_body(request_path_params(request)))

    routes = {
        "/": greet,
        "/bad": bad,
        "/fail": fail,
        "/echo": Route(post=echo),
        "/things/{name}": Route(get=thing, delete=thing),
    }
    # Held in front of the middleware, so that /readyz can be held too.
    return HeldMiddleware(ServiceApp(runtime, routes), runtime)


class HeldMiddleware(ServiceMiddleware):
    """The library's middleware (an app factory may return its own), holding
    requests that ask for it before answering them."""

    def __call__(self, environ, start_response):
        delay = environ.get("HTTP_X_TEST_DELAY")
        if delay:
            # One os.write per line: atomic on a pipe, so concurrent requests
            # never interleave their markers (print() writes in two parts).
            os.write(2, ("test: holding " + environ["PATH_INFO"] + "\n").encode())
            time.sleep(float(delay))
        return super().__call__(environ, start_response)
