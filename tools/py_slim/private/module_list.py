"""The modules py_slim_probe.py recorded, and the file each one needs in the image.

    # stdlib /usr/lib/python3.13
    # multiarch x86_64-linux-gnu
    module<TAB>kind<TAB>path<TAB>reason

kind is builtin, frozen, source, extension (the standard library) or app
(the service's own code); see py_slim_probe.py.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from packages import canonical
from slim_error import SlimError


@dataclass(frozen=True)
class Module:
    name: str
    kind: str  # builtin, frozen, source, extension, app
    path: str  # Below the standard library; "-" if none.
    reason: str


@dataclass(frozen=True)
class ModuleList:
    stdlib: str  # e.g. usr/lib/python3.13
    multiarch: str  # The probing interpreter's triplet.
    modules: list[Module]


def read_modules(text: str, where: str) -> ModuleList:
    header: dict[str, str] = {}
    modules = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("#"):
            key, _, value = line[1:].strip().partition(" ")
            header.setdefault(key, value)
            continue
        fields = line.split("\t")
        if len(fields) != 4:
            raise SlimError(f"{where}:{number}: expected module, kind, path, reason")
        modules.append(Module(*fields))
    if "stdlib" not in header or "multiarch" not in header:
        raise SlimError(
            f"{where}: no '# stdlib' and '# multiarch' lines (not py_slim_probe.py's?)"
        )
    return ModuleList(canonical(header["stdlib"]), header["multiarch"], modules)


def module_file(
    module: Module, stdlib: str, probe_triplet: str, triplet: str
) -> str | None:
    """The package path of a module's file for the target architecture, or None."""
    if module.kind not in ("builtin", "app", "frozen", "source", "extension"):
        raise SlimError(f"module {module.name}: unknown kind {module.kind!r}")
    if module.kind in ("builtin", "app") or module.path == "-":
        return None
    # Extension modules and _sysconfigdata__linux_TRIPLET carry it in their names.
    return posixpath.join(stdlib, module.path.replace(probe_triplet, triplet))
