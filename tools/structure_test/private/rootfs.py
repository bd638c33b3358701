"""An OCI image layout read without a container runtime: its platform images,
their config, and the file tree their layers make.

Layers are applied in order as the image-spec says an extractor must:
whiteouts (`.wh.NAME`, `.wh..wh..opq`) remove from the layers below only, a
non-directory replaces whatever was at its path (and everything beneath it), a
directory over a directory only changes its metadata, and parents are resolved
through the symlinks already in the tree (so `lib/x` lands in `usr/lib/x` when
`lib -> usr/lib`). Paths missing from a layer but needed as parents are made
as 0755 root:root directories, as extractors do.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import posixpath
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MEDIA_TYPE_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_TYPE_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
REF_NAME = "org.opencontainers.image.ref.name"
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


class LayoutError(Exception):
    """The layout cannot be read: a missing or corrupt blob, an unknown format."""


@dataclass(frozen=True, order=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        """ "linux/arm64", "linux/arm64/v8" -> Platform."""
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(
                f"{text!r} is not a platform; expected OS/ARCH[/VARIANT], e.g. linux/amd64"
            )
        return cls(*parts)

    @classmethod
    def of(cls, obj: dict[str, Any]) -> Platform:
        return cls(
            obj.get("os", ""), obj.get("architecture", ""), obj.get("variant", "")
        )

    def matches(self, wanted: Platform) -> bool:
        """`wanted` without a variant matches any variant (linux/arm64 is linux/arm64/v8)."""
        return (self.os, self.architecture) == (wanted.os, wanted.architecture) and (
            not wanted.variant or wanted.variant == self.variant
        )

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


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
class ImageRef:
    """One platform's image in a layout, before its layers are read."""

    descriptor: dict[str, Any]
    platform: Platform
    ref: (
        str | None
    )  # The name index.json gives this manifest itself, if any (for umoci).


@dataclass
class Image:
    ref: ImageRef
    config: dict[str, Any]  # The whole config blob: architecture, os, config, rootfs...
    tree: FileTree

    @property
    def runtime(self) -> dict[str, Any]:
        """The "config" object: Entrypoint, Cmd, Env, User, ..."""
        return self.config.get("config") or {}

    def env(self) -> dict[str, str]:
        return dict(item.partition("=")[::2] for item in self.runtime.get("Env") or [])


class Layout:
    """An OCI image layout directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        if not (self.root / "index.json").is_file():
            raise LayoutError(f"{self.root}: not an OCI image layout (no index.json)")

    def _json(self, data: bytes, what: str) -> dict[str, Any]:
        try:
            value = json.loads(data)
        except ValueError as e:
            raise LayoutError(f"{what}: not JSON: {e}") from e
        if not isinstance(value, dict):
            raise LayoutError(f"{what}: not a JSON object")
        return value

    def blob(self, descriptor: dict[str, Any]) -> bytes:
        """The blob a descriptor names, after checking its digest and size."""
        digest = descriptor.get("digest", "")
        algorithm, _, hex_digest = digest.partition(":")
        if algorithm != "sha256" or not hex_digest:
            raise LayoutError(f"unsupported digest {digest!r}")
        path = self.root / "blobs" / algorithm / hex_digest
        try:
            data = path.read_bytes()
        except OSError as e:
            raise LayoutError(f"{self.root}: blob {digest} is missing: {e}") from e
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise LayoutError(f"{self.root}: blob {digest} does not match its digest")
        if "size" in descriptor and len(data) != descriptor["size"]:
            raise LayoutError(
                f"{self.root}: blob {digest} is {len(data)} bytes, not {descriptor['size']}"
            )
        return data

    def images(self) -> list[ImageRef]:
        """Every image reachable from index.json (through nested indexes), once each."""
        top = self._json(
            (self.root / "index.json").read_bytes(), f"{self.root}/index.json"
        )
        names = {
            d["digest"]: d["annotations"][REF_NAME]
            for d in top.get("manifests", [])
            if d.get("annotations", {}).get(REF_NAME)
            and d.get("mediaType") in (MEDIA_TYPE_MANIFEST, DOCKER_MANIFEST)
        }
        found: dict[str, ImageRef] = {}
        pending = list(top.get("manifests", []))
        seen = set()
        while pending:
            descriptor = pending.pop(0)
            digest = descriptor.get("digest")
            if digest in seen:
                continue
            seen.add(digest)
            media_type = descriptor.get("mediaType")
            if media_type in (MEDIA_TYPE_INDEX, DOCKER_MANIFEST_LIST):
                pending.extend(
                    self._json(self.blob(descriptor), f"index {digest}").get(
                        "manifests", []
                    )
                )
            elif media_type in (MEDIA_TYPE_MANIFEST, DOCKER_MANIFEST):
                if "platform" in descriptor:
                    platform = Platform.of(descriptor["platform"])
                else:
                    platform = Platform.of(self._config(descriptor))
                if platform.os == "unknown":
                    continue  # Attestations (buildx) are manifests too; they are not images.
                found[digest] = ImageRef(descriptor, platform, names.get(digest))
        if not found:
            raise LayoutError(f"{self.root}: index.json names no image manifest")
        return sorted(found.values(), key=lambda r: r.platform)

    def _manifest(self, descriptor: dict[str, Any]) -> dict[str, Any]:
        return self._json(self.blob(descriptor), f"manifest {descriptor['digest']}")

    def _config(self, descriptor: dict[str, Any]) -> dict[str, Any]:
        manifest = self._manifest(descriptor)
        return self._json(
            self.blob(manifest["config"]), f"config {manifest['config']['digest']}"
        )

    def load(self, ref: ImageRef) -> Image:
        """The image's config and file tree, every blob and diff_id checked."""
        manifest = self._manifest(ref.descriptor)
        config = self._json(
            self.blob(manifest["config"]), f"config {manifest['config']['digest']}"
        )
        diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
        layers = manifest.get("layers") or []
        if len(diff_ids) != len(layers):
            raise LayoutError(
                f"{ref.platform}: {len(layers)} layers but {len(diff_ids)} diff_ids in the config"
            )
        tree = FileTree()
        for n, (descriptor, diff_id) in enumerate(zip(layers, diff_ids)):
            what = f"{ref.platform} layer {n} ({descriptor['digest']})"
            tar = _decompress(self.blob(descriptor), what)
            if "sha256:" + hashlib.sha256(tar).hexdigest() != diff_id:
                raise LayoutError(
                    f"{what}: uncompressed content does not match diff_id {diff_id}"
                )
            tree.apply_layer(tar, what)
        return Image(ref, config, tree)


def _decompress(blob: bytes, what: str) -> bytes:
    if blob[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(blob)
        except (OSError, EOFError) as e:
            raise LayoutError(f"{what}: bad gzip data: {e}") from e
    if blob[:4] == b"\x28\xb5\x2f\xfd":
        raise LayoutError(f"{what}: zstd layers are not supported; use tar or tar+gzip")
    return blob
