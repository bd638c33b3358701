"""Would every ELF file of an image load? The checks, over the image's root filesystem.

    result = check(root, loader, origins, ignore={"/usr/lib/x/_sqlite3*.so": "why"})
    result.problems  # [Problem(path, origin, what, fix), ...]: empty if all load
    result.checked   # [Checked(path, origin, libraries), ...]: what the report lists

For each ELF file (executables, shared libraries, extension modules):

1. it is built for the image's machine, 64-bit little endian;
2. its loader (PT_INTERP) is in the image;
3. each DT_NEEDED library is found where ld.so would look (loader.py);
4. each symbol version it needs from one (GLIBC_2.34, GLIBCXX_3.4.32,
   CXXABI_1.3.15, ...) is defined by the library found. Weak needs only
   warn at run time and are not checked; a library without version
   definitions satisfies any (ld.so only warns).

`ignore` maps a glob of image paths ("*" crosses "/") to the reason those
files never load (a standard-library module whose library the base leaves
out on purpose); they are not checked, and an ignored file that would load
after all is a problem too, so the list cannot go stale.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

import elf
from loader import Loader
from origins import Origins
from rootfs import RootFs

_VERSION = re.compile(r"^(?P<family>.+?)_(?P<number>[0-9][0-9.]*)$")


@dataclass(frozen=True)
class Problem:
    path: str  # Absolute image path of the file that would not load.
    origin: str
    what: str  # What is wrong, with the evidence.
    fix: str  # How to fix it.


@dataclass(frozen=True)
class Checked:
    path: str
    origin: str
    libraries: tuple[tuple[str, str], ...]  # (DT_NEEDED name, where it was found).
    ignored: str = ""  # The reason, if it is ignored.


@dataclass
class Result:
    checked: list[Checked]
    problems: list[Problem]


def version_key(version: str) -> tuple[str, tuple[int, ...]] | None:
    """ "GLIBC_2.34" -> ("GLIBC", (2, 34)); None for names without a number."""
    match = _VERSION.match(version)
    if not match:
        return None
    numbers = tuple(int(n) for n in match["number"].split(".") if n)
    return match["family"], numbers


def newest(versions: tuple[str, ...], family: str) -> str | None:
    """The highest version of `family` among `versions`."""
    keyed = [(k[1], v) for v in versions if (k := version_key(v)) and k[0] == family]
    return max(keyed)[1] if keyed else None


def _fix_for_version(version: str, provided: str | None) -> str:
    family = (version_key(version) or (version, ()))[0]
    if family == "GLIBC":
        have = provided.partition("_")[2] if provided else "?"
        return (
            f"it was built against a newer glibc than the image's ({have}): use a "
            f"wheel or package built for glibc {have} or older (for a wheel, "
            f"manylinux_{have.replace('.', '_')} or lower: pin an older release of "
            "the distribution), or a base image with a newer glibc"
        )
    if family in ("GLIBCXX", "CXXABI"):
        return (
            "it was built with a newer C++ compiler than the image's libstdc++: use a "
            "build made for the image's distribution, or a base with a newer libstdc++6"
        )
    return "use a build of it made for the libraries of this image"


class _Checker:
    def __init__(self, root: RootFs, loader: Loader, origins: Origins, platform: str):
        self.root = root
        self.loader = loader
        self.origins = origins
        self.platform = platform
        self._parsed: dict[str, elf.Elf | None] = {}

    def parsed(self, path: str) -> elf.Elf | None:
        if path not in self._parsed:
            data = self.root.read(path)
            self._parsed[path] = elf.parse(data, path) if data is not None else None
        return self._parsed[path]

    def check_file(
        self, path: str, data: bytes
    ) -> tuple[list[str], list[tuple[str, str]], list[str]]:
        """(problems, libraries found, fixes) of one file: the same length lists
        problems and fixes."""
        identity = elf.identify(data, path)
        machine = self.loader.machine
        if identity.machine != machine or identity.elf_class != elf.ELFCLASS64:
            wanted = elf.MACHINE_NAMES.get(machine, str(machine))
            return (
                [
                    f"it is built for {identity}, the image is {self.platform} ({wanted})"
                ],
                [],
                [
                    "take the build for the image's platform: for a wheel, third-party "
                    "code from @pypi in the image's configuration (py_image_layers does); "
                    "for a Debian package, the image architecture's"
                ],
            )
        parsed = elf.parse(data, path)
        problems, fixes, found = [], [], []
        if parsed.interpreter and self.loader.loadable(parsed.interpreter) is None:
            problems.append(
                f"its loader {parsed.interpreter} (PT_INTERP) is not in the image"
            )
            fixes.append("add the image architecture's libc6 (it holds the loader)")
        libraries: dict[str, str] = {}
        for name in parsed.needed:
            result = self.loader.find(name, parsed, path)
            if result.path is None:
                problems.append(
                    f"it needs {name} (DT_NEEDED), which is nowhere ld.so looks: "
                    + ", ".join(result.tried)
                )
                fixes.append(
                    "add the Debian package that provides it to the image, or use a "
                    "wheel that bundles it (auditwheel repairs wheels that way)"
                )
                continue
            libraries[name] = result.path
            found.append((name, result.path))
        for need in parsed.version_needs:
            if need.weak or need.library not in libraries:
                continue
            provider_path = libraries[need.library]
            provider = self.parsed(provider_path)
            if provider is None or not provider.version_defs:
                continue
            if need.version in provider.version_defs:
                continue
            family = (version_key(need.version) or (need.version, ()))[0]
            best = newest(provider.version_defs, family)
            problems.append(
                f"it needs symbol version {need.version} from {need.library}, which "
                f"{provider_path} ({self.origins.of_path(provider_path)}) does not "
                f"define; the newest {family} version it defines is {best or 'none'}"
            )
            fixes.append(_fix_for_version(need.version, best))
        return problems, found, fixes


def _ignored_by(path: str, ignore: dict[str, str]) -> str | None:
    for pattern, reason in sorted(ignore.items()):
        if fnmatch.fnmatchcase(path, pattern):
            return reason
    return None


def check(
    root: RootFs,
    loader: Loader,
    origins: Origins,
    platform: str,
    ignore: dict[str, str],
) -> Result:
    checker = _Checker(root, loader, origins, platform)
    checked: list[Checked] = []
    problems: list[Problem] = []
    for relative, node in root.files():
        if node.data is None or not elf.is_elf(node.data):
            continue
        path = "/" + relative
        origin = origins.of_path(relative)
        try:
            found_problems, found, fixes = checker.check_file(path, node.data)
        except elf.ElfError as error:
            found_problems, found, fixes = (
                [f"it cannot be read: {error}"],
                [],
                ["rebuild it"],
            )
        reason = _ignored_by(path, ignore)
        if reason is not None:
            checked.append(Checked(path, origin, tuple(found), reason))
            if not found_problems:
                problems.append(
                    Problem(
                        path,
                        origin,
                        f"it is ignored ({reason}), yet it would load",
                        "remove it from the ignore list",
                    )
                )
            continue
        checked.append(Checked(path, origin, tuple(found)))
        problems += [
            Problem(path, origin, what, fix) for what, fix in zip(found_problems, fixes)
        ]
    return Result(checked, problems)
