"""Hostile clients cannot take a service down (connections.py).

The test service runs as a child process with at most 1024 open files, as
containers commonly run; the clients are raw sockets on 127.0.0.1. Every
client loop is bounded in count and time.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import resource
import socket
import sys
import time
from collections.abc import Iterator

import pytest
import requests
from service_testing import ServiceProcess, child_env
from wsgi_service.connections import RESERVED_FDS

TIMEOUT = 15
CONTAINER_NOFILE = 1024
HALF_REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n"


def _raise_own_open_files_limit(wanted: int) -> bool:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return True
    if hard != resource.RLIM_INFINITY and hard < wanted:
        return False
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return True


# The clients hold up to 2,000 sockets in this process.
pytestmark = pytest.mark.skipif(
    not _raise_own_open_files_limit(4096),
    reason="this test process may not open 4096 files",
)


def _container_open_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (CONTAINER_NOFILE, CONTAINER_NOFILE))


@contextlib.contextmanager
def service(**env: str) -> Iterator[tuple[ServiceProcess, int]]:
    settings = {"HOST": "127.0.0.1", "PORT": "0", **env}
    with ServiceProcess(
        child_env(**settings),
        [sys.executable, "-m", "sample_service"],
        preexec_fn=_container_open_files,
    ) as process:
        yield process, process.port()


@contextlib.contextmanager
def half_open(port: int, count: int, data: bytes = HALF_REQUEST) -> Iterator[list]:
    """`count` connections that each send `data` (not a whole request) and wait."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            sock.sendall(data)
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def closed_by_server(sock: socket.socket, timeout: float = 0.0) -> bool:
    """Whether the server closed the connection (EOF or reset) within `timeout`."""
    sock.settimeout(timeout) if timeout else sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except (BlockingIOError, TimeoutError):
        return False
    except ConnectionResetError:
        return True


def get(port: int, path: str, timeout: float = TIMEOUT) -> requests.Response:
    return requests.get(f"http://127.0.0.1:{port}{path}", timeout=timeout)


def proc_status(pid: int, key: str) -> str:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name == key:
                return value.strip()
    raise AssertionError(f"no {key} in /proc/{pid}/status")


def rss_bytes(pid: int) -> int:
    value, unit = proc_status(pid, "VmRSS").split()
    assert unit == "kB"
    return int(value) * 1024


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_healthz_answers_within_1s_with_1000_half_open_connections() -> None:
    with service() as (process, port):
        assert get(port, "/healthz").status_code == 200
        with half_open(port, 1000) as sockets:
            started = time.monotonic()
            reply = get(port, "/healthz", timeout=5)
            elapsed = time.monotonic() - started
            assert (reply.status_code, reply.json()) == (200, {"status": "ok"})
            assert elapsed < 1.0, f"/healthz took {elapsed:.2f} s"
            # The cap holds: the oldest half-open connections made room.
            assert open_fds(process.proc.pid) <= CONTAINER_NOFILE
            record = process.wait_for_record("connections dropped")
            assert record["level"] == "warning"
            assert record["shed"] >= 1000 - 900
            assert record["max_connections"] == 900
            assert closed_by_server(sockets[0], timeout=5)
            page = get(port, "/metrics").text
            assert 'http_connections_dropped_total{reason="shed"}' in page
        assert process.proc.poll() is None


def test_slowloris_is_dropped_at_the_header_deadline() -> None:
    deadline = 1.0
    with service(REQUEST_HEADER_TIMEOUT_SECONDS=str(deadline)) as (process, port):
        silent = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        slow = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        started = time.monotonic()
        slow.sendall(b"GET / HTTP/1.1\r\n")
        dropped_at = None
        # A byte every 0.2 s keeps the connection busy but never finishes the
        # headers; within 5 s of a 1 s deadline the server must have hung up.
        while time.monotonic() - started < 5:
            try:
                slow.sendall(b"X")
            except OSError:
                dropped_at = time.monotonic() - started
                break
            if closed_by_server(slow, timeout=0.2):
                dropped_at = time.monotonic() - started
                break
        assert dropped_at is not None, "the slow client kept its connection"
        assert dropped_at >= deadline
        assert closed_by_server(silent, timeout=5)
        record = process.wait_for_record("connections dropped")
        assert record["header_timeout"] >= 1
        # Clients that send their request in time are served as before.
        assert get(port, "/healthz").status_code == 200
        silent.close()
        slow.close()


