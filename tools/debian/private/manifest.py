"""The package manifest (images/debian_packages.toml): suites, sets, excludes.

[debian]
suites = [{ name = "trixie", archive = "debian" }, ...]
components = ["main"]
architectures = ["amd64", "arm64"]

[[sets]]
name = "static"
packages = ["base-files", ...]

[exclude]
perl-base = "why no image needs it"
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

from archive import ARCHIVES, Suite
from resolve_error import ResolveError


@dataclasses.dataclass(frozen=True)
class PackageSet:
    name: str
    packages: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Manifest:
    suites: tuple[Suite, ...]
    components: tuple[str, ...]
    architectures: tuple[str, ...]
    sets: tuple[PackageSet, ...]
    exclude: dict[str, str]


def _require(condition: bool, path: Path, message: str) -> None:
    if not condition:
        raise ResolveError(f"{path}: {message}")


def _string_list(value: object, path: Path, where: str) -> tuple[str, ...]:
    _require(
        isinstance(value, list) and all(isinstance(v, str) for v in value),
        path,
        f"{where} must be a list of strings",
    )
    assert isinstance(value, list)
    _require(len(set(value)) == len(value), path, f"{where} lists a name twice")
    return tuple(value)


def load_manifest(path: Path) -> Manifest:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ResolveError(f"{path}: {error}") from None
    debian = data.get("debian", {})
    suites = tuple(
        Suite(entry.get("name", ""), entry.get("archive", ""))
        for entry in debian.get("suites", [])
    )
    _require(bool(suites), path, "[debian] suites is empty")
    for suite in suites:
        _require(
            suite.archive in ARCHIVES,
            path,
            f"suite {suite.name!r}: archive must be one of {', '.join(ARCHIVES)}",
        )
    sets = tuple(
        PackageSet(
            entry.get("name", ""), _string_list(entry.get("packages"), path, "packages")
        )
        for entry in data.get("sets", [])
    )
    _require(bool(sets), path, "no [[sets]]")
    _require(
        len({s.name for s in sets}) == len(sets), path, "two sets have the same name"
    )
    exclude = data.get("exclude", {})
    _require(
        all(isinstance(reason, str) and reason for reason in exclude.values()),
        path,
        "every [exclude] entry needs a reason string",
    )
    for package_set in sets:
        for name in package_set.packages:
            _require(
                name not in exclude,
                path,
                f"set {package_set.name!r} lists {name}, which [exclude] forbids",
            )
    return Manifest(
        suites=suites,
        components=_string_list(debian.get("components"), path, "[debian] components"),
        architectures=_string_list(
            debian.get("architectures"), path, "[debian] architectures"
        ),
        sets=sets,
        exclude=dict(exclude),
    )
