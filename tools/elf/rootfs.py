"""A root filesystem assembled from tar archives, as a container runtime unpacks layers.

    root = RootFs()
    for number, layer in enumerate(layers):
        with open_tar(layer) as tar:
            root.apply(tar, number, keep=lambda path, head: head.startswith(b"\\x7fELF"))
    root.resolve("/lib64/ld-linux-x86-64.so.2")  # "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    root.read("/etc/ld.so.cache")                # its bytes, if kept; else None

Archives are applied in order, with OCI whiteouts (`.wh.NAME` removes NAME
from the layers below, `.wh..wh..opq` empties the directory it is in) and
hardlinks (the link gets the content of the path it names). Paths are
relative and normalised ("usr/bin/python3"); symlinks are followed inside the
root, an absolute target meaning the root's own path, as in a chroot. Only
the contents `keep` asks for are held in memory (the first bytes of every
regular file are offered to it): a root of 100 MB is read in one pass.
"""

from __future__ import annotations

import fnmatch
import posixpath
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

FILE, DIR, SYMLINK = "file", "dir", "symlink"
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
# What Linux allows while resolving one path (ELOOP beyond it).
MAX_SYMLINK_HOPS = 40
# Bytes of each regular file `keep` is shown.
HEAD_SIZE = 64

Keep = Callable[[str, bytes], bool]


class RootFsError(Exception):
    """A path that cannot be resolved (a symlink loop); the message names it."""


@dataclass(frozen=True)
class Node:
    kind: str  # FILE, DIR or SYMLINK.
    mode: int
    target: str = ""  # Symlinks: the link text.
    data: bytes | None = None  # Files: the content, if `keep` asked for it.
    layer: int = 0  # The archive (its number) that wrote this path last.


def normalize(path: str) -> str:
    """ "/usr/lib/../bin/" -> "usr/bin"; "" for the root."""
    normal = posixpath.normpath("/" + path).lstrip("/")
    return "" if normal == "." else normal


class RootFs:
    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        # Directory -> the names in it, listed or implied by a path below.
        self._children: dict[str, set[str]] = {"": set()}

    # --- building ------------------------------------------------------------------

    def apply(self, tar: tarfile.TarFile, layer: int, keep: Keep) -> None:
        """Unpack one archive over what is there (members read in one pass)."""
        for member in tar:
            path = normalize(member.name)
            directory, base = posixpath.split(path)
            if base == OPAQUE:
                self._remove_below(directory)
            elif base.startswith(WHITEOUT):
                self._remove(posixpath.join(directory, base[len(WHITEOUT) :]))
            elif path:
                self._add(tar, member, path, layer, keep)

    def _add(
        self,
        tar: tarfile.TarFile,
        member: tarfile.TarInfo,
        path: str,
        layer: int,
        keep: Keep,
    ) -> None:
        if member.isdir():
            node = Node(DIR, member.mode, layer=layer)
        elif member.issym():
            node = Node(SYMLINK, 0o777, member.linkname, layer=layer)
        elif member.islnk():
            linked = self.nodes.get(normalize(member.linkname))
            if linked is None or linked.kind != FILE:
                return  # A broken hardlink: nothing a runtime could unpack.
            node = Node(FILE, linked.mode, data=linked.data, layer=layer)
        elif member.isfile():
            stream = tar.extractfile(member)
            data = stream.read() if stream is not None else b""
            kept = data if keep(path, data[:HEAD_SIZE]) else None
            node = Node(FILE, member.mode, data=kept, layer=layer)
        else:
            return  # Devices and FIFOs hold nothing to read.
        known = self.nodes.get(path)
        if node.kind != DIR or (known is not None and known.kind != DIR):
            self._remove(path)  # A file replaces a directory, and the other way.
        self.nodes[path] = node
        parent, name = posixpath.split(path)
        while name not in self._children.setdefault(parent, set()):
            self._children[parent].add(name)
            parent, name = posixpath.split(parent)
            if not name:
                break
        if node.kind == DIR:
            self._children.setdefault(path, set())

    def _remove(self, path: str) -> None:
        self._remove_below(path)
        self._children.pop(path, None)
        self.nodes.pop(path, None)
        parent, name = posixpath.split(path)
        self._children.get(parent, set()).discard(name)

    def _remove_below(self, directory: str) -> None:
        for name in list(self._children.get(directory, ())):
            self._remove(posixpath.join(directory, name))

    def exclude(self, globs: list[str]) -> None:
        """Drop every path a glob (fnmatch, on the path without a leading /)
        matches, and everything below it: what oci_layer's --exclude leaves
        out of the layers made from the same tars."""
        for path in sorted(self.nodes):
            # A tar need not hold its directories: match the ancestors too.
            ancestor = path
            while ancestor and path in self.nodes:
                if any(fnmatch.fnmatchcase(ancestor, glob) for glob in globs):
                    self._remove(path)
                ancestor = posixpath.dirname(ancestor)

    # --- reading -------------------------------------------------------------------

    def lookup(self, path: str) -> Node | None:
        """The node at `path` itself (a symlink is not followed)."""
        return self.nodes.get(normalize(path))

    def resolve(self, path: str) -> str | None:
        """The path with every symlink followed, or None if some part is missing.

        Directories that no archive lists but that hold listed paths exist, as
        they do once unpacked.
        """
        pending = [p for p in normalize(path).split("/") if p]
        current = ""
        hops = 0
        while pending:
            candidate = posixpath.join(current, pending.pop(0))
            node = self.nodes.get(candidate)
            if node is None:
                if pending and self._has_children(candidate):
                    current = candidate
                    continue
                if not pending and self._has_children(candidate):
                    return candidate
                return None
            if node.kind != SYMLINK:
                if pending and node.kind != DIR:
                    return None  # A file is no directory.
                current = candidate
                continue
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                raise RootFsError(f"/{path}: too many levels of symbolic links")
            base = "" if node.target.startswith("/") else current
            target = normalize(posixpath.join(base, node.target))
            pending = [p for p in target.split("/") if p] + pending
            current = ""
        return current

    def _has_children(self, directory: str) -> bool:
        return bool(self._children.get(directory))

    def node(self, path: str) -> Node | None:
        """The node `path` leads to, symlinks followed."""
        resolved = self.resolve(path)
        if resolved is None:
            return None
        return self.nodes.get(resolved, Node(DIR, 0o755) if resolved == "" else None)

    def is_dir(self, path: str) -> bool:
        resolved = self.resolve(path)
        if resolved is None:
            return False
        node = self.nodes.get(resolved)
        return (
            node.kind == DIR if node else resolved == "" or self._has_children(resolved)
        )

    def read(self, path: str) -> bytes | None:
        """The kept content of the file `path` leads to; None if not a kept file."""
        node = self.node(path)
        return node.data if node is not None and node.kind == FILE else None

    def listdir(self, directory: str) -> list[str]:
        """Names in a directory (symlinks followed to it), sorted bytewise."""
        resolved = self.resolve(directory)
        if resolved is None:
            return []
        names = self._children.get(resolved, set())
        return sorted(names, key=lambda name: name.encode("utf-8", "surrogateescape"))

    def files(self) -> Iterator[tuple[str, Node]]:
        """Every regular file, by path (bytewise order)."""
        for path in sorted(
            self.nodes, key=lambda p: p.encode("utf-8", "surrogateescape")
        ):
            node = self.nodes[path]
            if node.kind == FILE:
                yield path, node
