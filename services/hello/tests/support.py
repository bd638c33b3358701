"""Test helpers: build the app with captured logs and call it as WSGI."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self
from wsgiref.util import setup_testing_defaults

from hello.accesslog import Logger
from hello.app import HelloApp, State, create_app
from hello.buildinfo import BuildInfo
from hello.config import Config
from hello.metrics import Registry


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
    app: HelloApp
    state: State
    registry: Registry
    log_stream: io.StringIO

    def log_records(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.log_stream.getvalue().splitlines()]

    def request(
        self,
        path: str = "/",
        method: str = "GET",
        query: str = "",
        headers: dict[str, str] | None = None,
        **extra: str,
    ) -> Reply:
        return call(self.app, make_environ(path, method, query, headers, **extra))


def make_environ(
    path: str = "/",
    method: str = "GET",
    query: str = "",
    headers: dict[str, str] | None = None,
    **extra: str,
) -> dict[str, object]:
    environ: dict[str, object] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "REMOTE_ADDR": "192.0.2.7",
    }
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    environ.update(extra)
    setup_testing_defaults(environ)
    return environ


def call(app: HelloApp, environ: dict[str, object]) -> Reply:
    seen: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info=None):
        assert not seen, "start_response called twice"
        seen.append((status, headers))

    body = b"".join(app(environ, start_response))
    assert len(seen) == 1, "start_response not called"
    status, headers = seen[0]
    code, _, reason = status.partition(" ")
    names = [name.lower() for name, _ in headers]
    assert len(names) == len(set(names)), f"duplicate headers: {headers}"
    return Reply(int(code), reason, {k.lower(): v for k, v in headers}, body)


def make_harness(
    config: Config | None = None,
    build_info: BuildInfo | None = None,
    registry: Registry | None = None,
    fmt: str = "json",
) -> Harness:
    stream = io.StringIO()
    state = State()
    registry = Registry() if registry is None else registry
    app = create_app(
        Config() if config is None else config,
        BuildInfo() if build_info is None else build_info,
        registry,
        state,
        Logger(stream, "debug", fmt),
        started_at=1700000000.5,
    )
    return Harness(app, state, registry, stream)


# --- the service as a child process --------------------------------------------

CONFIG_VARS = (
    "HOST",
    "PORT",
    "THREADS",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "SHUTDOWN_GRACE_SECONDS",
)


def child_env(**overrides: str) -> dict[str, str]:
    """Environment for a child Python that imports hello the way this one does
    (on the host and under Bazel alike), without the caller's service settings."""
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env["PYTHONPATH"] = os.pathsep.join(entry for entry in sys.path if entry)
    env.update(overrides)
    return env


class ServiceProcess:
    """A child process (by default python -m hello) with its output collected
    line by line by reader threads, so that every wait has a timeout."""

    def __init__(self, env: dict[str, str], argv: list[str] | None = None):
        self.proc = subprocess.Popen(
            argv or [sys.executable, "-m", "hello"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
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
                        f" stdout={self.stdout} stderr={self.stderr}"
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
