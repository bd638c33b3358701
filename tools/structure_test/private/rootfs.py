"""An OCI image layout read without a container runtime: its platform images,
their config (read by //tools/oci/private:ocireader), and the file tree their
layers make (here).

Layers are applied in order as the image-spec says an extractor must:
whiteouts (`.wh.NAME`, `.wh..wh..opq`) remove from the layers below only, a
non-directory replaces whatever was at its path (and everything beneath it), a
directory over a directory only changes its metadata, and parents are resolved
through the symlinks already in the tree (so `lib/x` lands in `usr/lib/x` when
`lib -> usr/lib`). Paths missing from a layer but needed as parents are made
as 0755 root:root directories, as extractors do.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
from dataclasses import dataclass, field

import ocireader
from ocireader import ImageRef, LayoutError, Platform

__all__ = ["FileTree", "Image", "ImageRef", "Layout", "LayoutError", "Platform"]

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
MAX_SYMLINKS = 40  # Linux's limit on links followed in one lookup (ELOOP).

# Entry kinds, as the first letter of `ls -l`.
REGULAR, DIRECTORY, SYMLINK, CHAR, BLOCK, FIFO = "-", "d", "l", "c", "b", "p"
_TAR_KINDS = {
    tarfile.REGTYPE: REGULAR,
    tarfile.AREGTYPE: REGULAR,
    tarfile.CONTTYPE: REGULAR,
    tarfile.DIRTYPE: DIRECTORY,
    tarfile.SYMTYPE: SYMLINK,
    tarfile.CHRTYPE: CHAR,
    tarfile.BLKTYPE: BLOCK,
    tarfile.FIFOTYPE: FIFO,
}


@dataclass(frozen=True)
class Entry:
    """One path of the tree, as `lstat` would see it."""

    path: str  # Absolute, normalised: "/etc/passwd".
    kind: str  # REGULAR, DIRECTORY, SYMLINK, ...
    mode: int  # Permission bits with setuid, setgid and sticky (0o7777).
    uid: int
    gid: int
    linkname: str = ""  # Symlink target.
    size: int = 0
    _data: memoryview | None = field(default=None, repr=False, compare=False)

    def read(self) -> bytes:
        return bytes(self._data) if self._data is not None else b""


def _normalize(name: str) -> str:
    """A tar member name as an absolute path: "./usr/bin/" -> "/usr/bin"."""
    path = posixpath.normpath("/" + name.lstrip("/"))
    return "/" if path == "//" else path


class FileTree:
    """The root filesystem of an image: every path, after every layer."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {"/": Entry("/", DIRECTORY, 0o755, 0, 0)}

    # -- lookups -----------------------------------------------------------

    def lstat(self, path: str) -> Entry | None:
        """The entry at `path` (absolute), following symlinks in its parents only."""
        return self._lookup(path, follow_last=False)

    def stat(self, path: str) -> Entry | None:
        """The entry at `path`, following symlinks all the way (as open() does)."""
        return self._lookup(path, follow_last=True)

    def listdir(self, path: str) -> list[Entry]:
        directory = self.stat(path)
        if directory is None or directory.kind != DIRECTORY:
            return []
        prefix = directory.path.rstrip("/") + "/"
        return sorted(
            (
                e
                for p, e in self.entries.items()
                if p.startswith(prefix) and "/" not in p[len(prefix) :]
            ),
            key=lambda e: e.path,
        )

    def _lookup(self, path: str, follow_last: bool) -> Entry | None:
        resolved = self._resolve(path, follow_last)
        return self.entries.get(resolved) if resolved else None

    def _resolve(self, path: str, follow_last: bool) -> str | None:
        """The canonical path `path` names inside this root (chroot semantics), or None."""
        pending = [p for p in path.split("/") if p][::-1]
        current = "/"
        hops = 0
        while pending:
            part = pending.pop()
            if part == ".":
                continue
            if part == "..":
                current = posixpath.dirname(current)
                continue
            candidate = posixpath.join(current, part)
            entry = self.entries.get(candidate)
            if entry is None:
                return None
            if entry.kind == SYMLINK and (pending or follow_last):
                hops += 1
                if hops > MAX_SYMLINKS:
                    return None
                if entry.linkname.startswith("/"):
                    current = "/"
                pending.extend([p for p in entry.linkname.split("/") if p][::-1])
                continue
            if pending and entry.kind != DIRECTORY:
                return None
            current = candidate
        return current

    # -- building ----------------------------------------------------------

    def _place(self, name: str) -> str:
        """Where a layer member named `name` lands: its parent resolved through symlinks."""
        path = _normalize(name)
        if path == "/":
            return path
        parent = self._resolve(posixpath.dirname(path), follow_last=True)
        if parent is None:
            # A missing parent (made below), or one resolving nowhere: write it literally.
            parent = posixpath.dirname(path)
        return posixpath.join(parent, posixpath.basename(path))

    def _remove(self, path: str) -> None:
        if path == "/":
            self._remove_children(path)
            return
        removed = self.entries.pop(path, None)
        if removed is not None and removed.kind == DIRECTORY:
            self._remove_children(path)

    def _remove_children(self, path: str) -> None:
        prefix = path.rstrip("/") + "/"
        for child in [p for p in self.entries if p.startswith(prefix)]:
            del self.entries[child]

    def _make_parents(self, path: str) -> None:
        parent = posixpath.dirname(path)
        missing = []
        while parent not in self.entries:
            missing.append(parent)
            parent = posixpath.dirname(parent)
        existing = self.entries[parent]
        if existing.kind != DIRECTORY:
            # A file where a directory is needed: the extractor replaces it.
            self._remove(parent)
            missing.append(parent)
        for directory in reversed(missing):
            self.entries[directory] = Entry(directory, DIRECTORY, 0o755, 0, 0)

    def apply_layer(self, tar: bytes, what: str) -> None:
        """Applies one uncompressed layer tar on top of the tree."""
        data = memoryview(tar)
        try:
            with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as archive:
                members = archive.getmembers()
        except tarfile.TarError as e:
            raise LayoutError(f"{what}: not a tar archive: {e}") from e

        # Whiteouts hide what the layers below hold, whatever their order in this layer.
        for member in members:
            path = self._place(member.name)
            base = posixpath.basename(path)
            if base == OPAQUE:
                self._remove_children(posixpath.dirname(path))
            elif base.startswith(WHITEOUT):
                self._remove(
                    posixpath.join(posixpath.dirname(path), base[len(WHITEOUT) :])
                )

        for member in members:
            path = self._place(member.name)
            if posixpath.basename(path).startswith(WHITEOUT):
                continue
            if member.islnk():
                target = self.entries.get(self._place(member.linkname))
                if target is None or target.kind != REGULAR:
                    raise LayoutError(
                        f"{what}: hard link {member.name} -> {member.linkname}: no such file"
                    )
                entry = Entry(
                    path,
                    REGULAR,
                    target.mode,
                    target.uid,
                    target.gid,
                    size=target.size,
                    _data=target._data,
                )
            else:
                kind = _TAR_KINDS.get(member.type)
                if kind is None:
                    raise LayoutError(
                        f"{what}: {member.name}: unsupported tar entry type {member.type!r}"
                    )
                payload = None
                if kind == REGULAR:
                    payload = data[
                        member.offset_data : member.offset_data + member.size
                    ]
                entry = Entry(
                    path,
                    kind,
                    member.mode & 0o7777,
                    member.uid,
                    member.gid,
                    linkname=member.linkname if kind == SYMLINK else "",
                    size=member.size if kind == REGULAR else 0,
                    _data=payload,
                )
            if path == "/":
                self.entries["/"] = entry
                continue
            existing = self.entries.get(path)
            if existing is not None and not (
                existing.kind == DIRECTORY and entry.kind == DIRECTORY
            ):
                self._remove(path)
            self._make_parents(path)
            self.entries[path] = entry


@dataclass(frozen=True)
class Image(ocireader.Image):
    """An image of the layout (manifest, config, layers) and the file tree its layers make."""

    tree: FileTree = field(default_factory=FileTree, compare=False)


class Layout(ocireader.Layout):
    """An OCI image layout (//tools/oci/private:ocireader) whose images are loaded
    with their file trees."""

    def load(self, ref: ImageRef) -> Image:
        """The image's config and file tree, every blob and diff_id checked."""
        image = self.image(ref)
        tree = FileTree()
        for layer in image.layers:
            if layer.diff_id is None:
                raise LayoutError(
                    f"{ref.platform}: {len(image.layers)} layers but 0 diff_ids in the config"
                )
            what = f"{ref.platform} {layer.what}"
            try:
                tar = layer.read()
            except LayoutError as e:
                raise LayoutError(f"{ref.platform}: {e}") from e
            tree.apply_layer(tar, what)
        return Image(image.ref, image.manifest, image.config, image.layers, tree)
