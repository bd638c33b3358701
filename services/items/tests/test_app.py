"""Unit tests of items' app, called directly with hand-made environs: validation
(pydantic), answers (orjson), the store and items' own settings."""

from __future__ import annotations

import json

import pytest
from service_testing import Harness, make_harness
from wsgi_service.config import ConfigError

from items import app as app_module

JSON = {"Content-Type": "application/json"}
WIDGET = {"name": "widget", "price": "12.50", "tags": ["tools", "blue"]}


def post(harness: Harness, body: object, headers: dict[str, str] = JSON):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return harness.request("/items", method="POST", headers=headers, body=data)


# --- POST /items -----------------------------------------------------------------


def test_a_valid_item_is_stored_and_answered_201(harness: Harness) -> None:
    reply = post(harness, WIDGET)
    assert reply.status == 201
    assert reply.reason == "Created"
    assert reply.json() == {
        "id": 1,
        "name": "widget",
        "price": "12.50",
        "tags": ["tools", "blue"],
    }
    assert reply.headers["location"] == "/items/1"
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["content-length"] == str(len(reply.body))
    # orjson's compact bytes.
    assert (
        reply.body
        == b'{"name":"widget","price":"12.50","tags":["tools","blue"],"id":1}'
    )
    second = post(harness, {"name": "  gadget ", "price": 3})
    assert second.json() == {"id": 2, "name": "gadget", "price": "3", "tags": []}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"price": "1.00"},
            [
                {
                    "type": "missing",
                    "loc": ["name"],
                    "msg": "Field required",
                    "input": {"price": "1.00"},
                }
            ],
        ),
        (
            {"name": "x", "price": -1},
            [
                {
                    "type": "greater_than_equal",
                    "loc": ["price"],
                    "msg": "Input should be greater than or equal to 0",
                    "input": -1,
                    "ctx": {"ge": "0"},
                }
            ],
        ),
        (
            {"name": "x", "price": "1.005"},
            [
                {
                    "type": "decimal_max_places",
                    "loc": ["price"],
                    "msg": "Decimal input should have no more than 2 decimal places",
                    "input": "1.005",
                    "ctx": {"decimal_places": 2},
                }
            ],
        ),
        (
            {"name": "x", "price": 1, "colour": "red"},
            [
                {
                    "type": "extra_forbidden",
                    "loc": ["colour"],
                    "msg": "Extra inputs are not permitted",
                    "input": "red",
                }
            ],
        ),
        (
            {"name": "x", "price": 1, "tags": ["ok", ""]},
            [
                {
                    "type": "string_too_short",
                    "loc": ["tags", 1],
                    "msg": "String should have at least 1 character",
                    "input": "",
                    "ctx": {"min_length": 1},
                }
            ],
        ),
    ],
)
def test_an_invalid_item_is_422_with_pydantics_errors(
    harness: Harness, body: dict, expected: list[dict]
) -> None:
    reply = post(harness, body)
    assert reply.status == 422
    assert reply.reason == "Unprocessable Content"
    answer = reply.json()
    assert answer["error"] == "validation_failed"
    assert answer["detail"] == f"the body is not a valid item: {len(expected)} error(s)"
    assert answer["errors"] == expected
    assert "location" not in reply.headers
    # Nothing was stored: the next valid item is still the first.
    assert post(harness, WIDGET).json()["id"] == 1


@pytest.mark.parametrize("body", [b"", b"{", b"[1, 2]", b'"widget"', b"\xff\xfe"])
def test_a_body_that_is_no_json_object_is_422(harness: Harness, body: bytes) -> None:
    reply = post(harness, body)
    assert reply.status == 422
    (error,) = reply.json()["errors"]
    assert error["type"] in ("json_invalid", "model_type"), error


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded"]
)
def test_a_body_of_another_media_type_is_415(
    harness: Harness, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    reply = post(harness, WIDGET, headers=headers)
    assert reply.status == 415
    assert reply.json() == {
        "error": "unsupported_media_type",
        "detail": "the body must be application/json",
    }


def test_json_with_a_charset_is_json(harness: Harness) -> None:
    reply = post(
        harness, WIDGET, headers={"Content-Type": "Application/JSON; charset=utf-8"}
    )
    assert reply.status == 201


def test_a_body_over_16_kib_is_413(harness: Harness) -> None:
    reply = post(harness, {"name": "x" * (16 * 1024), "price": 1})
    assert reply.status == 413


def test_items_is_post_only_and_an_item_get_only(harness: Harness) -> None:
    reply = harness.request("/items")
    assert (reply.status, reply.headers["allow"]) == (405, "POST")
    post(harness, WIDGET)
    reply = harness.request("/items/1", method="DELETE")
    assert (reply.status, reply.headers["allow"]) == (405, "GET, HEAD")


# --- GET /items/ID ---------------------------------------------------------------


def test_a_stored_item_is_answered(harness: Harness) -> None:
    created = post(harness, WIDGET).json()
    reply = harness.request("/items/1")
    assert (reply.status, reply.json()) == (200, created)
    head = harness.request("/items/1", method="HEAD")
    assert (head.status, head.body) == (200, b"")


@pytest.mark.parametrize("item_id", ["2", "0", "01", "+1", "1_0", "x", "9" * 40])
def test_an_unknown_item_is_404(harness: Harness, item_id: str) -> None:
    post(harness, WIDGET)
    reply = harness.request(f"/items/{item_id}")
    assert reply.status == 404
    assert reply.json() == {"error": "not_found", "detail": f"no item {item_id[:40]!r}"}


def test_metrics_count_by_route_template(harness: Harness) -> None:
    post(harness, WIDGET)
    post(harness, {"name": ""})
    for _ in range(2):
        harness.request("/items/1")
    harness.request("/items/7")
    assert harness.sample("http_requests_total", route="/items", status="201") == 1
    assert harness.sample("http_requests_total", route="/items", status="422") == 1
    assert (
        harness.sample("http_requests_total", route="/items/{item_id}", status="200")
        == 2
    )
    assert (
        harness.sample("http_requests_total", route="/items/{item_id}", status="404")
        == 1
    )


# --- settings -----------------------------------------------------------------------


def test_a_full_store_is_507() -> None:
    harness = make_harness(app_module.create_app, "items", environ={"MAX_ITEMS": "2"})
    assert [post(harness, WIDGET).status for _ in range(2)] == [201, 201]
    reply = post(harness, WIDGET)
    assert reply.status == 507
    assert reply.json() == {
        "error": "insufficient_storage",
        "detail": "the store holds 2 items, its maximum",
    }
    assert harness.request("/items/2").status == 200


@pytest.mark.parametrize("raw", ["0", "1000001", "", "many"])
def test_bad_max_items_is_a_config_error(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_harness(app_module.create_app, "items", environ={"MAX_ITEMS": raw})
    assert str(caught.value) == (
        f"MAX_ITEMS={raw!r} is not allowed: expected an integer from 1 to 1000000"
    )
