"""The architectures py_slim_runtime builds for: the one table of them here.

py_slim.bzl's `arch` attribute lists the same names; when the project's
platforms table grows these facts, read them from there instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import elf


@dataclass(frozen=True)
class Arch:
    triplet: str  # Debian multiarch triplet: usr/lib/<triplet>.
    machine: int  # ELF e_machine.


ARCHES = {
    "amd64": Arch("x86_64-linux-gnu", elf.EM_X86_64),
    "arm64": Arch("aarch64-linux-gnu", elf.EM_AARCH64),
}
