"""items' WSGI app: POST /items and GET /items/ID, on the shared service library.

POST /items takes a JSON item (application/json) and answers 201 with the
stored item and its Location; a body that is not a valid item is 422 with
pydantic's error details (type, loc, msg, input), a body of another media
type 415. GET /items/ID answers the item, or 404. Validation is pydantic's
(pydantic-core, compiled), the JSON answers orjson's (compiled): the images
of both platforms run their own builds of both.
"""

from __future__ import annotations

import orjson
from pydantic import ValidationError
from wsgi_service.app import Route, ServiceApp, request_body, request_path_params
from wsgi_service.config import load_settings
from wsgi_service.responses import HTTPError, Response

from items.config import ItemsConfig
from items.model import Item, NewItem
from items.store import Store, StoreFull

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from wsgi_service.app import Runtime

    Environ = dict[str, Any]

# Largest item body accepted (413 above it): ten 32-character tags and a
# 100-character name, in any JSON spelling, fit well within it.
MAX_BODY_BYTES = 16 * 1024
JSON = "application/json"


def create_app(runtime: Runtime, environ: Mapping[str, str]) -> ServiceApp:
    """The WSGI app; items' own settings come from environ (ConfigError if bad)."""
    config = load_settings(ItemsConfig, environ)
    store = Store(config.max_items)

    def create(request: Environ) -> Response:
        media_type = request.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        if media_type != JSON:
            raise HTTPError(
                415, "unsupported_media_type", "the body must be application/json"
            )
        try:
            new = NewItem.model_validate_json(request_body(request))
        except ValidationError as error:
            return invalid(error)
        try:
            item = store.add(new)
        except StoreFull as full:
            raise HTTPError(507, "insufficient_storage", str(full)) from None
        return Response(201, dump(item), headers=(("Location", f"/items/{item.id}"),))

    def show(request: Environ) -> Response:
        raw = request_path_params(request)["item_id"]
        # Ids are plain decimal numbers: "01", "+1" and "1_0" name no item.
        plain = len(raw) <= 18 and raw.isascii() and raw.isdigit() and raw[0] != "0"
        item = store.get(int(raw)) if plain else None
        if item is None:
            raise HTTPError(404, "not_found", f"no item {raw[:40]!r}")
        return Response(200, dump(item))

    return ServiceApp(
        runtime,
        {"/items": Route(post=create), "/items/{item_id}": Route(get=show)},
        max_body_bytes=MAX_BODY_BYTES,
    )


def dump(item: Item) -> bytes:
    return orjson.dumps(item.model_dump(mode="json"))


def invalid(error: ValidationError) -> Response:
    """422 with pydantic's own error details (no documentation URLs)."""
    details = error.errors(include_url=False)
    body = {
        "error": "validation_failed",
        "detail": f"the body is not a valid item: {error.error_count()} error(s)",
        "errors": details,
    }
    # ctx may hold an exception object (a failed validator): as its text.
    return Response(422, orjson.dumps(body, default=str))
