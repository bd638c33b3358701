"""Where the dynamic loader finds a DT_NEEDED library, inside a root filesystem.

    loader = Loader(root, machine=EM_AARCH64, multiarch="aarch64-linux-gnu",
                    library_path="", cache=ld_cache.read(...))
    found = loader.find("libc.so.6", needing, "/usr/bin/python3.13")
    found.path   # "/lib/aarch64-linux-gnu/libc.so.6" (the name ld.so opens), or None
    found.tried  # every place looked at, in order, for the error message

The order is glibc's (elf/dl-load.c, _dl_map_object) for an object that is
not the main program:

1. a name with a slash is a path, taken as it is;
2. the needing file's DT_RPATH, if it has no DT_RUNPATH (the RPATH of the
   objects that loaded it, which glibc also searches, is not modelled);
3. LD_LIBRARY_PATH (the image's environment);
4. the needing file's DT_RUNPATH, $ORIGIN expanded;
5. /etc/ld.so.cache: the entries of the architecture's flags for the name;
6. the system directories Debian's glibc is built with:
   /lib/TRIPLET, /usr/lib/TRIPLET, /lib, /usr/lib.

As ld.so does, a candidate that is not an ELF file of the same machine and
class is passed over, and the search goes on. glibc-hwcaps subdirectories and
$LIB/$PLATFORM are not searched: Debian's packages install nothing there.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

import elf
import ld_cache
from rootfs import FILE, RootFs, normalize


def system_dirs(multiarch: str) -> list[str]:
    """Debian glibc's trusted directories, in ld.so's order (`ld.so --help`)."""
    return [f"/lib/{multiarch}", f"/usr/lib/{multiarch}", "/lib", "/usr/lib"]


@dataclass(frozen=True)
class Found:
    name: str  # The DT_NEEDED name looked for.
    path: str | None  # The path ld.so opens (absolute), or None.
    tried: tuple[str, ...]  # Where it was looked for, in order ("how" included).


class Loader:
    def __init__(
        self,
        root: RootFs,
        machine: int,
        multiarch: str,
        library_path: str = "",
        cache: list[ld_cache.Entry] | None = None,
    ) -> None:
        self.root = root
        self.machine = machine
        self.multiarch = multiarch
        self.library_path = [d for d in library_path.replace(";", ":").split(":") if d]
        flags = ld_cache.FLAGS.get(machine)
        self.cache: dict[str, list[str]] = {}
        for entry in cache or []:
            if entry.flags == flags:
                self.cache.setdefault(entry.key, []).append(entry.value)
        self._identities: dict[str, elf.Identity | None] = {}

    def identity(self, path: str) -> elf.Identity | None:
        """What the file at `path` is built for; None if it is no ELF file."""
        resolved = self.root.resolve(path)
        if resolved is None:
            return None
        if resolved not in self._identities:
            data = self.root.read(resolved)
            node = self.root.lookup(resolved)
            ok = data is not None and node is not None and node.kind == FILE
            self._identities[resolved] = (
                elf.identify(data, "/" + resolved) if ok and elf.is_elf(data) else None
            )
        return self._identities[resolved]

    def loadable(self, path: str) -> str | None:
        """`path` (absolute, normalised) if it leads to an ELF file ld.so of this
        machine would take, else None. It is the name ld.so opens and ldd shows;
        symlinks on the way are followed to read the file."""
        identity = self.identity(path)
        if identity is None:
            return None
        if identity.machine != self.machine or identity.elf_class != elf.ELFCLASS64:
            return None
        return "/" + normalize(path)

    def find(self, name: str, needing: elf.Elf, needing_path: str) -> Found:
        """Where ld.so finds DT_NEEDED `name` of the file at `needing_path`."""
        if "/" in name:
            return Found(name, self.loadable(name), (name,))
        tried: list[str] = []
        candidates: list[tuple[str, str]] = []
        own = elf.runpath_dirs(needing, needing_path)
        if needing.search_path_is_rpath:
            candidates += [(d, "DT_RPATH") for d in own]
        candidates += [(d, "LD_LIBRARY_PATH") for d in self.library_path]
        if not needing.search_path_is_rpath:
            candidates += [(d, "DT_RUNPATH") for d in own]
        for directory, how in candidates:
            path = posixpath.join(directory, name)
            tried.append(f"{path} ({how})")
            if found := self.loadable(path):
                return Found(name, found, tuple(tried))
        for path in self.cache.get(name, []):
            tried.append(f"{path} (ld.so.cache)")
            if found := self.loadable(path):
                return Found(name, found, tuple(tried))
        if not self.cache.get(name):
            tried.append(
                "ld.so.cache (no entry)" if self.cache else "ld.so.cache (none)"
            )
        for directory in system_dirs(self.multiarch):
            path = posixpath.join(directory, name)
            tried.append(path)
            if found := self.loadable(path):
                return Found(name, found, tuple(tried))
        return Found(name, None, tuple(tried))
