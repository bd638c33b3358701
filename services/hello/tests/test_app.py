"""Unit tests of hello's app, called directly with hand-made environs: the
greeting, and the routes hello serves through the library."""

from __future__ import annotations

import pytest
from service_testing import Harness, make_harness
from wsgi_service.config import ConfigError

from hello import app as app_module

# --- greeting ------------------------------------------------------------------


def test_greeting_without_name(harness: Harness) -> None:
    reply = harness.request("/")
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {"message": "Hello, world!"}
    assert reply.headers["content-length"] == str(len(reply.body))
    assert reply.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("name=Alice", "Hello, Alice!"),
        ("name=Ada+Lovelace", "Hello, Ada Lovelace!"),
        ("name=Zo%C3%AB", "Hello, Zo\u00eb!"),
        ("name=%E4%B8%96%E7%95%8C", "Hello, \u4e16\u754c!"),
        ("lang=en&name=Bob&x=", "Hello, Bob!"),
        ("name=" + "a" * 64, "Hello, " + "a" * 64 + "!"),
        ("name=%F0%9F%98%80", "Hello, \U0001f600!"),
        ("other=1", "Hello, world!"),
    ],
)
def test_greeting_with_name(harness: Harness, query: str, expected: str) -> None:
    reply = harness.request("/", query=query)
    assert reply.status == 200, reply.body
    assert reply.json() == {"message": expected}
    assert reply.body.isascii()


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("name=" + "a" * 65, "must be at most 64 characters"),
        ("name=" + "%C3%A9" * 65, "must be at most 64 characters"),
        ("name=a%07b", "printable characters only"),
        ("name=a%0Ab", "printable characters only"),
        ("name=a%00", "printable characters only"),
        ("name=a%E2%80%8Bb", "printable characters only"),  # zero-width space
        ("name=%1B%5B31m", "printable characters only"),  # terminal escape
        ("name=%ZZ", "not valid percent-encoded UTF-8"),
        ("name=abc%4", "not valid percent-encoded UTF-8"),
        ("name=abc%", "not valid percent-encoded UTF-8"),
        ("name=%FF", "not valid percent-encoded UTF-8"),
        ("name=%C3", "not valid percent-encoded UTF-8"),
        ("name=%ED%A0%80", "not valid percent-encoded UTF-8"),  # a surrogate
        ("other=%G1&name=ok", "not valid percent-encoded UTF-8"),
        ("name=a&name=b", "at most once"),
        ("name=", "must not be empty"),
        ("name", "must not be empty"),
        ("name=+++", "must not be empty"),
    ],
)
def test_bad_names_are_400(harness: Harness, query: str, detail: str) -> None:
    reply = harness.request("/", query=query)
    assert reply.status == 400
    body = reply.json()
    assert body["error"] == "bad_request"
    assert detail in body["detail"]
    assert reply.headers["content-type"] == "application/json"


def test_query_text_that_is_not_bytes_is_400(harness: Harness) -> None:
    # WSGI query strings are latin-1 text; a code point above 255 is not a byte.
    reply = harness.request("/", query="name=\u4e16")
    assert reply.status == 400


def test_percent_decode_is_strict() -> None:
    assert app_module.percent_decode("a+b%20c%2B") == "a b c+"
    for bad in ("%", "%2", "%x1", "% 1", "%C3%28"):
        with pytest.raises(ValueError):
            app_module.percent_decode(bad)


# --- the routes hello serves -----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [("/healthz", 200), ("/readyz", 200), ("/version", 200), ("/metrics", 200)],
)
def test_standard_routes(harness: Harness, path: str, status: int) -> None:
    assert harness.request(path).status == status


def test_greeting_allows_get_and_head_only(harness: Harness) -> None:
    # The library checks methods and paths (its own tests cover them all).
    reply = harness.request("/", method="POST")
    assert (reply.status, reply.headers["allow"]) == (405, "GET, HEAD")
    assert harness.request("/greeting").status == 404


@pytest.mark.parametrize(
    ("query", "status"), [("name=Ann", 200), ("name=%FF", 400), ("", 200)]
)
def test_head_is_get_without_body(harness: Harness, query: str, status: int) -> None:
    head = harness.request("/", method="HEAD", query=query)
    get = harness.request("/", query=query)
    assert head.status == get.status == status
    assert head.body == b""
    assert head.headers["content-length"] == str(len(get.body))


def test_metrics_count_greetings_and_name_the_build(harness: Harness) -> None:
    for _ in range(3):
        harness.request("/")
    harness.request("/", query="name=%FF")
    page = harness.request("/metrics").body.decode()
    assert 'http_requests_total{route="/",status="200"} 3.0' in page.splitlines()
    assert 'http_requests_total{route="/",status="400"} 1.0' in page.splitlines()
    assert (
        'hello_build_info{revision="unknown",version="0.0.0-dev"} 1.0'
        in page.splitlines()
    )


# --- hello's own settings ----------------------------------------------------------


def test_max_name_length_is_a_setting() -> None:
    harness = make_harness(
        app_module.create_app, "hello", environ={"MAX_NAME_LENGTH": "3"}
    )
    assert harness.request("/", query="name=Bob").json() == {"message": "Hello, Bob!"}
    reply = harness.request("/", query="name=Bobby")
    assert (
        reply.json()["detail"] == "query parameter 'name' must be at most 3 characters"
    )


@pytest.mark.parametrize("raw", ["0", "1025", "", "ten"])
def test_bad_max_name_length_is_a_config_error(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_harness(app_module.create_app, "hello", environ={"MAX_NAME_LENGTH": raw})
    assert str(caught.value) == (
        f"MAX_NAME_LENGTH={raw!r} is not allowed: expected an integer from 1 to 1024"
    )
