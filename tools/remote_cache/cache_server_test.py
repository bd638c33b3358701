"""The cache server speaks Bazel's HTTP cache protocol, misbehaves on request,
says clearly what is wrong, and never outlives whoever started it."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import cache_server
import pytest
from cache_server import CacheServer, CacheServerError, free_port
from two_clones import read_execution_log

BLOB = b"an action's output\n"
KEY = hashlib.sha256(BLOB).hexdigest()


def request(url: str, method: str = "GET", data: bytes | None = None) -> int:
    """The HTTP status of one request (the body of a 200 is checked by get())."""
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data=data, method=method), timeout=10
        ) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def error_body(url: str, method: str = "GET", data: bytes | None = None) -> bytes:
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(
            urllib.request.Request(url, data=data, method=method), timeout=10
        )
    return bytes(raised.value.read())


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return bytes(response.read())


def refuses_connections(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def wait_until_closed(port: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not refuses_connections(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture
def server() -> Iterator[CacheServer]:
    with CacheServer() as started:
        yield started


def test_stores_and_serves_blobs_and_action_results(server: CacheServer) -> None:
    assert request(f"{server.url}/cas/{KEY}") == 404  # A miss is a 404.
    assert request(f"{server.url}/cas/{KEY}", "PUT", BLOB) in (201, 204)
    assert get(f"{server.url}/cas/{KEY}") == BLOB
    assert request(f"{server.url}/ac/{KEY}", "PUT", b"result") in (201, 204)
    assert get(f"{server.url}/ac/{KEY}") == b"result"
    # Bazel's --remote_cache=http://host:port/PREFIX puts keys under PREFIX.
    assert request(f"{server.url}/team-a/cas/{KEY}", "PUT", BLOB) in (201, 204)
    assert get(f"{server.url}/team-a/cas/{KEY}") == BLOB
    assert (server.storage / "cas" / KEY).read_bytes() == BLOB
    server.stop()
    traffic = server.traffic()
    assert (traffic.hits, traffic.misses, traffic.uploads) == (3, 1, 3)
    assert traffic.bytes_served == 2 * len(BLOB) + len(b"result")
    assert traffic.bytes_stored == traffic.bytes_served
    assert traffic.errors == 0


def test_serves_nothing_but_cache_keys(server: CacheServer) -> None:
    assert request(f"{server.url}/") == 404
    assert request(f"{server.url}/cas/../state/nginx.conf") == 404
    assert request(f"{server.url}/cas/not-a-sha256", "PUT", BLOB) == 404
    assert request(f"{server.url}/cas/{KEY}", "DELETE") == 403
    assert request(f"{server.url}/cas/{KEY}", "MKCOL") == 403
    assert not (server.storage / "cas" / "not-a-sha256").exists()


def test_listens_on_loopback_only(server: CacheServer) -> None:
    config = (server.state / "nginx.conf").read_text()
    assert re.findall(r"listen (\S+);", config) == [f"127.0.0.1:{server.port}"]


def test_read_only_mode_serves_but_refuses_uploads(tmp_path: Path) -> None:
    (tmp_path / "cas").mkdir()
    (tmp_path / "cas" / KEY).write_bytes(BLOB)
    with CacheServer(storage=tmp_path, mode="read-only") as server:
        assert get(f"{server.url}/cas/{KEY}") == BLOB
        assert request(f"{server.url}/ac/{KEY}", "PUT", b"result") == 403
        assert not (tmp_path / "ac" / KEY).exists()
        # Bazel quotes the answer in its warning: it says what is going on.
        body = error_body(f"{server.url}/ac/{KEY}", "PUT", b"result")
        assert body == b"read-only cache: uploads are refused\n"
    assert server.traffic().errors == 2


def test_error_mode_answers_500_to_everything() -> None:
    with CacheServer(mode="error") as server:
        assert request(f"{server.url}/cas/{KEY}") == 500
        assert request(f"{server.url}/cas/{KEY}", "PUT", BLOB) == 500
        assert b"error mode" in error_body(f"{server.url}/cas/{KEY}")
    assert server.traffic().errors == 3


def test_storage_dir_outlives_the_server_and_temp_storage_does_not(
    tmp_path: Path,
) -> None:
    with CacheServer(storage=tmp_path / "store") as server:
        assert request(f"{server.url}/cas/{KEY}", "PUT", BLOB) in (201, 204)
        temporary = server.state
        port = server.port
    assert not temporary.exists()
    assert refuses_connections(port)
    with CacheServer(storage=tmp_path / "store") as again:
        assert get(f"{again.url}/cas/{KEY}") == BLOB
    with CacheServer() as fresh:
        assert request(f"{fresh.url}/cas/{KEY}") == 404
        temporary_storage = fresh.storage
    assert not temporary_storage.exists()


def test_busy_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CacheServerError, match=f"port {port} .* already in use"):
            CacheServer(port=port).start()


def test_missing_nginx_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NGINX", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(cache_server, "DEFAULT_NGINX", "/nonexistent/nginx")
    with pytest.raises(CacheServerError, match="nginx is not installed"):
        CacheServer().start()
    monkeypatch.setenv("NGINX", "/nonexistent/nginx")
    with pytest.raises(CacheServerError, match="NGINX=/nonexistent/nginx is not"):
        CacheServer().start()


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(CacheServerError, match="mode 'flaky' is not one of"):
        CacheServer(mode="flaky")


def test_nginx_stops_when_its_parent_is_killed(tmp_path: Path) -> None:
    """SIGKILL leaves no finally to run: the parent-death signal stops nginx."""
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(f"""
            import sys, time
            sys.path[:0] = {sys.path!r}
            from cache_server import CacheServer
            server = CacheServer()
            server.start()
            print(server.port, flush=True)
            time.sleep(600)
            """))
    parent = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        port = int(parent.stdout.readline())
        assert not refuses_connections(port)
    finally:
        parent.kill()
        parent.wait()
    assert wait_until_closed(port), f"nginx still listens on {port}"


# ---------------------------------------------------------------------------
# bazel run //tools/remote_cache:serve


def start_serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [os.environ["SERVE"], *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until_ready(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    printed = ""
    while "Ctrl-C stops it." not in printed:
        line = process.stdout.readline()
        assert line, f"serve exited early: {printed}{process.communicate()}"
        printed += line
    return printed


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_serve_prints_the_line_to_use_and_stops_cleanly(
    tmp_path: Path, signum: int
) -> None:
    port = free_port()
    process = start_serve("--port", str(port), "--dir", str(tmp_path))
    try:
        printed = read_until_ready(process)
        url = f"http://127.0.0.1:{port}"
        assert f"common:remote-cache-endpoint --remote_cache={url}\n" in printed
        assert f"--config=remote-cache-settings --remote_cache={url}" in printed
        assert f"storage: {tmp_path} (kept after exit)" in printed
        assert request(f"{url}/cas/{KEY}", "PUT", BLOB) in (201, 204)
        assert get(f"{url}/cas/{KEY}") == BLOB
        process.send_signal(signum)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "served 1 hits" in out and "stored 1 uploads" in out
    assert refuses_connections(port)
    assert (tmp_path / "cas" / KEY).read_bytes() == BLOB


def test_serve_on_a_busy_port_says_so() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = start_serve("--port", str(port))
        out, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert f"serve: error: port {port} on 127.0.0.1 is already in use" in err
    assert out == ""


def test_serve_rejects_a_bad_port() -> None:
    process = start_serve("--port", "70000")
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "--port 70000 is not a port number" in err


# ---------------------------------------------------------------------------
# two_clones.read_execution_log: Bazel 7's JSON execution log.


def test_reads_bazel_json_execution_log(tmp_path: Path) -> None:
    log = tmp_path / "exec.json"
    log.write_text(
        '{\n  "commandArgs": ["python3"],\n  "mnemonic": "OciLayer",\n'
        '  "runner": "remote cache hit",\n  "remoteCacheHit": true,\n'
        '  "cacheable": true,\n  "targetLabel": "//images:a",\n'
        '  "actualOutputs": [{"path": "bazel-out/k8/bin/images/a.tar.gz"}]\n}'
        '{\n  "mnemonic": "OciImage",\n  "runner": "linux-sandbox",\n'
        '  "cacheable": true,\n  "targetLabel": "//images:b",\n'
        '  "listedOutputs": ["bazel-out/k8/bin/images/b"]\n}\n'
    )
    hit, ran = read_execution_log(log)
    assert (hit.mnemonic, hit.remote_cache_hit, hit.ran_locally) == (
        "OciLayer",
        True,
        False,
    )
    assert hit.output == "bazel-out/k8/bin/images/a.tar.gz"
    assert (ran.runner, ran.ran_locally, ran.output) == (
        "linux-sandbox",
        True,
        "bazel-out/k8/bin/images/b",
    )
