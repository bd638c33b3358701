"""The app behind the real server (waitress with the library's listeners) on
127.0.0.1, with a real client and raw sockets."""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from waitress.channel import HTTPChannel

from sample_service.app import create_app
from service_testing import make_runtime
from wsgi_service.app import Runtime
from wsgi_service.config import ServerConfig
from wsgi_service import server as server_module
from wsgi_service.server import Server

TIMEOUT = 10
CONFIG = ServerConfig(host="127.0.0.1", port=0, threads=2, shutdown_grace_seconds=5)


@dataclass
class Live:
    server: Server
    port: int
    log: io.StringIO
    runtime: Runtime

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def records(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.log.getvalue().splitlines()]

    def sample(self, name: str, **labels: str) -> float | None:
        return self.runtime.metrics.registry.get_sample_value(name, labels)


@pytest.fixture
def live() -> Iterator[Live]:
    stream = io.StringIO()
    runtime = make_runtime(config=CONFIG, stream=stream)
    server = Server(create_app(runtime, {}), runtime)
    (address,) = server.addresses
    assert address[0] == "127.0.0.1"
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(server.run()), daemon=True)
    thread.start()
    try:
        yield Live(server, address[1], stream, runtime)
    finally:
        server.request_stop("test teardown")
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "server did not stop"
    assert result == [0]


def raw_exchange(port: int, data: bytes) -> bytes:
    """Send bytes, read until the server closes the connection (or times out)."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(response: bytes) -> int:
    first_line = response.split(b"\r\n", 1)[0]
    assert first_line.startswith(b"HTTP/1."), response[:200]
    return int(first_line.split()[1])


def body_of(response: bytes) -> bytes:
    return response.split(b"\r\n\r\n", 1)[1]


def headers_of(response: bytes) -> dict[str, str]:
    head = response.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")[1:]
    return {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}


def assert_json_error(response: bytes, status: int, error: str) -> dict[str, str]:
    """An answer the server wrote itself, shaped like the app's JSON errors."""
    assert status_of(response) == status, response[:300]
    headers = headers_of(response)
    assert headers["content-type"] == "application/json", headers
    assert headers["cache-control"] == "no-store", headers
    assert headers["x-content-type-options"] == "nosniff", headers
    assert headers["content-length"] == str(len(body_of(response))), headers
    body = json.loads(body_of(response))
    assert set(body) == {"error", "detail"}, body
    assert body["error"] == error, body
    assert body["detail"], body
    return headers


def assert_still_serving(live: Live) -> None:
    reply = requests.get(live.url + "/healthz", timeout=TIMEOUT)
    assert reply.status_code == 200
    assert reply.json() == {"status": "ok"}


# --- normal traffic -------------------------------------------------------------


def test_endpoints_over_the_wire(live: Live) -> None:
    with requests.Session() as session:
        reply = session.get(
            live.url + "/", params={"name": "Zo\u00eb"}, timeout=TIMEOUT
        )
        assert reply.status_code == 200
        assert reply.json() == {"message": "Hello, Zo\u00eb!"}
        assert reply.headers["Content-Type"] == "application/json"
        assert reply.headers["Server"] == "sample_service"
        assert len(reply.headers["X-Request-ID"]) == 32

        assert session.get(live.url + "/healthz", timeout=TIMEOUT).json() == {
            "status": "ok"
        }
        assert session.get(live.url + "/readyz", timeout=TIMEOUT).status_code == 200
        version = session.get(live.url + "/version", timeout=TIMEOUT).json()
        assert version["version"] == "0.0.0-dev"

        metrics = session.get(live.url + "/metrics", timeout=TIMEOUT)
        assert (
            metrics.headers["Content-Type"]
            == "text/plain; version=0.0.4; charset=utf-8"
        )
        assert 'http_requests_total{route="/",status="200"} 1.0' in metrics.text
        assert 'http_requests_total{route="/healthz",status="200"} 1.0' in metrics.text


