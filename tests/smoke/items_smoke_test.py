"""What items' smoke tests check beyond its entry in the table, on one platform.

Runs after smoke_test.py (the table's requests and every service's checks),
on a container of its own, with its fixture: the details of pydantic's 422
and the bytes orjson writes, both from compiled code built for the image's
platform (arm64's aarch64 builds run under qemu-user).
"""

from __future__ import annotations

import json

from smoke_test import Service, json_reply
from smoke_test import service  # noqa: F401 - the fixture these tests use

LAMP = {"name": "Zo\u00eb's lamp", "price": "19.99", "tags": ["light"]}


def post_json(service: Service, body: object):
    return service.request(
        "/items",
        method="POST",
        body=json.dumps(body).encode(),
        content_type="application/json",
    )


def test_orjson_writes_utf8_as_it_is(service: Service) -> None:  # noqa: F811
    reply = post_json(service, LAMP)
    assert json_reply(service, reply, 201) == {"id": 1, **LAMP}
    # The standard library's json would escape it as \u00eb.
    assert "Zo\u00eb".encode() in reply.body


def test_an_invalid_item_is_422_with_pydantics_errors(
    service: Service,  # noqa: F811
) -> None:
    reply = post_json(service, {"name": "", "price": "-1", "colour": "red"})
    body = json_reply(service, reply, 422)
    assert body["error"] == "validation_failed"
    assert body["detail"] == "the body is not a valid item: 3 error(s)"
    assert [(e["type"], e["loc"]) for e in body["errors"]] == [
        ("string_too_short", ["name"]),
        ("greater_than_equal", ["price"]),
        ("extra_forbidden", ["colour"]),
    ]
    assert all("url" not in e for e in body["errors"]), body
