"""hello's own settings, read from the environment like the server's
(wsgi_service.config): a bad value is a ConfigError naming the variable."""

from __future__ import annotations

from wsgi_service.config import Settings, integer, setting


class HelloConfig(Settings):
    # Longest accepted ?name= value, in characters.
    max_name_length: int = setting("MAX_NAME_LENGTH", 64, integer(1, 1024))
