"""Resolves requirements.in with uv, for every platform at once (`--universal`).

Two runs of `uv pip compile`:
1. requirements.in -> pinned requirements with markers and `# via` lines. The
   current lock is given as uv's previous output, so uv keeps its pins unless
   asked to upgrade (`--upgrade`, `--upgrade-package NAME`).
2. those pins, as they are (`--no-deps`) -> a PEP 751 pylock.toml, which lists
   every file PyPI publishes for each version, with its URL and sha256.
uv is the only program here that talks to the index; it trusts the system's CA
certificates, so a TLS-intercepting proxy whose CA the machine trusts works.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name
from wheel_choice import File, Published

# `NAME==VERSION [; MARKER]` at the start of a line of uv's requirements output.
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^ ;\\]+)")


class ResolveError(RuntimeError):
    """uv failed, or answered something this module does not understand."""


@dataclass(frozen=True)
class Resolved:
    published: Published
    via: tuple[str, ...]


def resolve(
    uv: str,
    requirements_in: Path,
    previous_lock: Path | None,
    python_version: str,
    work: Path,
    uv_args: list[str],
) -> list[Resolved]:
    """Every distribution the universal resolution of requirements_in needs."""
    pinned = work / "requirements.txt"
    if previous_lock is not None and previous_lock.exists():
        shutil.copyfile(previous_lock, pinned)
    common = [
        "--universal", "--python-version", python_version, "--system-certs",
        "--no-header", "--quiet",
    ]  # fmt: skip
    _run(
        [uv, "pip", "compile", str(requirements_in), *common, "--annotation-style", "split",
         "--output-file", str(pinned), *uv_args],
        f"resolving {requirements_in.name}",
    )  # fmt: skip
    via = parse_via(pinned.read_text(encoding="utf-8"), requirements_in.name)
    pylock = work / "pylock" / "pylock.toml"
    pylock.parent.mkdir()
    _run(
        [uv, "pip", "compile", str(pinned), *common, "--no-deps",
         "--format", "pylock.toml", "--output-file", str(pylock)],
        "listing the files of each pinned version",
    )  # fmt: skip
    published = parse_pylock(pylock.read_text(encoding="utf-8"))
    missing = sorted(set(via) - {p.name for p in published})
    if missing:
        raise ResolveError(f"uv's pylock.toml lacks {', '.join(missing)}")
    return [Resolved(p, via.get(p.name, ())) for p in published]


def parse_via(text: str, requirements_in: str) -> dict[str, tuple[str, ...]]:
    """{normalized name: what requires it} from uv's `--annotation-style split` output.

    `-r <requirements_in>` is written as the lock's REQUIREMENTS_IN.
    """
    via: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        match = _PIN.match(line)
        if match:
            current = canonicalize_name(match["name"])
            via[current] = []
            continue
        comment = line.strip().removeprefix("#").strip()
        if current is None or not line.startswith("    #") or not comment:
            continue
        if comment.startswith("via"):
            comment = comment.removeprefix("via").strip()
        if not comment:
            continue
        if comment.startswith("-r "):
            via[current].append(f"-r {Path(comment[3:]).name}")
        else:
            via[current].append(canonicalize_name(comment))
    return {name: tuple(sorted(set(names))) for name, names in via.items()}


def parse_pylock(text: str) -> list[Published]:
    """The packages of a PEP 751 lock: version, marker, wheels and sdist."""
    published = []
    for package in tomllib.loads(text).get("packages", []):
        published.append(
            Published(
                name=canonicalize_name(package["name"]),
                version=package["version"],
                marker=package.get("marker"),
                wheels=tuple(_file(w) for w in package.get("wheels", [])),
                sdist=_file(package["sdist"]) if "sdist" in package else None,
            )
        )
    return published


def _file(entry: dict) -> File:
    sha256 = entry.get("hashes", {}).get("sha256")
    if "url" not in entry or not sha256:
        raise ResolveError(f"pylock.toml: a file without url or sha256: {entry}")
    return File(entry["url"], sha256)


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ResolveError(
            f"uv failed {what} (exit {result.returncode}):\n{result.stderr.strip()}"
        )
