"""Settings, read once from the environment into frozen objects and validated.

A settings class subclasses Settings and declares its fields with
`NAME: type = setting(ENV_NAME, default, parse)`; `load_settings(cls,
environ)` reads each one. Every variable is optional. A bad value raises
ConfigError whose text is one line naming the variable, the value and what
is allowed; the entry point prints it and exits with status 2. ServerConfig
holds what every service has; a service declares its own settings the same
way.

Settings is a frozen dataclass in all but name: keyword construction,
equality, repr, no assignment. It is not one because the dataclasses module
(and inspect, ast and dis, which it imports) cost a service about 8 ms of
its start-up, a sixth of the imports before its first request.
"""

from __future__ import annotations

import socket

# Names only type checkers need: importing typing at run time costs start-up time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any, TypeVar

    T = TypeVar("T")
    S = TypeVar("S")

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("json", "text")

# Longest value quoted back in an error message, so that one line stays readable.
_MAX_QUOTED = 80


class ConfigError(ValueError):
    """A configuration variable holds a value that is not allowed."""


class FrozenSettingsError(AttributeError):
    """Settings are read once; assigning to one is a mistake."""


class Setting:
    """A field of a Settings class, read from the environment variable `env`."""

    __slots__ = ("default", "env", "name", "parse")

    def __init__(self, env: str, default: Any, parse: Callable[[str], Any]) -> None:
        self.env = env
        self.default = default
        self.parse = parse
        self.name = ""  # Set by the class that declares it.


def setting(env: str, default: T, parse: Callable[[str], T]) -> Any:
    """A field of a Settings class read from the environment variable `env`."""
    return Setting(env, default, parse)


class Settings:
    """Base of a frozen settings class whose fields are setting(...)s."""

    __settings__: dict[str, Setting] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields = dict(cls.__settings__)
        for name, value in vars(cls).items():
            if isinstance(value, Setting):
                value.name = name
                fields[name] = value
        cls.__settings__ = fields

    def __init__(self, **values: Any) -> None:
        unknown = sorted(set(values) - set(self.__settings__))
        if unknown:
            raise TypeError(f"{type(self).__name__} has no setting {unknown[0]!r}")
        for name, field in self.__settings__.items():
            object.__setattr__(self, name, values.get(name, field.default))

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenSettingsError(f"cannot assign to setting {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenSettingsError(f"cannot delete setting {name!r}")

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__settings__)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__settings__)
        return f"{type(self).__name__}({fields})"


def settings_of(cls: type[Settings]) -> list[Setting]:
    """The fields of a Settings class, in declaration order."""
    return list(cls.__settings__.values())


def load_settings(cls: type[S], environ: Mapping[str, str]) -> S:
    """An instance of the Settings class `cls` with every field read from
    environ, in field order; ConfigError names the first bad variable."""
    if not (isinstance(cls, type) and issubclass(cls, Settings)):
        raise TypeError(
            f"load_settings: {cls!r} is not a Settings class; declare it as"
            " `class NAME(wsgi_service.config.Settings)` with setting(...) fields"
        )
    values = {
        field.name: read(environ, field.env, field.default, field.parse)
        for field in settings_of(cls)  # type: ignore[arg-type]
    }
    return cls(**values)


def read(
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
        raise ConfigError(f"{name}={quote(raw)} is not allowed: {err}") from None


def quote(raw: str) -> str:
    """The value, cut to a readable length; repr() keeps it on one line."""
    return repr(raw if len(raw) <= _MAX_QUOTED else raw[:_MAX_QUOTED] + "...")


# Parsers: each takes the raw text and returns the value or raises ValueError
# with what is allowed.


def integer(low: int, high: int, what: str = "") -> Callable[[str], int]:
    what = what or f"expected an integer from {low} to {high}"

    def parse(raw: str) -> int:
        # Only plain ASCII digits: int() would also take "+8", " 8", "8_0" and "٨".
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 10):
            raise ValueError(what)
        value = int(raw)
        if not low <= value <= high:
            raise ValueError(what)
        return value

    return parse


def seconds(low: int, high: int) -> Callable[[str], float]:
    what = f"expected a number of seconds from {low} to {high}, like 10 or 2.5"

    def parse(raw: str) -> float:
        whole, dot, fraction = raw.partition(".")
        # Digits with an optional fractional part; float() would also take
        # "nan", "inf", "1e3" and surrounding spaces.
        digits_ok = whole.isascii() and whole.isdigit() and len(whole) <= 4
        if not digits_ok or (dot and not (fraction.isascii() and fraction.isdigit())):
            raise ValueError(what)
        value = float(raw)
        if not low <= value <= high:
            raise ValueError(what)
        return value

    return parse


