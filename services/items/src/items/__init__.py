"""items: a small JSON API of items, validated by pydantic and answered with orjson."""
