"""Any WSGI application, named the way waitress-serve and gunicorn name it.

    package.module:application      a WSGI callable
    package.module:create_app()     a factory, called with no arguments (Flask's)

A name that cannot be used is a ConfigError naming the variable it came from
and what is wrong, so the service exits 2 before it listens (and a build
whose probe starts it fails, saying the same).
"""

from __future__ import annotations

import importlib

from wsgi_service.config import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

VARIABLE = "WSGI_APP"
EXAMPLE = "expected package.module:application or package.module:create_app()"


def parse(spec: str) -> tuple[str, list[str], bool]:
    """(module, attribute path, call it?) of a spec; ValueError if malformed."""
    module, sep, attribute = spec.strip().partition(":")
    factory = attribute.endswith("()")
    attribute = attribute.removesuffix("()")
    names = attribute.split(".")
    if not sep or not _dotted(module) or not all(n.isidentifier() for n in names):
        raise ValueError(EXAMPLE)
    return module, names, factory


def _dotted(name: str) -> bool:
    return bool(name) and all(part.isidentifier() for part in name.split("."))


def load_app(spec: str, variable: str = VARIABLE) -> Callable[..., Any]:
    """The WSGI application spec names; ConfigError says what is wrong."""
    where = f"{variable}={spec!r}"
    try:
        module_name, names, factory = parse(spec)
    except ValueError as err:
        raise ConfigError(f"{where} is not allowed: {err}") from None
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as err:
        raise ConfigError(f"{where}: cannot import {module_name}: {err}") from None
    for depth, name in enumerate(names):
        try:
            target = getattr(target, name)
        except AttributeError:
            owner = ".".join([module_name, *names[:depth]])
            raise ConfigError(f"{where}: {owner} has no attribute {name!r}") from None
    if factory:
        if not callable(target):
            raise ConfigError(f"{where}: {'.'.join(names)} is not callable")
        target = target()
    if not callable(target):
        raise ConfigError(
            f"{where}: {type(target).__name__} is not a WSGI application"
            " (a callable taking environ and start_response)"
        )
    return target  # type: ignore[no-any-return]


def package_of(spec: str) -> str:
    """The top-level package of the app's module: it names the service (the
    Server header, the SERVICE_build_info metric) and holds its build info."""
    return spec.strip().partition(":")[0].partition(".")[0]
