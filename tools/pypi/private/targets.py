"""The platforms the lock is made for: which wheel tags and markers each accepts.

A target is CPython X.Y on glibc Linux for one CPU, named as the lock and the
`@pypi` hub name it: `linux_x86_64`, `linux_aarch64`. It accepts manylinux
wheels up to the glibc of the images' Debian base, in the order pip prefers
them (packaging.tags, the code pip itself uses), and evaluates PEP 508
markers as CPython on that machine would.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from functools import cached_property

from packaging.tags import Tag, compatible_tags, cpython_tags

# PEP 600 names the manylinux wheels published before it under these aliases.
_LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


class TargetError(ValueError):
    """A target platform that cannot be described (bad name or version)."""


@dataclass(frozen=True)
class Target:
    """One platform the images (and the build machine) run Python on."""

    name: str
    machine: str
    python_version: tuple[int, int]
    glibc: tuple[int, int]

    @classmethod
    def parse(cls, name: str, python_version: str, glibc: str) -> Target:
        """`linux_aarch64`, "3.13", "2.41" -> Target."""
        os_name, _, machine = name.partition("_")
        if os_name != "linux" or not machine:
            raise TargetError(
                f"target platform {name!r}: expected linux_<machine>, e.g. linux_x86_64 "
                "(only glibc Linux targets are supported)"
            )
        return cls(name, machine, _version(python_version), _version(glibc))

    @cached_property
    def tags(self) -> dict[Tag, int]:
        """Every tag a wheel for this target may carry, by preference (0 = best)."""
        platforms = []
        major, newest = self.glibc
        for minor in range(newest, 4, -1):
            platforms.append(f"manylinux_{major}_{minor}_{self.machine}")
            if major == 2 and minor in _LEGACY_MANYLINUX:
                platforms.append(f"{_LEGACY_MANYLINUX[minor]}_{self.machine}")
        interpreter = "cp{}{}".format(*self.python_version)
        ordered = [
            *cpython_tags(self.python_version, [interpreter], platforms),
            *compatible_tags(self.python_version, interpreter, platforms),
        ]
        return {tag: rank for rank, tag in reversed(list(enumerate(ordered)))}

    @property
    def description(self) -> str:
        return "CPython {}.{}, manylinux {}, glibc <= {}.{}".format(
            *self.python_version, self.machine, *self.glibc
        )

    @property
    def marker_environment(self) -> dict[str, str]:
        """PEP 508 marker variables of CPython on this platform."""
        python = "{}.{}".format(*self.python_version)
        full = platform.python_version()
        if not full.startswith(python + "."):
            full = python + ".0"
        return {
            "implementation_name": "cpython",
            "implementation_version": full,
            "os_name": "posix",
            "platform_machine": self.machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": full,
            "python_version": python,
            "sys_platform": "linux",
        }


def _version(text: str) -> tuple[int, int]:
    parts = text.split(".")
    if len(parts) != 2 or not all(part.isdigit() for part in parts):
        raise TargetError(f"expected a MAJOR.MINOR version, got {text!r}")
    return int(parts[0]), int(parts[1])


def pure_tags(python_version: tuple[int, int]) -> dict[Tag, int]:
    """Tags of a pure-Python wheel for this Python, by preference: the wheel
    that serves platforms the lock does not name."""
    interpreter = "cp{}{}".format(*python_version)
    ordered = list(compatible_tags(python_version, interpreter, ["any"]))
    return {tag: rank for rank, tag in reversed(list(enumerate(ordered)))}