def choice(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return value

    return parse


def endpoint_path(raw: str) -> str:
    """A path the library answers itself, or "off" ("") to leave it to the app."""
    if raw == "off":
        return ""
    if not raw.startswith("/") or len(raw) > 256 or not raw.isascii():
        raise ValueError('expected an absolute path such as /healthz, or "off"')
    if any(c in raw for c in "?# \t\r\n") or not raw.isprintable():
        raise ValueError('expected an absolute path such as /healthz, or "off"')
    return raw


def host(raw: str) -> str:
    if _is_ip_literal(raw) or _is_hostname(raw):
        return raw
    raise ValueError("expected an IPv4 or IPv6 address or a hostname")


class ServerConfig(Settings):
    """What every service is configured with: where it listens, how it logs,
    how it shuts down, and the limits that protect it from its clients."""

    host: str = setting("HOST", "0.0.0.0", host)
    # 0 asks the OS for a free port; the bound port is logged at start-up.
    port: int = setting(
        "PORT",
        8080,
        integer(0, 65535, "expected an integer from 0 to 65535 (0 picks a free port)"),
    )
    threads: int = setting("THREADS", 4, integer(1, 64))
    # How long a thread may hold the interpreter lock while another waits for
    # it (sys.setswitchinterval). Every system call of a request thread (its
    # response's send, the wake-up of the loop) gives the lock up, and taking
    # it back waits for the busy loop thread to yield, up to this long; but
    # each switch between threads that compute (a Flask or Django request)
    # costs too. 1,000 us: with 32 clients, Flask and Django apps answered
    # up to about twice as many requests as at the 20 us of before, hello as
    # many (docs/OPTIMIZATION.md, section 7, has the measured table).
    switch_interval_us: int = setting("SWITCH_INTERVAL_US", 1000, integer(10, 100_000))
    log_level: str = setting("LOG_LEVEL", "info", choice(*LOG_LEVELS))
    log_format: str = setting("LOG_FORMAT", "json", choice(*LOG_FORMATS))
    shutdown_grace_seconds: float = setting(
        "SHUTDOWN_GRACE_SECONDS", 10.0, seconds(0, 300)
    )

    # Client connections open at once. Each holds a file descriptor: the
    # default stays below the common container limit of 1024 open files with
    # room for the process's own. At the cap, the oldest connection that has
    # no request in progress is closed to make room (connections.py).
    max_connections: int = setting("MAX_CONNECTIONS", 900, integer(1, 65536))
    # A client must send its complete request line and headers within this
    # time of connecting (or, on a kept-alive connection, of its first byte),
    # else it is disconnected: a slow client cannot hold a connection.
    request_header_timeout_seconds: float = setting(
        "REQUEST_HEADER_TIMEOUT_SECONDS", 10.0, seconds(1, 300)
    )
    # Kept-alive connections with no request are closed after this long.
    # Longer than the 60 s idle timeout of common load balancers, so that the
    # balancer, not us, closes first and never reuses a closed connection.
    idle_timeout_seconds: int = setting("IDLE_TIMEOUT_SECONDS", 75, integer(1, 3600))
    # Request line plus headers; larger is answered 431 by the server.
    max_request_header_bytes: int = setting(
        "MAX_REQUEST_HEADER_BYTES", 16 * 1024, integer(1024, 1024 * 1024)
    )
    # Request bodies above this are answered 413 without being read.
    max_request_body_bytes: int = setting(
        "MAX_REQUEST_BODY_BYTES", 64 * 1024, integer(0, 64 * 1024 * 1024)
    )

    # The endpoints the library answers in front of every app (middleware.py);
    # "off" leaves the path to the app, for one that has its own.
    health_path: str = setting("HEALTH_PATH", "/healthz", endpoint_path)
    ready_path: str = setting("READY_PATH", "/readyz", endpoint_path)
    version_path: str = setting("VERSION_PATH", "/version", endpoint_path)
    metrics_path: str = setting("METRICS_PATH", "/metrics", endpoint_path)


def load_config(environ: Mapping[str, str]) -> ServerConfig:
    """ServerConfig from environment variables, raising ConfigError on a bad value."""
    return load_settings(ServerConfig, environ)


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
