"""notes inside the library: what it adds around a Django project, unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from service_testing import make_harness, no_proxy_for_loopback  # noqa: F401
from wsgi_service import loader


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database, made as the migrate Job makes it: python -m notes migrate."""
    path = str(tmp_path_factory.mktemp("data") / "notes.sqlite3")
    result = subprocess.run(
        [sys.executable, "-m", "notes", "migrate", "--no-input"],
        env=dict(os.environ, NOTES_DATABASE=path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result
    assert "Applying board.0001_initial... OK" in result.stdout
    return path


def test_the_django_project_gets_the_library_around_it(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTES_DATABASE", database)
    monkeypatch.setenv("ALLOWED_HOSTS", "127.0.0.1")
    harness = make_harness(
        lambda runtime, environ: loader.load_app("notes.wsgi:application"), "notes"
    )
    assert harness.request("/healthz").json() == {"status": "ok"}
    created = harness.request(
        "/api/notes",
        method="POST",
        body=json.dumps({"text": "from the harness"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert created.status == 201, created
    assert harness.request("/api/notes/1").json() == {
        "id": 1,
        "text": "from the harness",
    }
    page = harness.request("/", headers={"X-Request-ID": "django-1"})
    assert page.status == 200 and page.headers["x-request-id"] == "django-1"
    assert b"<li>from the harness</li>" in page.body
    assert harness.request("/static/board/style.css").status == 200
    assert harness.request("/api/notes/99").status == 404
    assert harness.request("/no/such/page").status == 404
    assert harness.request("/api/notes/1", method="DELETE").status == 405
    assert harness.request("/admin/login/").status == 200
    routes = [
        (r["path"], r["route"], r["status"])
        for r in harness.log_records()
        if r["msg"] == "request"
    ]
    # Django's resolver_match.route names the route: a pattern, never the path.
    assert routes == [
        ("/healthz", "/healthz", 200),
        ("/api/notes", "/api/notes", 201),
        ("/api/notes/1", "/api/notes/<int:note_id>", 200),
        ("/", "/", 200),
        # Served by WhiteNoise before Django resolves the path.
        ("/static/board/style.css", "/static/<path:path>", 200),
        ("/api/notes/99", "/api/notes/<int:note_id>", 404),
        ("/no/such/page", "unmatched", 404),
        ("/api/notes/1", "/api/notes/<int:note_id>", 405),
        ("/admin/login/", "/admin/login/", 200),
    ]
    assert harness.sample(
        "http_requests_total", route="/api/notes/<int:note_id>", status="200"
    )
