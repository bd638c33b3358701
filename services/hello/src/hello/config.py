"""Service configuration, read once from the environment and validated.

Every variable is optional. A bad value raises ConfigError whose text is one line
naming the variable, the value and what is allowed; the entry point prints it and
exits with status 2.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

# Names only type checkers need: importing typing at run time costs start-up time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import TypeVar

    T = TypeVar("T")

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("json", "text")

# Longest value quoted back in an error message, so that one line stays readable.
_MAX_QUOTED = 80


class ConfigError(ValueError):
    """A configuration variable holds a value that is not allowed."""


@dataclass(frozen=True)
class Config:
    """Validated service settings.

    The first six fields come from the environment (upper-case names). The limits
    below them are fixed protections, not settable from the environment: they are
    fields so that the app and the server read the same numbers.
    """

    host: str = "0.0.0.0"
    # 0 asks the OS for a free port; the bound port is logged at start-up.
    port: int = 8080
    threads: int = 4
    log_level: str = "info"
    log_format: str = "json"
    shutdown_grace_seconds: float = 10.0

    # Longest request target (path and query) the app accepts; longer gets 414.
    max_url_length: int = 2048
    # Largest request body the app accepts; no endpoint reads one, so this only
    # exists to answer oversized uploads with a clear 413.
    max_body_bytes: int = 1024
    # Hard caps enforced by waitress before the app sees the request. They sit
    # above the app's limits so that the common cases get the app's JSON answers.
    max_request_header_bytes: int = 16 * 1024
    max_request_body_bytes: int = 64 * 1024
    # Longest accepted ?name= value, in characters.
    max_name_length: int = 64


def load_config(environ: Mapping[str, str]) -> Config:
    """Build a Config from environment variables, raising ConfigError on a bad value."""
    defaults = Config()
    return Config(
        host=_read(environ, "HOST", defaults.host, _parse_host),
        port=_read(environ, "PORT", defaults.port, _parse_port),
        threads=_read(environ, "THREADS", defaults.threads, _parse_threads),
        log_level=_read(environ, "LOG_LEVEL", defaults.log_level, _parse_log_level),
        log_format=_read(environ, "LOG_FORMAT", defaults.log_format, _parse_log_format),
        shutdown_grace_seconds=_read(
            environ,
            "SHUTDOWN_GRACE_SECONDS",
            defaults.shutdown_grace_seconds,
            _parse_grace,
        ),
    )


def _read(
    environ: Mapping[str, str], name: str, default: T, parse: Callable[[str], T]
) -> T:
    """Parse environ[name] if set; an empty value is an error, not a default,
    because it usually means a templating mistake that should not go unnoticed."""
    raw = environ.get(name)
    if raw is None:
        return default
    try:
        return parse(raw)
    except ValueError as err:
        quoted = raw if len(raw) <= _MAX_QUOTED else raw[:_MAX_QUOTED] + "..."
        # repr() keeps the message on one line whatever the value contains.
        raise ConfigError(f"{name}={quoted!r} is not allowed: {err}") from None


def _parse_int(raw: str, low: int, high: int, what: str) -> int:
    # Only plain ASCII digits: int() would also take "+8", " 8", "8_0" and "٨".
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10):
        raise ValueError(what)
    value = int(raw)
    if not low <= value <= high:
        raise ValueError(what)
    return value


def _parse_port(raw: str) -> int:
    return _parse_int(
        raw, 0, 65535, "expected an integer from 0 to 65535 (0 picks a free port)"
    )


def _parse_threads(raw: str) -> int:
    return _parse_int(raw, 1, 64, "expected an integer from 1 to 64")


def _parse_grace(raw: str) -> float:
    what = "expected a number of seconds from 0 to 300, like 10 or 2.5"
    whole, dot, fraction = raw.partition(".")
    # Digits with an optional fractional part; float() would also take
    # "nan", "inf", "1e3" and surrounding spaces.
    digits_ok = whole.isascii() and whole.isdigit() and len(whole) <= 3
    if not digits_ok or (dot and not (fraction.isascii() and fraction.isdigit())):
        raise ValueError(what)
    value = float(raw)
    if value > 300:
        raise ValueError(what)
    return value


def _parse_choice(raw: str, choices: tuple[str, ...]) -> str:
    value = raw.lower()
    if value not in choices:
        raise ValueError(f"expected one of {', '.join(choices)}")
    return value


def _parse_log_level(raw: str) -> str:
    return _parse_choice(raw, LOG_LEVELS)


def _parse_log_format(raw: str) -> str:
    return _parse_choice(raw, LOG_FORMATS)


def _parse_host(raw: str) -> str:
    if _is_ip_literal(raw) or _is_hostname(raw):
        return raw
    raise ValueError("expected an IPv4 or IPv6 address or a hostname")


def _is_ip_literal(value: str) -> bool:
    # inet_pton is strict (no "1.2.3", no leading spaces) and saves importing
    # ipaddress at start-up.
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, value)
        except (OSError, ValueError):
            continue
        return True
    return False


_HOSTNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def _is_hostname(value: str) -> bool:
    """RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens."""
    name = value.removesuffix(".")  # a fully qualified name may end with a dot
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    # An all-numeric last label would be a malformed IPv4 address like "1.2.3".
    if labels[-1].isdigit():
        return False
    return all(_is_label(label) for label in labels)


def _is_label(label: str) -> bool:
    return (
        0 < len(label) <= 63
        and set(label.lower()) <= _HOSTNAME_CHARS
        and not label.startswith("-")
        and not label.endswith("-")
    )
