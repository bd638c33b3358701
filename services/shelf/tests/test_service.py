"""shelf inside the library: what it adds around a Flask app, unchanged."""

from __future__ import annotations

from service_testing import make_harness, no_proxy_for_loopback  # noqa: F401
from wsgi_service import loader


def test_the_flask_app_gets_the_library_around_it() -> None:
    harness = make_harness(
        lambda runtime, environ: loader.load_app("shelf:create_app()"), "shelf"
    )
    assert harness.request("/healthz").json() == {"status": "ok"}
    assert harness.request("/api/books/1").json()["year"] == 1999
    assert harness.request("/static/style.css").status == 200
    assert harness.request("/api/books/99").status == 404
    assert harness.request("/no/such/page").status == 404
    assert harness.request("/api/books", method="POST").status == 405
    reply = harness.request("/", headers={"X-Request-ID": "flask-1"})
    assert reply.status == 200 and reply.headers["x-request-id"] == "flask-1"
    routes = [
        (r["path"], r["route"], r["status"])
        for r in harness.log_records()
        if r["msg"] == "request"
    ]
    # Flask's url_rule names the route: a template, never the raw path.
    assert routes == [
        ("/healthz", "/healthz", 200),
        ("/api/books/1", "/api/books/<int:book_id>", 200),
        ("/static/style.css", "/static/<path:filename>", 200),
        ("/api/books/99", "/api/books/<int:book_id>", 404),
        ("/no/such/page", "unmatched", 404),
        # A method the rule does not allow: counted under the rule.
        ("/api/books", "/api/books", 405),
        ("/", "/", 200),
    ]
    assert harness.sample(
        "http_requests_total", route="/api/books/<int:book_id>", status="200"
    )