def test_the_deadline_does_not_cut_an_idle_kept_alive_connection() -> None:
    with service(REQUEST_HEADER_TIMEOUT_SECONDS="1") as (_, port):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        connection.request("GET", "/healthz")
        assert connection.getresponse().read() == b'{"status":"ok"}'
        # Idle between requests for longer than the header deadline: the
        # idle timeout (75 s) governs, not the deadline.
        time.sleep(2.5)
        connection.request("GET", "/?name=again")
        reply = connection.getresponse()
        assert (reply.status, reply.read()) == (200, b'{"message":"Hello, again!"}')
        connection.close()


def test_shedding_spares_kept_alive_and_busy_connections() -> None:
    with service(MAX_CONNECTIONS="5", THREADS="2") as (process, port):
        kept = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        kept.request("GET", "/healthz")
        assert kept.getresponse().read() == b'{"status":"ok"}'
        busy = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        busy.request("GET", "/?name=Busy", headers={"X-Test-Delay": "3"})
        process.wait_for_line(lambda line: line == "test: holding /", "stderr")
        with half_open(port, 3) as (first, second, third):
            # Five open: the next client makes the oldest half-open one go.
            assert get(port, "/healthz").status_code == 200
            assert closed_by_server(first, timeout=5)
            assert not closed_by_server(second, timeout=0.5)
            # Five open again (that client has gone): the next one is second.
            with half_open(port, 1) as (fourth,):
                assert get(port, "/healthz").status_code == 200
                assert closed_by_server(second, timeout=5)
                assert not closed_by_server(third)
                assert not closed_by_server(fourth)
        # The request in progress was answered, and the kept-alive
        # connection still works.
        reply = busy.getresponse()
        assert (reply.status, reply.read()) == (200, b'{"message":"Hello, Busy!"}')
        kept.request("GET", "/healthz")
        assert kept.getresponse().status == 200
        kept.close()
        busy.close()


def test_at_the_cap_with_every_connection_busy_new_clients_wait() -> None:
    with service(MAX_CONNECTIONS="2", THREADS="2") as (process, port):
        held = []
        for name in ("One", "Two"):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
            connection.request("GET", f"/?name={name}", headers={"X-Test-Delay": "2"})
            held.append(connection)
        process.wait_for_line(
            lambda line: line == "test: holding /" and len(process.stderr) >= 2,
            "stderr",
        )
        # Nothing can be shed: this client waits in the backlog, then is served.
        assert get(port, "/healthz").status_code == 200
        for connection, name in zip(held, ("One", "Two")):
            reply = connection.getresponse()
            assert reply.read() == b'{"message":"Hello, %s!"}' % name.encode()
            connection.close()


def test_memory_and_descriptors_stay_bounded() -> None:
    cap = 200
    header_limit = 16 * 1024
    # Headers that are large but not complete: each connection holds them.
    filler = HALF_REQUEST + b"X-Pad: " + b"a" * (12 * 1024)
    with service(MAX_CONNECTIONS=str(cap)) as (process, port):
        pid = process.proc.pid
        assert get(port, "/healthz").status_code == 200
        before = rss_bytes(pid)
        bound = cap * (header_limit + 64 * 1024)
        for _ in range(3):
            # Five times the cap per wave: the server holds at most the cap.
            with half_open(port, 5 * cap, filler):
                assert get(port, "/healthz").status_code == 200
                assert open_fds(pid) <= cap + RESERVED_FDS
                grown = rss_bytes(pid) - before
                assert grown <= bound, f"RSS grew {grown} bytes, bound {bound}"
        assert process.proc.poll() is None
