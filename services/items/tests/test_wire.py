"""items behind the real server (waitress with the library's listeners) on
127.0.0.1, called by a real client: the bodies and headers as they travel."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator

import pytest
import requests
from service_testing import make_runtime
from wsgi_service.config import ServerConfig
from wsgi_service.server import Server

from items.app import create_app

TIMEOUT = 10
CONFIG = ServerConfig(host="127.0.0.1", port=0, threads=2, shutdown_grace_seconds=5)


@pytest.fixture
def url() -> Iterator[str]:
    runtime = make_runtime("items", config=CONFIG, stream=io.StringIO())
    server = Server(create_app(runtime, {}), runtime)
    (address,) = server.addresses
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(server.run()), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{address[1]}"
    finally:
        server.request_stop("test teardown")
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "server did not stop"
    assert result == [0]


def test_post_then_get_over_the_wire(url: str) -> None:
    created = requests.post(
        url + "/items",
        json={"name": "Zoë's lamp", "price": 19.99, "tags": ["light"]},
        timeout=TIMEOUT,
    )
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == "/items/1"
    assert created.headers["Content-Type"] == "application/json"
    assert created.json() == {
        "id": 1,
        "name": "Zoë's lamp",
        "price": "19.99",
        "tags": ["light"],
    }
    fetched = requests.get(url + created.headers["Location"], timeout=TIMEOUT)
    assert (fetched.status_code, fetched.json()) == (200, created.json())
    # UTF-8 as orjson writes it, not \\u escapes.
    assert "Zoë".encode() in fetched.content


def test_an_invalid_body_is_422_over_the_wire(url: str) -> None:
    reply = requests.post(
        url + "/items", json={"name": "x", "price": "free"}, timeout=TIMEOUT
    )
    assert reply.status_code == 422
    assert reply.reason == "Unprocessable Content"
    (error,) = reply.json()["errors"]
    assert (error["type"], error["loc"], error["input"]) == (
        "decimal_parsing",
        ["price"],
        "free",
    )
    broken = requests.post(
        url + "/items",
        data=b'{"name": "x", "price":',
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["type"] == "json_invalid"


def test_a_chunked_or_oversized_body_is_refused_over_the_wire(url: str) -> None:
    big = requests.post(
        url + "/items", json={"name": "x" * 20000, "price": 1}, timeout=TIMEOUT
    )
    assert big.status_code == 413
    form = requests.post(url + "/items", data={"name": "x"}, timeout=TIMEOUT)
    assert form.status_code == 415
