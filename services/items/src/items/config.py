"""items' own settings, read from the environment like the server's
(wsgi_service.config): a bad value is a ConfigError naming the variable."""

from __future__ import annotations

from wsgi_service.config import Settings, integer, setting


class ItemsConfig(Settings):
    # How many items the in-memory store holds; past it, POST /items is 507.
    max_items: int = setting("MAX_ITEMS", 10_000, integer(1, 1_000_000))
