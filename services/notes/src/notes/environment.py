"""What notes reads from the environment, checked before Django starts.

    SECRET_KEY       required: at least 50 characters, 5 of them different
                     (what `check --deploy` asks); never echoed in errors
    ALLOWED_HOSTS    required: host names or addresses the site answers,
                     comma-separated (".example.com" for a domain and its
                     subdomains, "*" for any)
    DEBUG            true or false (default false); never true in production
    NOTES_DATABASE   the SQLite file, on a writable volume (the images say
                     /data/notes.sqlite3; default /tmp/notes.sqlite3 for
                     `bazel run`); its directory must exist

A missing or bad one is a ConfigError naming it: the service and
`python -m notes` exit 2 with it (wsgi_service.config's machinery).
"""

from __future__ import annotations

import os

from wsgi_service.config import ConfigError, Settings, host, load_settings, setting

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

# What `manage.py check --deploy` asks of a key (security.W009).
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE = 5
MAKE_A_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"


def secret_key(raw: str) -> str:
    if (
        len(raw) < SECRET_KEY_MIN_LENGTH
        or len(set(raw)) < SECRET_KEY_MIN_UNIQUE
        or raw.startswith("django-insecure-")
    ):
        raise ValueError(
            f"expected at least {SECRET_KEY_MIN_LENGTH} characters, "
            f"{SECRET_KEY_MIN_UNIQUE} of them different, not django-insecure-...;"
            f" make one with {MAKE_A_KEY}"
        )
    return raw


def allowed_hosts(raw: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in raw.split(","))
    for name in names:
        if name == "*":
            continue
        try:
            host(name.removeprefix(".") if name.startswith(".") else name)
        except ValueError:
            raise ValueError(
                f"{name!r} is not a host name or address; expected names such as"
                " notes.example.com,.example.com,127.0.0.1 (comma-separated)"
            ) from None
    return names


def boolean(raw: str) -> bool:
    value = raw.lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise ValueError("expected true or false")


def database_path(raw: str) -> str:
    if not raw.startswith("/") or raw.endswith("/"):
        raise ValueError(
            "expected the absolute path of a file, like /data/notes.sqlite3"
        )
    directory = os.path.dirname(raw)
    if not os.path.isdir(directory):
        raise ValueError(
            f"its directory {directory} does not exist; mount a writable volume there"
        )
    return raw


# Not in the image, and no default: a deployment gives it (a Secret).
REQUIRED = object()


class NotesSettings(Settings):
    secret_key: str = setting("SECRET_KEY", REQUIRED, secret_key)
    allowed_hosts: tuple[str, ...] = setting("ALLOWED_HOSTS", REQUIRED, allowed_hosts)
    debug: bool = setting("DEBUG", False, boolean)
    database: str = setting("NOTES_DATABASE", "/tmp/notes.sqlite3", database_path)


def load(environ: Mapping[str, str]) -> NotesSettings:
    """The settings, or a ConfigError naming the first missing or bad variable.

    SECRET_KEY's value is never quoted back: an error message goes to logs.
    """
    key = environ.get("SECRET_KEY")
    if key is not None:
        try:
            secret_key(key)
        except ValueError as err:
            raise ConfigError(
                f"SECRET_KEY (its value is not shown) is not allowed: {err}"
            ) from None
    settings = load_settings(NotesSettings, environ)
    for field, what in _MISSING.items():
        if getattr(settings, field) is REQUIRED:
            env = NotesSettings.__settings__[field].env
            raise ConfigError(f"{env} is required and not set: {what}")
    return settings


_MISSING = {
    "secret_key": f"give the site's secret key (a Secret), made with {MAKE_A_KEY}",
    "allowed_hosts": "give the host names the site answers, e.g. notes.example.com",
}
