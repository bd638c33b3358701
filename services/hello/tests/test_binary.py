"""The real py_binary //services/hello, started through its runfiles.

This is what `bazel run //services/hello` executes. The launcher finds the
package through the runfiles tree, so a source layout that puts the package
directory where the binary itself lives (services/hello/hello) makes it fail
before it serves anything; this test would catch that coming back.
"""

from __future__ import annotations

import os
import signal

import requests
from service_testing import ServiceProcess, child_env

TIMEOUT = 30


def start(**settings: str) -> ServiceProcess:
    env = child_env(**settings)
    # The launcher must find everything through its own runfiles.
    env.pop("PYTHONPATH", None)
    return ServiceProcess(env, [os.path.abspath(os.environ["HELLO_BINARY"])])


def test_binary_serves_http_and_stops_on_sigterm() -> None:
    with start(HOST="127.0.0.1", PORT="0") as service:
        port = service.port()
        base = f"http://127.0.0.1:{port}"
        health = requests.get(base + "/healthz", timeout=TIMEOUT)
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        greeting = requests.get(base + "/", params={"name": "Bazel"}, timeout=TIMEOUT)
        assert greeting.json() == {"message": "Hello, Bazel!"}
        service.proc.send_signal(signal.SIGTERM)
        assert service.wait(TIMEOUT) == 0
        assert service.records()[-1]["msg"] == "shutdown complete"
        assert service.stderr == []


def test_binary_exits_2_on_a_bad_setting() -> None:
    with start(PORT="eighty") as service:
        assert service.wait(TIMEOUT) == 2
        assert service.stdout == []
        assert service.stderr == [
            "config error: PORT='eighty' is not allowed:"
            " expected an integer from 0 to 65535 (0 picks a free port)"
        ]
