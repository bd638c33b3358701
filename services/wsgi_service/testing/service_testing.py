"""Test helpers for services on wsgi_service: build an app with captured logs
and call it as WSGI, or run a service as a child process and read its log."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self
from wsgiref.util import setup_testing_defaults

import pytest
from prometheus_client import CollectorRegistry
from wsgi_service.accesslog import Logger
from wsgi_service.app import Runtime, State
from wsgi_service.buildinfo import BuildInfo
from wsgi_service.config import ServerConfig, settings_of
from wsgi_service.metrics import Metrics
from wsgi_service.middleware import service_middleware

AppFactory = Callable[[Runtime, Mapping[str, str]], Any]


@pytest.fixture(autouse=True)
def no_proxy_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests honours HTTP(S)_PROXY from the environment; test traffic must
    go straight to the server on 127.0.0.1. (Import it into a conftest.py.)"""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@dataclass
class Reply:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


@dataclass
class Harness:
    app: Any
    runtime: Runtime
    log_stream: io.StringIO

    @property
    def state(self) -> State:
        return self.runtime.state

    @property
    def metrics(self) -> Metrics:
        return self.runtime.metrics

    def sample(self, name: str, **labels: str) -> float | None:
        return self.metrics.registry.get_sample_value(name, labels)

    def log_records(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.log_stream.getvalue().splitlines()]

    def request(
        self,
        path: str = "/",
        method: str = "GET",
        query: str = "",
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        **extra: str,
    ) -> Reply:
        environ = make_environ(path, method, query, headers, body, **extra)
        return call(self.app, environ)


def make_environ(
    path: str = "/",
    method: str = "GET",
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    **extra: str,
) -> dict[str, object]:
    """A WSGI environ; with `body`, its wsgi.input and CONTENT_LENGTH (a
    Content-Type header becomes CONTENT_TYPE, as servers pass it)."""
    environ: dict[str, object] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "REMOTE_ADDR": "192.0.2.7",
    }
    for name, value in (headers or {}).items():
        if name.lower() in ("content-type", "content-length"):
            environ[name.upper().replace("-", "_")] = value
        else:
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    if body is not None:
        environ["wsgi.input"] = io.BytesIO(body)
        environ.setdefault("CONTENT_LENGTH", str(len(body)))
    environ.update(extra)
    setup_testing_defaults(environ)
    return environ


def call(app: Any, environ: dict[str, object]) -> Reply:
    seen: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info=None):
        assert not seen, "start_response called twice"
        seen.append((status, headers))

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()  # As every WSGI server does.
    assert len(seen) == 1, "start_response not called"
    status, headers = seen[0]
    code, _, reason = status.partition(" ")
    names = [name.lower() for name, _ in headers]
    assert len(names) == len(set(names)), f"duplicate headers: {headers}"
    return Reply(int(code), reason, {k.lower(): v for k, v in headers}, body)


def make_runtime(
    name: str = "sample_service",
    config: ServerConfig | None = None,
    build_info: BuildInfo | None = None,
    stream: io.StringIO | None = None,
    fmt: str = "json",
    level: str = "debug",
) -> Runtime:
    info = BuildInfo() if build_info is None else build_info
    return Runtime(
        name,
        ServerConfig() if config is None else config,
        info,
        # A registry of its own: each test counts only its own requests.
        Metrics(name, info, CollectorRegistry()),
        State(),
        Logger(io.StringIO() if stream is None else stream, level, fmt),
    )


def make_harness(
    create_app: AppFactory,
    name: str = "sample_service",
    config: ServerConfig | None = None,
    build_info: BuildInfo | None = None,
    fmt: str = "json",
    environ: Mapping[str, str] | None = None,
) -> Harness:
    stream = io.StringIO()
    runtime = make_runtime(name, config, build_info, stream, fmt)
    app = service_middleware(create_app(runtime, environ or {}), runtime)
    return Harness(app, runtime, stream)


# --- a service as a child process -------------------------------------------


def child_env(**overrides: str) -> dict[str, str]:
    """Environment for a child Python that imports what this one does (on the
    host and under Bazel alike), without the caller's service settings."""
    env = {k: v for k, v in os.environ.items() if k not in _SETTING_NAMES}
    env["PYTHONPATH"] = os.pathsep.join(entry for entry in sys.path if entry)
    env.update(overrides)
    return env


def _setting_names() -> frozenset[str]:
    return frozenset(field.env for field in settings_of(ServerConfig))


_SETTING_NAMES = _setting_names()


class ServiceProcess:
    """A child process (by default `python -m MODULE`) with its output collected
    line by line by reader threads, so that every wait has a timeout."""

    def __init__(
        self,
        env: dict[str, str],
        argv: list[str],
        preexec_fn: Callable[[], None] | None = None,
    ):
        self.proc = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            preexec_fn=preexec_fn,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(
                target=self._read, args=(self.proc.stdout, self.stdout), daemon=True
            ),
            threading.Thread(
                target=self._read, args=(self.proc.stderr, self.stderr), daemon=True
            ),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream, lines: list[str]) -> None:
        for line in stream:
            with self._changed:
                lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def records(self) -> list[dict[str, object]]:
        with self._changed:
            return [json.loads(line) for line in self.stdout]

    def wait_for_line(
        self,
        predicate: Callable[[str], bool],
        stream: str = "stdout",
        timeout: float = 10,
    ) -> str:
        lines = self.stdout if stream == "stdout" else self.stderr
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in lines:
                    if predicate(line):
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"no matching line on {stream} within {timeout}s;"
                        f" stdout={self.stdout[-20:]} stderr={self.stderr[-20:]}"
                    )
                self._changed.wait(min(remaining, 0.2))

    def wait_for_record(self, msg: str, timeout: float = 10) -> dict[str, object]:
        line = self.wait_for_line(
            lambda text: json.loads(text).get("msg") == msg, timeout=timeout
        )
        return json.loads(line)

    def port(self) -> int:
        return int(self.wait_for_record("listening")["port"])

    def wait(self, timeout: float) -> int:
        code = self.proc.wait(timeout)
        for reader in self._readers:
            reader.join(5)
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for reader in self._readers:
            reader.join(5)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
