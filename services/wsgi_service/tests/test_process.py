"""A service as a process: start-up, signals, draining, exit statuses.

The service is the library's test service (python -m sample_service), whose
app holds any request carrying an X-Test-Delay header for that many seconds,
after writing "test: holding PATH" to stderr. The entry point, the server,
the signal handling and the shutdown are the library's, as every service
runs them.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests
from service_testing import ServiceProcess, child_env

TIMEOUT = 15
MODULE = [sys.executable, "-m", "sample_service"]


def start(holding: bool = False, **env: str) -> ServiceProcess:
    """The test service; `holding` only says that the test holds requests."""
    settings = {"HOST": "127.0.0.1", "PORT": "0", **env}
    return ServiceProcess(child_env(**settings), MODULE)


class Call:
    """One HTTP request in a background thread, its outcome kept for later."""

    def __init__(self, url: str, headers: dict[str, str] | None = None):
        self.response: requests.Response | None = None
        self.error: Exception | None = None
        self.finished_at: float | None = None
        self._thread = threading.Thread(
            target=self._run, args=(url, headers), daemon=True
        )
        self._thread.start()

    def _run(self, url: str, headers: dict[str, str] | None) -> None:
        try:
            self.response = requests.get(url, headers=headers, timeout=TIMEOUT)
        except requests.RequestException as err:
            self.error = err
        self.finished_at = time.monotonic()

    def join(self) -> None:
        self._thread.join(TIMEOUT + 5)
        assert not self._thread.is_alive()


def is_refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def assert_clean_stderr(service: ServiceProcess) -> None:
    unexpected = [
        line for line in service.stderr if not line.startswith("test: holding ")
    ]
    assert unexpected == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_when_idle_exits_0(signum: signal.Signals) -> None:
    with start() as service:
        starting = service.wait_for_record("starting")
        assert starting["version"] == "0.0.0-dev"
        port = service.port()
        assert (
            requests.get(f"http://127.0.0.1:{port}/readyz", timeout=TIMEOUT).status_code
            == 200
        )
        service.proc.send_signal(signum)
        assert service.wait(TIMEOUT) == 0
        records = service.records()
        messages = [r["msg"] for r in records]
        assert messages[-2:] == ["shutdown started", "shutdown complete"]
        assert records[-2]["reason"] == signum.name
        assert_clean_stderr(service)


def test_sigterm_drains_in_flight_requests_then_exits_0() -> None:
    grace = 10.0
    with start(holding=True, SHUTDOWN_GRACE_SECONDS=str(grace), THREADS="4") as service:
        port = service.port()
        base = f"http://127.0.0.1:{port}"

        # An idle keep-alive connection, opened before the signal.
        idle = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        idle.request("GET", "/healthz")
        assert idle.getresponse().read() == b'{"status":"ok"}'

        greeting = Call(base + "/?name=Drain", {"X-Test-Delay": "3"})
        readiness = Call(base + "/readyz", {"X-Test-Delay": "3"})
        service.wait_for_line(lambda line: line == "test: holding /", "stderr")
        service.wait_for_line(lambda line: line == "test: holding /readyz", "stderr")

        signalled = time.monotonic()
        service.proc.send_signal(signal.SIGTERM)
        started = service.wait_for_record("shutdown started")
        assert started["reason"] == "SIGTERM"
        assert started["grace_seconds"] == grace

        # The listener is closed before the drain: new connections are refused
        # while both requests are still being answered.
        assert is_refused(port)
        # The idle keep-alive connection is closed by the server, not left open.
        idle.sock.settimeout(5)
        assert idle.sock.recv(1) == b""
        idle.close()
        assert greeting.finished_at is None
        assert readiness.finished_at is None

        greeting.join()
        readiness.join()
        # Both in-flight requests complete; the one that reached the app after
        # the signal sees readiness turned off.
        assert greeting.error is None
        assert greeting.response.status_code == 200
        assert greeting.response.json() == {"message": "Hello, Drain!"}
        assert readiness.error is None
        assert readiness.response.status_code == 503
        assert readiness.response.json() == {"status": "shutting_down"}

        assert service.wait(TIMEOUT) == 0
        elapsed = time.monotonic() - signalled
        assert elapsed < grace
        assert is_refused(port)

        messages = [r["msg"] for r in service.records()]
        assert messages[-1] == "shutdown complete"
        after_start = messages[messages.index("shutdown started") :]
        assert after_start.count("request") == 2  # both logged before the end
        assert_clean_stderr(service)


def test_grace_period_elapsing_exits_1() -> None:
    with start(holding=True, SHUTDOWN_GRACE_SECONDS="1") as service:
        port = service.port()
        stuck = Call(f"http://127.0.0.1:{port}/", {"X-Test-Delay": "60"})
        service.wait_for_line(lambda line: line == "test: holding /", "stderr")
        signalled = time.monotonic()
        service.proc.send_signal(signal.SIGTERM)
        assert service.wait(TIMEOUT) == 1
        elapsed = time.monotonic() - signalled
        assert 1.0 <= elapsed < 6
        record = service.records()[-1]
        assert record["level"] == "error"
        assert (
            record["msg"]
            == "shutdown grace period elapsed with requests still in progress"
        )
        assert record["busy_connections"] == 1
        # The abandoned client sees its connection close, not an answer.
        stuck.join()
        assert stuck.response is None
        assert isinstance(stuck.error, requests.ConnectionError)
        assert_clean_stderr(service)


def test_second_signal_forces_exit_1() -> None:
    with start(holding=True, SHUTDOWN_GRACE_SECONDS="60") as service:
        port = service.port()
        stuck = Call(f"http://127.0.0.1:{port}/", {"X-Test-Delay": "60"})
        service.wait_for_line(lambda line: line == "test: holding /", "stderr")
        service.proc.send_signal(signal.SIGTERM)
        service.wait_for_record("shutdown started")
        signalled = time.monotonic()
        service.proc.send_signal(signal.SIGINT)
        assert service.wait(TIMEOUT) == 1
        assert time.monotonic() - signalled < 5
        record = service.records()[-1]
        assert (record["msg"], record["reason"]) == ("shutdown forced", "SIGINT")
        stuck.join()
        assert_clean_stderr(service)


def test_grace_zero_with_nothing_in_flight_exits_0() -> None:
    with start(SHUTDOWN_GRACE_SECONDS="0") as service:
        service.port()
        service.proc.send_signal(signal.SIGTERM)
        assert service.wait(TIMEOUT) == 0


def test_port_in_use_exits_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with start(PORT=str(port)) as service:
            assert service.wait(TIMEOUT) == 1
            record = service.records()[-1]
            assert (record["level"], record["msg"], record["port"]) == (
                "error",
                "cannot listen",
                port,
            )
            assert_clean_stderr(service)


def test_text_log_format() -> None:
    with start(LOG_FORMAT="text") as service:
        line = service.wait_for_line(lambda text: " INFO listening " in text)
        port = int(line.rsplit("port=", 1)[1].split()[0])
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=TIMEOUT)
        service.wait_for_line(
            lambda text: " INFO request method=GET path=/healthz " in text
        )
        service.proc.send_signal(signal.SIGTERM)
        assert service.wait(TIMEOUT) == 0
        # Messages with spaces are quoted, so every line splits unambiguously.
        assert ' INFO "shutdown complete" duration_ms=' in service.stdout[-1]


def _can_unshare() -> bool:
    try:
        result = subprocess.run(
            ["unshare", "--pid", "--fork", "--kill-child", "true"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _child_pid(parent: int, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    path = f"/proc/{parent}/task/{parent}/children"
    while time.monotonic() < deadline:
        with open(path) as children:
            pids = children.read().split()
        if pids:
            return int(pids[0])
        time.sleep(0.05)
    raise AssertionError("unshare started no child")


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or not _can_unshare(),
    reason="needs Linux PID namespaces (unshare)",
)
def test_sigterm_as_pid_1_exits_0() -> None:
    # As PID 1 of a PID namespace, the process gets only the signals it has
    # handlers for: without ours, SIGTERM would be dropped and the container
    # killed after its timeout.
    argv = [
        "unshare",
        "--pid",
        "--fork",
        "--kill-child",
        sys.executable,
        "-c",
        (
            "import os, runpy; assert os.getpid() == 1;"
            " runpy.run_module('sample_service', run_name='__main__', alter_sys=True)"
        ),
    ]
    with ServiceProcess(child_env(HOST="127.0.0.1", PORT="0"), argv) as service:
        service.wait_for_record("listening")
        os.kill(_child_pid(service.proc.pid), signal.SIGTERM)
        assert service.wait(TIMEOUT) == 0
        assert service.records()[-1]["msg"] == "shutdown complete"
        assert service.stderr == []
