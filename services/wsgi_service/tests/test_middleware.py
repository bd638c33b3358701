"""What the library adds around any WSGI app (middleware.py), and how an app
is named (loader.py, python -m wsgi_service): apps written without our
framework, from plain_apps/apps.py."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from plain_apps import apps
from service_testing import Harness, child_env, make_harness
from wsgi_service import loader
from wsgi_service.config import ConfigError, ServerConfig, load_config


def harness_for(app, config: ServerConfig | None = None) -> Harness:
    return make_harness(lambda runtime, environ: app, config=config)


def access_log(harness: Harness) -> list[dict[str, object]]:
    return [r for r in harness.log_records() if r["msg"] == "request"]


def test_any_app_gets_the_standard_endpoints() -> None:
    harness = harness_for(apps.application)
    assert harness.request("/healthz").json() == {"status": "ok"}
    assert harness.request("/readyz").json() == {"status": "ok"}
    assert harness.request("/version").json()["version"] == "0.0.0-dev"
    assert b"http_requests_total" in harness.request("/metrics").body
    reply = harness.request("/anything")
    assert (reply.status, reply.body) == (200, b"plain /anything")
    harness.state.begin_shutdown()
    assert harness.request("/readyz").status == 503


def test_requests_get_an_id_a_log_line_and_bounded_route_labels() -> None:
    harness = harness_for(apps.application)
    reply = harness.request("/a/b/c", headers={"X-Request-ID": "trace-1"})
    assert reply.headers["x-request-id"] == "trace-1"
    assert reply.headers["x-content-type-options"] == "nosniff"
    harness.request("/gone")
    harness.request("/other/path")
    lines = access_log(harness)
    assert [(r["path"], r["route"], r["status"]) for r in lines] == [
        ("/a/b/c", "other", 200),
        ("/gone", "unmatched", 404),
        ("/other/path", "other", 200),
    ]
    assert lines[0]["request_id"] == "trace-1" and lines[0]["bytes"] == 12
    # An app that names no routes: one label, never the raw path.
    assert harness.sample("http_requests_total", route="other", status="200") == 2
    assert harness.sample("http_requests_total", route="/a/b/c", status="200") is None


def test_the_route_an_app_names_labels_its_requests() -> None:
    harness = harness_for(apps.routed)
    reply = harness.request("/things/lamp")
    assert reply.headers["x-request-id"] == "own"  # the app's own is kept
    assert access_log(harness)[0]["route"] == "/things/{name}"
    assert harness.sample("http_requests_total", route="/things/{name}", status="200")


def test_a_streamed_body_is_counted_and_recorded_when_closed() -> None:
    harness = harness_for(apps.Streamed)
    closed = apps.Streamed.closed
    reply = harness.request("/stream")
    assert reply.body == b"one,two"
    assert apps.Streamed.closed == closed + 1
    assert access_log(harness)[0]["bytes"] == 7


def test_an_app_that_raises_answers_500_in_json_and_logs_it() -> None:
    harness = harness_for(apps.broken)
    reply = harness.request("/x", headers={"X-Request-ID": "trace-9"})
    assert reply.status == 500
    assert reply.json()["error"] == "internal_error"
    errors = [r for r in harness.log_records() if r["msg"] == "unhandled exception"]
    assert errors[0]["request_id"] == "trace-9"
    assert "the app's own bug" in str(errors[0]["traceback"])
    assert access_log(harness)[0]["status"] == 500


def test_a_standard_path_turned_off_is_the_apps() -> None:
    config = load_config({"HEALTH_PATH": "off", "METRICS_PATH": "/internal/metrics"})
    harness = harness_for(apps.own_healthz, config)
    assert harness.request("/healthz").body == b"the app's own /healthz"
    assert harness.request("/metrics").body == b"the app's own /metrics"
    assert b"http_requests_total" in harness.request("/internal/metrics").body


@pytest.mark.parametrize("raw", ["healthz", "/a b", "/a?b", "", "/é"])
def test_a_bad_endpoint_path_is_a_config_error(raw: str) -> None:
    with pytest.raises(ConfigError, match="READY_PATH="):
        load_config({"READY_PATH": raw})


# Naming an app ------------------------------------------------------------------


def test_an_app_is_named_as_waitress_serve_and_gunicorn_name_it() -> None:
    assert loader.load_app("plain_apps.apps:application") is apps.application
    assert loader.load_app("plain_apps.apps:create_app()") is apps.application
    assert loader.load_app("plain_apps.apps:Streamed") is apps.Streamed
    assert loader.package_of("plain_apps.apps:create_app()") == "plain_apps"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("plain_apps.apps", "expected package.module:application"),
        ("plain_apps.apps:", "expected package.module:application"),
        ("no_such_package.app:app", "cannot import no_such_package.app"),
        ("plain_apps.apps:missing", "plain_apps.apps has no attribute 'missing'"),
        ("plain_apps.apps:not_callable", "int is not a WSGI application"),
        ("plain_apps.apps:not_callable()", "not_callable is not callable"),
    ],
)
def test_an_app_that_cannot_be_used_is_named_with_the_reason(
    spec: str, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        loader.load_app(spec)
    assert str(err.value).startswith(f"WSGI_APP={spec!r}")
    assert message in str(err.value)


def run_module(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wsgi_service", *args],
        env=child_env(PORT="0", HOST="127.0.0.1", **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_python_m_wsgi_service_exits_2_naming_what_is_wrong() -> None:
    result = run_module("plain_apps.apps:missing")
    assert result.returncode == 2, result.stderr
    assert (
        "config error: WSGI_APP='plain_apps.apps:missing': plain_apps.apps has no"
        " attribute 'missing'" in result.stderr
    )
    result = run_module(WSGI_APP="nonsense")
    assert result.returncode == 2 and "WSGI_APP='nonsense'" in result.stderr
    result = run_module()
    assert result.returncode == 2 and "no application" in result.stderr


def test_python_m_wsgi_service_serves_the_app() -> None:
    # SHUTDOWN at once: the process starts, logs that it listens, and is
    # stopped by the test through its own signal handling (test_process.py
    # covers the drain); here only that the named app is what it serves.
    proc = subprocess.Popen(
        [sys.executable, "-m", "wsgi_service", "plain_apps.apps:create_app()"],
        env=child_env(PORT="0", HOST="127.0.0.1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            record = json.loads(line)
            if record["msg"] == "listening":
                break
        import urllib.request

        with urllib.request.urlopen(f"{record['url']}/hello", timeout=10) as reply:
            assert reply.read() == b"plain /hello"
            assert reply.headers["Server"] == "plain_apps"
    finally:
        proc.terminate()
        assert proc.wait(30) == 0
