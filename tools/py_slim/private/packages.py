"""The files of a set of Debian packages, merged into one tree, read as merged /usr.

    packages = Packages({"libc6": "libc6/data.tar", ...}, stack)
    packages.resolve("/lib64/ld-linux-x86-64.so.2")
    # ("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", ["usr/lib64/ld-linux-x86-64.so.2"])

Paths are relative and canonical: /lib64/x is usr/lib64/x, as on a
merged-/usr system, where bin, lib, lib64 and sbin are symlinks into /usr
(the image's base supplies them). A path in two packages (but directories)
is an error; file contents are read on demand.
"""

from __future__ import annotations

import contextlib
import posixpath
import tarfile
from dataclasses import dataclass, field

from slim_error import SlimError

FILE, DIR, SYMLINK = "file", "dir", "symlink"

# Top-level directories that are symlinks into /usr on a merged-/usr system.
MERGED_USR = frozenset({"bin", "sbin", "lib", "lib64", "lib32", "libx32"})
MAX_SYMLINK_HOPS = 40


def canonical(path: str) -> str:
    """Relative, normalized, merged-/usr path: /lib64/x -> usr/lib64/x."""
    path = posixpath.normpath("/" + path).lstrip("/")
    if path.split("/", 1)[0] in MERGED_USR:
        path = "usr/" + path
    return path


@dataclass(frozen=True)
class Entry:
    path: str
    kind: str
    mode: int
    size: int
    target: str  # Symlinks: the link text.
    package: str
    member: tarfile.TarInfo | None = field(compare=False, repr=False)


class Packages:
    """Every path of the package data tars, merged; file contents read on demand."""

    def __init__(self, tars: dict[str, str], stack: contextlib.ExitStack):
        self.entries: dict[str, Entry] = {}
        self._tars: dict[str, tarfile.TarFile] = {}
        for package, path in tars.items():
            tar = tarfile.open(path)  # noqa: SIM115 - closed by the caller's stack
            self._tars[package] = stack.enter_context(tar)
            for member in self._tars[package]:
                self._add(package, member)

    def _add(self, package: str, member: tarfile.TarInfo) -> None:
        path = canonical(member.name)
        if path in ("", "."):
            return
        if member.isdir():
            entry = Entry(path, DIR, member.mode, 0, "", package, None)
        elif member.issym():
            entry = Entry(path, SYMLINK, 0o777, 0, member.linkname, package, None)
        elif member.isfile() or member.islnk():
            entry = Entry(path, FILE, member.mode, member.size, "", package, member)
        else:
            return  # Devices and FIFOs: Debian data tars have none that matter here.
        known = self.entries.get(path)
        if known is None:
            self.entries[path] = entry
        elif not (known.kind == DIR and entry.kind == DIR):
            raise SlimError(
                f"/{path} is in two packages: {known.package} and {package}"
            )

    def read(self, entry: Entry) -> bytes:
        assert entry.member is not None
        stream = self._tars[entry.package].extractfile(entry.member)
        assert stream is not None
        return stream.read()

    def resolve(self, path: str) -> tuple[str, list[str]] | None:
        """(final path, symlinks passed on the way), or None if some part is missing."""
        pending = canonical(path).split("/")
        current = ""
        links: list[str] = []
        while pending:
            candidate = posixpath.join(current, pending.pop(0))
            entry = self.entries.get(candidate)
            if entry is None and not pending:
                return None
            if entry is None or entry.kind != SYMLINK:
                current = candidate  # A directory, perhaps one no tar lists.
                continue
            links.append(candidate)
            if len(links) > MAX_SYMLINK_HOPS:
                raise SlimError(f"/{path}: too many levels of symbolic links")
            base = "" if entry.target.startswith("/") else current
            pending = canonical(posixpath.join(base, entry.target)).split("/") + pending
            current = ""
        return current, links