def test_accepted_connections_send_without_delay(live: Live) -> None:
    # waitress's socket_options (TCP_NODELAY) on every accepted connection:
    # without them Nagle's algorithm and the client's delayed ACK hold each
    # response's body back by 40 ms.
    with socket.create_connection(("127.0.0.1", live.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status_of(sock.recv(65536)) == 200
        channels = [
            c for c in list(live.server._map.values()) if isinstance(c, HTTPChannel)
        ]
        assert channels, "no connection in the server's map"
        for channel in channels:
            nodelay = channel.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            assert nodelay, channel


def test_head_over_the_wire(live: Live) -> None:
    get = requests.get(live.url + "/version", timeout=TIMEOUT)
    head = requests.head(live.url + "/version", timeout=TIMEOUT)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["Content-Length"] == str(len(get.content))
    # And the connection stays usable after a HEAD (no stray body bytes).
    response = raw_exchange(
        live.port,
        b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    first, second = response.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"200")
    assert second.startswith(b"200")
    assert second.endswith(b'{"status":"ok"}')


def test_request_id_round_trip(live: Live) -> None:
    reply = requests.get(
        live.url + "/", headers={"X-Request-ID": "abc-123"}, timeout=TIMEOUT
    )
    assert reply.headers["X-Request-ID"] == "abc-123"
    (record,) = [r for r in live.records() if r["msg"] == "request"]
    assert record["request_id"] == "abc-123"
    assert record["remote"] == "127.0.0.1"


def test_errors_are_json_over_the_wire(live: Live) -> None:
    reply = requests.get(live.url + "/nope", timeout=TIMEOUT)
    assert reply.status_code == 404
    assert reply.json()["error"] == "not_found"
    reply = requests.delete(live.url + "/", timeout=TIMEOUT)
    assert reply.status_code == 405
    assert reply.headers["Allow"] == "GET, HEAD"
    response = raw_exchange(
        live.port, b"GET /bad HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert status_of(response) == 400
    assert json.loads(body_of(response))["error"] == "bad_request"
    reply = requests.get(live.url + "/fail", timeout=TIMEOUT)
    assert reply.status_code == 500
    assert reply.json()["error"] == "internal_error"
    assert_still_serving(live)


def test_body_over_app_limit_is_json_413(live: Live) -> None:
    reply = requests.post(live.url + "/", data=b"x" * 2000, timeout=TIMEOUT)
    assert reply.status_code == 413
    assert reply.json()["error"] == "content_too_large"
    chunked = requests.post(
        live.url + "/", data=iter([b"x" * 1000, b"y" * 1000]), timeout=TIMEOUT
    )
    assert chunked.status_code == 413
    assert_still_serving(live)


# --- malformed and oversized requests ------------------------------------------


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
        b"\x00\x01\x02\x03 / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_malformed_request_is_400_and_server_survives(
    live: Live, request_bytes: bytes
) -> None:
    response = raw_exchange(live.port, request_bytes)
    assert status_of(response) == 400, response[:300]
    assert_json_error(response, 400, "bad_request")
    assert_still_serving(live)


def test_unknown_transfer_encoding_is_501(live: Live) -> None:
    response = raw_exchange(
        live.port, b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"
    )
    assert status_of(response) == 501
    assert_json_error(response, 501, "not_implemented")
    assert_still_serving(live)


def test_server_answers_are_access_logged_and_counted(live: Live) -> None:
    limit = CONFIG.max_request_header_bytes
    padded = b"GET / HTTP/1.1\r\nHost: x\r\nX-Request-ID: big-1\r\nX-Pad: "
    cases = [
        (
            b"GET / HTTP/1.1\r\nX-Request-ID: bad-1\r\nNoColon\r\n\r\n",
            400,
            "bad_request",
        ),
        (padded + b"a" * (limit - len(padded)), 431, "request_header_fields_too_large"),
        (
            b"POST /x HTTP/1.1\r\nHost: x\r\nX-Request-ID: body-1\r\n"
            b"Content-Length: %d\r\n\r\n" % (CONFIG.max_request_body_bytes + 1),
            413,
            "content_too_large",
        ),
        (
            b"GET /y HTTP/1.1\r\nHost: x\r\nX-Request-ID: te-1\r\n"
            b"Transfer-Encoding: gzip\r\n\r\n",
            501,
            "not_implemented",
        ),
    ]
    ids = []
    for request_bytes, status, error in cases:
        headers = assert_json_error(
            raw_exchange(live.port, request_bytes), status, error
        )
        ids.append(headers["x-request-id"])
    # A client's request id survives when the headers could be read.
    assert ids[2:] == ["body-1", "te-1"]
    logged = {r["request_id"]: r for r in live.records() if r["msg"] == "request"}
    for (_, status, _), rid in zip(cases, ids):
        record = logged[rid]
        assert record["status"] == status
        assert record["route"] == "unmatched"
        assert record["remote"] == "127.0.0.1"
        assert record["bytes"] > 0
    assert (logged["body-1"]["method"], logged["body-1"]["path"]) == ("POST", "/x")
    for status in (400, 431, 413, 501):
        counted = live.sample(
            "http_requests_total", route="unmatched", status=str(status)
        )
        assert counted == 1, status


def test_garbage_request_line_is_400(live: Live) -> None:
    assert status_of(raw_exchange(live.port, b"GARBAGE\r\n\r\n")) == 400


def test_invalid_content_length_is_400(live: Live) -> None:
    response = raw_exchange(
        live.port, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"
    )
    assert status_of(response) == 400


def test_oversized_headers_are_431(live: Live) -> None:
    limit = CONFIG.max_request_header_bytes
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: "
    # Exactly the limit and no end of headers: waitress reads all of it before
    # answering, so no unread byte turns the close into a reset.
    request_bytes = head + b"a" * (limit - len(head))
    response = raw_exchange(live.port, request_bytes)
    assert status_of(response) == 431
    assert_json_error(response, 431, "request_header_fields_too_large")
    assert_still_serving(live)


def test_oversized_body_is_413_before_it_is_read(live: Live) -> None:
    size = CONFIG.max_request_body_bytes + 1
    response = raw_exchange(
        live.port,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size,
    )
    assert status_of(response) == 413
    assert_json_error(response, 413, "content_too_large")
    assert_still_serving(live)


def test_long_url_is_414_json(live: Live) -> None:
    target = "/?pad=" + "x" * 2048  # the app's max_url_length
    response = raw_exchange(
        live.port,
        f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(),
    )
    assert status_of(response) == 414
    assert json.loads(body_of(response))["error"] == "uri_too_long"
    assert_still_serving(live)


def test_url_beyond_header_limit_is_431(live: Live) -> None:
    head = b"GET /"
    response = raw_exchange(
        live.port, head + b"x" * (CONFIG.max_request_header_bytes - len(head))
    )
    assert status_of(response) == 431
    assert_still_serving(live)


def test_client_disconnecting_mid_request_is_harmless(live: Live) -> None:
    for partial in (
        b"GET / HT",
        b"GET / HTTP/1.1\r\nHost: x\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nab",
    ):
        with socket.create_connection(
            ("127.0.0.1", live.port), timeout=TIMEOUT
        ) as sock:
            sock.sendall(partial)
    assert_still_serving(live)


def test_proxy_headers_are_not_trusted(live: Live) -> None:
    requests.get(
        live.url + "/",
        headers={"X-Forwarded-For": "203.0.113.9", "Forwarded": "for=203.0.113.9"},
        timeout=TIMEOUT,
    )
    (record,) = [r for r in live.records() if r["msg"] == "request"]
    assert record["remote"] == "127.0.0.1"


def test_stop_closes_listener_and_returns_0() -> None:
    stream = io.StringIO()
    runtime = make_runtime(config=CONFIG, stream=stream, level="info")
    state = runtime.state
    server = Server(create_app(runtime, {}), runtime)
    ((_, port),) = server.addresses
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(server.run()), daemon=True)
    thread.start()
    assert (
        requests.get(f"http://127.0.0.1:{port}/readyz", timeout=TIMEOUT).status_code
        == 200
    )
    server.request_stop("test")
    thread.join(TIMEOUT)
    assert result == [0]
    assert state.shutting_down
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()
    messages = [json.loads(line)["msg"] for line in stream.getvalue().splitlines()]
    assert messages[-2:] == ["shutdown started", "shutdown complete"]


def test_serve_sets_the_switch_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    # The server's request threads give up the interpreter lock at every
    # system call; serve() shortens how long they wait to take it back.
    applied: list[float] = []
    monkeypatch.setattr(server_module.sys, "setswitchinterval", applied.append)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config = ServerConfig(
            host="127.0.0.1", port=taken.getsockname()[1], switch_interval_us=250
        )
        runtime = make_runtime(config=config)
        # The port is taken: serve() stops after applying the setting.
        assert server_module.serve(create_app(runtime, {}), runtime) == 1
    assert applied == [0.00025]
