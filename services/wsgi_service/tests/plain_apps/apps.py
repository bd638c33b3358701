"""Plain PEP 3333 applications, written without any framework, for the tests
of what the library adds around any app (test_middleware.py)."""


def application(environ, start_response):
    """Answers every path with text; names no route; /gone answers 404."""
    status = "404 Not Found" if environ["PATH_INFO"] == "/gone" else "200 OK"
    start_response(status, [("Content-Type", "text/plain")])
    return [b"plain ", environ["PATH_INFO"].encode()]


def create_app():
    """A factory, Flask's way: called with no arguments."""
    return application


class Streamed:
    """A streamed body with close(), as a server must call it."""

    closed = 0

    def __init__(self, environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])

    def __iter__(self):
        yield b"one,"
        yield b"two"

    def close(self):
        Streamed.closed += 1


def routed(environ, start_response):
    """Names the route it matched, as a framework adapter would."""
    environ["wsgi_service.route"] = "/things/{name}"
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Request-ID", "own")])
    return [b"thing"]


def broken(environ, start_response):
    raise RuntimeError("the app's own bug")


def own_healthz(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"the app's own " + environ["PATH_INFO"].encode()]


not_callable = 42
