"""The real py_binary //services/items, started through its runfiles.

This is what `bazel run //services/items` executes: the launcher must find the
package, pydantic and orjson (the build machine's wheels) through its own
runfiles, and the compiled code must run.
"""

from __future__ import annotations

import os
import signal

import requests
from service_testing import ServiceProcess, child_env

TIMEOUT = 30


def start(**settings: str) -> ServiceProcess:
    env = child_env(**settings)
    env.pop("PYTHONPATH", None)
    return ServiceProcess(env, [os.path.abspath(os.environ["ITEMS_BINARY"])])


def test_binary_validates_answers_and_stops_on_sigterm() -> None:
    with start(HOST="127.0.0.1", PORT="0") as service:
        base = f"http://127.0.0.1:{service.port()}"
        created = requests.post(
            base + "/items", json={"name": "bolt", "price": "0.10"}, timeout=TIMEOUT
        )
        assert (created.status_code, created.json()) == (
            201,
            {"id": 1, "name": "bolt", "price": "0.10", "tags": []},
        )
        invalid = requests.post(base + "/items", json={"name": "bolt"}, timeout=TIMEOUT)
        assert invalid.status_code == 422
        assert invalid.json()["errors"][0]["loc"] == ["price"]
        service.proc.send_signal(signal.SIGTERM)
        assert service.wait(TIMEOUT) == 0
        assert service.records()[-1]["msg"] == "shutdown complete"
        assert service.stderr == []


def test_binary_exits_2_on_a_bad_setting() -> None:
    with start(MAX_ITEMS="lots") as service:
        assert service.wait(TIMEOUT) == 2
        assert service.stderr == [
            "config error: MAX_ITEMS='lots' is not allowed: expected an integer from 1 to 1000000"
        ]
