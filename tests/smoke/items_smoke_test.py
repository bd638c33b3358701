"""HTTP smoke test of an items image on one platform, run the way production runs it.

The container fixture and the checks every service's image must pass (nonroot,
no capabilities, read-only root, the platform's image, clean SIGTERM) are
smoke_test.py's; this file adds what items does: a valid POST and an invalid
one, which run pydantic-core's and orjson's compiled code (for arm64, the
aarch64 builds, under qemu-user), and a GET of the stored item.
"""

from __future__ import annotations

import json

import pytest
import smoke_test
from smoke_test import PLATFORM, REQUEST_TIMEOUT, Reply, Sent, Service, json_reply
from smoke_test import probe, service  # noqa: F401 - the fixtures these tests use

LAMP = {"name": "Zo\u00eb's lamp", "price": "19.99", "tags": ["light"]}


def post_json(service: Service, path: str, body: object) -> Reply:
    """A POST with a JSON body and its own X-Request-ID, recorded in `sent`."""
    request_id = f"smoke-{PLATFORM}-post-{len(service.sent)}"
    try:
        status, headers, data = service.container.exec_http(
            path,
            method="POST",
            headers={"X-Request-ID": request_id, "Content-Type": "application/json"},
            body=json.dumps(body).encode(),
            timeout=REQUEST_TIMEOUT,
        )
    except OSError as err:
        pytest.fail(f"POST {path}: {type(err).__name__}: {err}\n{service.context()}")
    service.sent.append(Sent("POST", path, status, request_id))
    return Reply(status, headers, data)


def test_a_valid_item_is_created_by_the_compiled_code(service: Service) -> None:
    reply = post_json(service, "/items", LAMP)
    assert json_reply(service, reply, 201) == {"id": 1, **LAMP}
    assert reply.headers["Location"] == "/items/1"
    # orjson writes UTF-8 as it is; the standard library's json would escape it.
    assert "Zo\u00eb".encode() in reply.body
    assert reply.headers["Server"] == "items"


def test_an_invalid_item_is_422_with_pydantics_errors(service: Service) -> None:
    reply = post_json(service, "/items", {"name": "", "price": "-1", "colour": "red"})
    body = json_reply(service, reply, 422)
    assert body["error"] == "validation_failed"
    assert [(e["type"], e["loc"]) for e in body["errors"]] == [
        ("string_too_short", ["name"]),
        ("greater_than_equal", ["price"]),
        ("extra_forbidden", ["colour"]),
    ]


def test_the_stored_item_is_answered(service: Service) -> None:
    reply = service.request("/items/1")
    assert json_reply(service, reply, 200) == {"id": 1, **LAMP}
    missing = service.request("/items/2")
    assert json_reply(service, missing, 404) == {
        "error": "not_found",
        "detail": "no item '2'",
    }


def test_healthz(service: Service) -> None:
    assert json_reply(service, service.request("/healthz"), 200) == {"status": "ok"}


# What every service's image must pass, from smoke_test.py; in this order, the
# shutdown last.


def test_runs_as_nonroot_without_capabilities(service: Service) -> None:
    smoke_test.test_runs_as_nonroot_without_capabilities(service)


def test_root_is_read_only_and_tmp_is_a_private_tmpfs(service: Service) -> None:
    smoke_test.test_root_is_read_only_and_tmp_is_a_private_tmpfs(service)


def test_the_process_cannot_write_its_root(probe: dict) -> None:  # noqa: F811
    smoke_test.test_the_process_cannot_write_its_root(probe)


def test_runs_the_platform_image(service: Service, probe: dict) -> None:  # noqa: F811
    smoke_test.test_runs_the_platform_image(service, probe)


def test_access_log_has_one_line_per_request(service: Service) -> None:
    smoke_test.test_access_log_has_one_line_per_request(service)


def test_sigterm_shuts_down_cleanly_within_the_grace_period(service: Service) -> None:
    smoke_test.test_sigterm_shuts_down_cleanly_within_the_grace_period(service)
