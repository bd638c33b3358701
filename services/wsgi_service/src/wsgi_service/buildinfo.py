"""Build information stamped into the artifact at build time.

A stamped build writes build_info.json into the service's package (a
stamp_json target), for example
{"version": "1.2.3", "revision": "0123abc", "build_time": "2024-05-01T12:00:00Z"}.
A development checkout has no such file, so fixed placeholders stand in: never the
current time, so that an unstamped build stays reproducible.
"""

from __future__ import annotations

import json
import os
from collections import namedtuple

FILE_NAME = "build_info.json"

PLACEHOLDER_VERSION = "0.0.0-dev"
PLACEHOLDER_REVISION = "unknown"
PLACEHOLDER_BUILD_TIME = "1970-01-01T00:00:00Z"


class BuildInfoError(ValueError):
    """build_info.json exists but cannot be used."""


# A named tuple, not a dataclass: frozen, compared by value, and without the
# dataclasses module's cost at start-up (config.py says how much).
BuildInfo = namedtuple(
    "BuildInfo",
    ("version", "revision", "build_time"),
    defaults=(PLACEHOLDER_VERSION, PLACEHOLDER_REVISION, PLACEHOLDER_BUILD_TIME),
)


def path_in_package(package: str) -> str:
    """Where a service's build info is: build_info.json in its package
    directory (beside the module, for an app that is one top-level module)."""
    from importlib.util import find_spec

    spec = find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        return os.path.join(list(spec.submodule_search_locations)[0], FILE_NAME)
    if spec is not None and spec.origin and os.path.isfile(spec.origin):
        return os.path.join(os.path.dirname(spec.origin), FILE_NAME)
    raise BuildInfoError(f"{package}: not an importable package or module")


def load_build_info(path: str | os.PathLike[str]) -> BuildInfo:
    """Read build info from path.

    A missing file or a missing or empty key falls back to the placeholder; extra
    keys are ignored. A file that is not a JSON object of strings raises
    BuildInfoError, so that a broken artifact fails at start-up, not per request.
    """
    try:
        with open(path, "rb") as stream:
            raw = stream.read()
    except FileNotFoundError:
        return BuildInfo()
    except OSError as err:
        raise BuildInfoError(f"{path}: cannot read: {err.strerror}") from None
    try:
        data = json.loads(raw)
    except ValueError as err:  # also covers bytes that are not UTF-8
        raise BuildInfoError(f"{path}: not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise BuildInfoError(f"{path}: expected a JSON object")
    defaults = BuildInfo()
    return BuildInfo(
        version=_field(data, "version", defaults.version, path),
        revision=_field(data, "revision", defaults.revision, path),
        build_time=_field(data, "build_time", defaults.build_time, path),
    )


def _field(data: dict[str, object], key: str, default: str, path: object) -> str:
    value = data.get(key)
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise BuildInfoError(f"{path}: {key!r} must be a string")
    return value
