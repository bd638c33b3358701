#!/usr/bin/env python3
"""Build one deterministic OCI layer: a compressed tar (gzip or zstd) plus its descriptor.

    layer.py --output layer.tar.gz --descriptor layer.json
             [--spec SPEC.json]... [--tar IN.tar[.gz|.xz|.zst|.bz2]]...
             [--strip-prefix PREFIX] [--exclude GLOB]... [--mtime N]
             [--compression gzip|zstd] [--compression-level N]
             [--uncompressed-output layer.tar]
             [--listing paths.txt]

A spec is {"entries": [ENTRY, ...]} where ENTRY is
    {"path": "app/main.py", "type": "file", "source": "src/main.py",
     "mode": "0644", "uid": 0, "gid": 0}
    type    "file" (default), "dir", "symlink" or "hardlink"
    path    relative, normalized image path (no leading "/", no "." or "..")
    source  files only: the input file whose content is copied (symlinks followed;
            relative paths are taken from the working directory)
    target  symlinks: the link text; hardlinks: the image path of the linked file
    mode    octal string; default 0755 for dirs, 0777 for symlinks, and for files
            0755 if the source has an execute bit, else 0644
    uid/gid default 0. Hardlinks take mode and owner from the file they link to.

Tar inputs are merged member by member: names normalized ("./usr" -> "usr"),
--strip-prefix removed (every member must be under it), owners kept as numbers,
names of owners, times and extended attributes dropped. --exclude GLOB (fnmatch,
"*" also matches "/") drops matching tar members and everything below them.
Compression is detected from the content; zstd is read by ocireader's zstd stream
(libzstd of the pinned zstandard wheel: no zstd program is needed).

The tar is POSIX ustar, entries sorted bytewise by path, parents always present
(implicit ones 0755 root), mtime fixed, empty owner names; a path longer than 100
bytes gets a PAX header with only "path"/"linkpath" (never times). In each group of
hardlinks the bytewise-first path holds the content and the others link to it, so
every link follows its target. The same path twice is fine if both are identical
and an error naming both origins otherwise. Device files and FIFOs are rejected;
whiteouts (.wh.*) are ordinary files and pass through.

The compressed stream comes from ocilib.layer_compressor (zlib-ng for gzip, the
default; libzstd from the zstandard wheel for zstd, media type tar+zstd), fed in
fixed 1 MiB chunks: the chunk size is part of the output format (changing it
changes digests). Contents are
held in memory while the layer is built, which suits layers of up to a few hundred MB.
"""

from __future__ import annotations

import argparse
import bz2
import contextlib
import fnmatch
import gzip
import lzma
import os
import posixpath
import re
import stat
import sys
import tarfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import BinaryIO

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ocilib
import ocireader

FILE, DIR, SYMLINK, HARDLINK = "file", "dir", "symlink", "hardlink"
_TYPEFLAGS = {FILE: b"0", HARDLINK: b"1", SYMLINK: b"2", DIR: b"5"}
_DEFAULT_MODES = {DIR: 0o755, SYMLINK: 0o777}
_SPEC_KEYS = {"path", "type", "source", "target", "mode", "uid", "gid"}
_MODE_RE = re.compile(r"^0?[0-7]{3,4}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_BLOCK = 512
_COMPRESS_CHUNK = 1 << 20
_READ_CHUNK = 1 << 20
_MAX_MTIME = 8**11 - 1  # What the 12-byte ustar field holds; we never write PAX times.
_MAX_ID = 2**32 - 1


@dataclass(frozen=True)
class Entry:
    """One path of the layer. Equality ignores origin: it decides identical duplicates."""

    path: str
    kind: str
    mode: int
    uid: int
    gid: int
    origin: str = field(compare=False)
    sha256: str = ""  # Hex digest of the content: files, and hardlinks read from a tar.
    target: str = ""  # Symlink text, or the path a hardlink points to.
    data: bytes | None = field(default=None, compare=False, repr=False)

    def describe(self) -> str:
        text = f"{self.kind} mode {self.mode:04o} uid {self.uid} gid {self.gid}"
        if self.data is not None:
            text += f" sha256:{self.sha256} ({len(self.data)} bytes)"
        if self.target:
            text += f" -> {self.target!r}"
        return text


def _file_entry(
    path: str, mode: int, uid: int, gid: int, origin: str, data: bytes
) -> Entry:
    return Entry(
        path, FILE, mode, uid, gid, origin, sha256=_sha256_hex(data), data=data
    )


def _sha256_hex(data: bytes) -> str:
    return ocilib.sha256_digest(data).removeprefix("sha256:")


# --- paths -----------------------------------------------------------------------------


def check_image_path(path: object, origin: str) -> str:
    """A spec path must already be in the one form we write: relative and normalized."""
    if not isinstance(path, str) or not path:
        raise ocilib.OciError(f"{origin}: 'path' must be a non-empty string")
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ocilib.OciError(
            f"{origin}: path {path!r} must be relative and normalized "
            "(no leading or trailing '/', no '//', '.' or '..')"
        )
    _check_characters(path, origin)
    return path


def _check_characters(path: str, origin: str) -> None:
    # Control characters would corrupt the listing and are never intended in an image.
    if _CONTROL_RE.search(path):
        raise ocilib.OciError(f"{origin}: path {path!r} contains control characters")


def normalize_member_path(name: str, strip_prefix: str, origin: str) -> str | None:
    """Map a tar member name to an image path; None for the archive root itself."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if name.startswith("/") or ".." in parts:
        raise ocilib.OciError(
            f"{origin}: member name {name!r} is absolute or contains '..'"
        )
    path = "/".join(parts)
    if strip_prefix:
        if path == strip_prefix:
            return None
        if not path.startswith(strip_prefix + "/"):
            raise ocilib.OciError(
                f"{origin}: member {name!r} is not under --strip-prefix"
            )
        path = path[len(strip_prefix) + 1 :]
    if not path:
        return None
    _check_characters(path, origin)
    return path


def normalize_strip_prefix(prefix: str) -> str:
    parts = [p for p in prefix.split("/") if p not in ("", ".")]
    if prefix.startswith("/") or ".." in parts:
        raise ocilib.OciError(
            f"--strip-prefix {prefix!r} must be relative without '..'"
        )
    return "/".join(parts)


def is_excluded(path: str, globs: Iterable[str]) -> bool:
    """A glob excludes the paths it matches and everything below them."""
    globs = list(globs)
    while path:
        if any(fnmatch.fnmatchcase(path, g) for g in globs):
            return True
        path = posixpath.dirname(path)
    return False


# --- spec input ------------------------------------------------------------------------


def read_spec(spec_path: str) -> Iterator[Entry]:
    doc = ocilib.load_json_file(spec_path, "layer spec")
    if (
        not isinstance(doc, dict)
        or set(doc) != {"entries"}
        or not isinstance(doc["entries"], list)
    ):
        raise ocilib.OciError(
            f'layer spec {spec_path!r} must be an object {{"entries": [...]}}'
        )
    for i, item in enumerate(doc["entries"]):
        yield spec_entry(item, f"{spec_path} entry {i}")


def spec_entry(item: object, origin: str) -> Entry:
    if not isinstance(item, dict):
        raise ocilib.OciError(f"{origin}: entry must be a JSON object")
    if unknown := sorted(set(item) - _SPEC_KEYS):
        raise ocilib.OciError(
            f"{origin}: unknown keys {unknown}; allowed: {sorted(_SPEC_KEYS)}"
        )
    path = check_image_path(item.get("path"), origin)
    origin = f"{origin} ({path})"
    kind = item.get("type", FILE)
    if kind not in _TYPEFLAGS:
        raise ocilib.OciError(
            f"{origin}: type must be one of {sorted(_TYPEFLAGS)}, got {kind!r}"
        )
    _check_keys_for_kind(item, kind, origin)
    uid = _parse_id(item.get("uid", 0), "uid", origin)
    gid = _parse_id(item.get("gid", 0), "gid", origin)
    if kind == FILE:
        data, executable = _read_source(item["source"], origin)
        mode = _parse_mode(item.get("mode"), 0o755 if executable else 0o644, origin)
        return _file_entry(path, mode, uid, gid, origin, data)
    mode = _parse_mode(item.get("mode"), _DEFAULT_MODES.get(kind, 0), origin)
    target = item.get("target", "")
    if kind == HARDLINK:
        target = check_image_path(target, f"{origin} target")
    return Entry(path, kind, mode, uid, gid, origin, target=target)


def _check_keys_for_kind(item: dict[str, object], kind: str, origin: str) -> None:
    required = {
        FILE: {"source"},
        DIR: set(),
        SYMLINK: {"target"},
        HARDLINK: {"target"},
    }[kind]
    forbidden = {"source", "target"} - required
    if kind == HARDLINK:
        forbidden |= {"mode", "uid", "gid"}  # A hardlink shares its target's inode.
    if missing := sorted(required - set(item)):
        raise ocilib.OciError(f"{origin}: a {kind} entry needs {missing}")
    if extra := sorted(forbidden & set(item)):
        raise ocilib.OciError(f"{origin}: a {kind} entry cannot have {extra}")
    if kind == SYMLINK:
        target = item["target"]
        if not isinstance(target, str) or not target or "\0" in target:
            raise ocilib.OciError(
                f"{origin}: symlink target must be a non-empty string"
            )


def _parse_mode(value: object, default: int, origin: str) -> int:
    if value is None:
        return default
    if not isinstance(value, str) or not _MODE_RE.match(value):
        raise ocilib.OciError(
            f'{origin}: mode must be an octal string like "0644", got {value!r}'
        )
    return int(value, 8)


def _parse_id(value: object, key: str, origin: str) -> int:
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or not 0 <= value <= _MAX_ID
    ):
        raise ocilib.OciError(
            f"{origin}: {key} must be an integer 0..{_MAX_ID}, got {value!r}"
        )
    return value


def _read_source(source: object, origin: str) -> tuple[bytes, bool]:
    if not isinstance(source, str) or not source:
        raise ocilib.OciError(f"{origin}: 'source' must be a non-empty string")
    try:
        with open(source, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise ocilib.OciError(
                    f"{origin}: source {source!r} is not a regular file"
                )
            return f.read(), bool(st.st_mode & 0o111)
    except OSError as e:
        raise ocilib.OciError(
            f"{origin}: cannot read source {source!r}: {e.strerror}"
        ) from e


# --- tar input -------------------------------------------------------------------------


@contextlib.contextmanager
def open_decompressed(path: str) -> Iterator[BinaryIO]:
    """Open a possibly compressed tar, recognising the compression by its magic bytes."""
    with open(path, "rb") as raw:
        magic = raw.read(6)
        raw.seek(0)
        if magic.startswith(b"\x1f\x8b"):
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                yield stream  # type: ignore[misc]
        elif magic.startswith(b"\xfd7zXZ\x00"):
            with lzma.LZMAFile(raw) as stream:
                yield stream  # type: ignore[misc]
        elif magic.startswith(b"BZh"):
            with bz2.BZ2File(raw) as stream:
                yield stream  # type: ignore[misc]
        elif magic.startswith(b"\x28\xb5\x2f\xfd"):
            # Read to its end, so that a truncated frame is an error, never a
            # shorter tar.
            with ocireader.zstd_stream(raw) as stream:
                yield stream  # type: ignore[misc]
                while stream.read(_READ_CHUNK):
                    pass
        else:
            yield raw


def read_tar(path: str, strip_prefix: str, excludes: list[str]) -> Iterator[Entry]:
    try:
        # Stream mode reads each member once; the explicit encoding keeps names
        # independent of the host locale.
        with (
            open_decompressed(path) as stream,
            tarfile.open(
                fileobj=stream, mode="r|", encoding="utf-8", errors="surrogateescape"
            ) as tar,
        ):
            yield from _tar_entries(tar, path, strip_prefix, excludes)
    except (
        tarfile.TarError,
        OSError,
        EOFError,
        lzma.LZMAError,
        zlib.error,
        ocireader.BadCompressedData,
    ) as e:
        raise ocilib.OciError(f"cannot read tar {path!r}: {e}") from e


def _tar_entries(
    tar: tarfile.TarFile, path: str, strip_prefix: str, excludes: list[str]
) -> Iterator[Entry]:
    # Every file read so far, excluded or not: a kept hardlink may point at a dropped file.
    by_name: dict[str, Entry] = {}
    for member in tar:
        origin = f"{path} member {member.name!r}"
        name = normalize_member_path(member.name, strip_prefix, origin)
        if name is None:
            continue
        entry = _member_entry(tar, member, name, origin, strip_prefix, by_name)
        if entry.kind in (FILE, HARDLINK):
            by_name[name] = entry
        if not is_excluded(name, excludes):
            yield entry


def _member_entry(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    name: str,
    origin: str,
    strip_prefix: str,
    by_name: dict[str, Entry],
) -> Entry:
    mode, uid, gid = member.mode & 0o7777, member.uid, member.gid
    if member.isreg():
        reader = tar.extractfile(member)
        assert reader is not None
        return _file_entry(name, mode, uid, gid, origin, reader.read())
    if member.isdir():
        return Entry(name, DIR, mode, uid, gid, origin)
    if member.issym():
        if not member.linkname:
            raise ocilib.OciError(f"{origin}: symlink with an empty target")
        return Entry(name, SYMLINK, mode, uid, gid, origin, target=member.linkname)
    if member.islnk():
        target = normalize_member_path(member.linkname, strip_prefix, origin)
        linked = by_name.get(target or "")
        if linked is None:
            raise ocilib.OciError(
                f"{origin}: hardlink to {member.linkname!r}, which is not a file earlier in the tar"
            )
        # The link is the same inode: same content and metadata as the file it names.
        return replace(
            linked, path=name, kind=HARDLINK, target=target or "", origin=origin
        )
    if member.ischr() or member.isblk() or member.isfifo():
        raise ocilib.OciError(
            f"{origin}: device files and FIFOs cannot be put in a layer "
            "(the runtime creates /dev); exclude it with --exclude"
        )
    raise ocilib.OciError(f"{origin}: unsupported tar member type {member.type!r}")


# --- merging ---------------------------------------------------------------------------


def merge(entries: Iterable[Entry]) -> dict[str, Entry]:
    """Collect entries by path; identical duplicates merge, different ones are an error."""
    merged: dict[str, Entry] = {}
    for entry in entries:
        existing = merged.setdefault(entry.path, entry)
        if existing != entry:
            raise ocilib.OciError(
                f"conflicting entries for path {entry.path!r}:\n"
                f"  {existing.describe()}\n    from {existing.origin}\n"
                f"  {entry.describe()}\n    from {entry.origin}"
            )
    return merged


def add_parents(entries: dict[str, Entry]) -> None:
    """Give every path its parent directories, so extraction never invents them."""
    for path in sorted(entries):
        child, parent = path, posixpath.dirname(path)
        while parent:
            existing = entries.get(parent)
            if existing is None:
                entries[parent] = Entry(
                    parent, DIR, 0o755, 0, 0, f"implicit parent of {child!r}"
                )
            elif existing.kind != DIR:
                raise ocilib.OciError(
                    f"path {path!r} (from {entries[path].origin}) needs the directory {parent!r}, "
                    f"but {parent!r} is a {existing.kind} (from {existing.origin})"
                )
            child, parent = parent, posixpath.dirname(parent)


def resolve_hardlinks(entries: dict[str, Entry]) -> None:
    """Rewrite each hardlink group so its bytewise-first path holds the content.

    Tar readers need a link's target earlier in the archive; after sorting by path that
    is only guaranteed if the first path of the group is the regular file.
    """
    groups: dict[str, list[str]] = {}
    for path, entry in entries.items():
        if entry.kind == HARDLINK:
            groups.setdefault(_link_root(entries, entry), []).append(path)
    for root, links in sorted(groups.items()):
        template = _group_template(entries, root, links)
        members = sorted(links + ([root] if root in entries else []), key=_path_bytes)
        first = members[0]
        entries[first] = replace(template, path=first, kind=FILE, target="")
        for other in members[1:]:
            entries[other] = replace(template, path=other, kind=HARDLINK, target=first)


def _link_root(entries: dict[str, Entry], entry: Entry) -> str:
    seen = {entry.path}
    target = entry.target
    while (linked := entries.get(target)) is not None and linked.kind == HARDLINK:
        if target in seen:
            raise ocilib.OciError(
                f"hardlink cycle through {target!r} (from {entry.origin})"
            )
        seen.add(target)
        target = linked.target
    return target


def _group_template(entries: dict[str, Entry], root: str, links: list[str]) -> Entry:
    """The file whose content and metadata every member of a hardlink group gets."""
    target = entries.get(root)
    ordered = [entries[p] for p in sorted(links, key=_path_bytes)]
    first_link = ordered[0]
    if target is None:
        # The linked file was excluded or never listed; a link read from a tar still
        # carries its content, one from a spec does not.
        with_content = [link for link in ordered if link.data is not None]
        if not with_content:
            raise ocilib.OciError(
                f"hardlink {first_link.path!r} (from {first_link.origin}) points to {root!r}, "
                "which is not in the layer"
            )
        return with_content[0]
    if target.kind != FILE:
        raise ocilib.OciError(
            f"hardlink {first_link.path!r} (from {first_link.origin}) points to {root!r}, "
            f"which is a {target.kind} (from {target.origin})"
        )
    for path in links:
        link = entries[path]
        if link.data is not None and link.sha256 != target.sha256:
            raise ocilib.OciError(
                f"hardlink {path!r} (from {link.origin}) has other content than {root!r} "
                f"(from {target.origin})"
            )
    return target


def _path_bytes(path: str) -> bytes:
    """Paths as written in the tar; their bytewise order is the order of the tar."""
    return path.encode("utf-8", "surrogateescape")


def build_entries(entries: Iterable[Entry]) -> list[Entry]:
    merged = merge(entries)
    add_parents(merged)
    resolve_hardlinks(merged)
    return [merged[p] for p in sorted(merged, key=_path_bytes)]


# --- tar output ------------------------------------------------------------------------


def _fits(value: int, width: int) -> bool:
    """Whether width-1 octal digits hold the value."""
    return 0 <= value < 1 << (3 * (width - 1))


def _octal(value: int, width: int) -> bytes:
    """A numeric ustar field: width-1 octal digits and a NUL."""
    assert _fits(value, width), (value, width)
    return b"%0*o\0" % (width - 1, value)


def _padded(data: bytes, width: int) -> bytes:
    return data[:width].ljust(width, b"\0")


def _ustar_block(
    name: bytes, typeflag: bytes, mode: int, numbers: dict[str, int], linkname: bytes
) -> bytes:
    block = b"".join(
        [
            _padded(name, 100),
            _octal(mode, 8),
            _octal(numbers["uid"], 8),
            _octal(numbers["gid"], 8),
            _octal(numbers["size"], 12),
            _octal(numbers["mtime"], 12),
            b" " * 8,  # Checksum placeholder: counted as spaces.
            typeflag,
            _padded(linkname, 100),
            b"ustar\x0000",
            _padded(b"", 32),  # uname: empty, ids are numeric.
            _padded(b"", 32),  # gname
            _padded(b"", 8),  # devmajor
            _padded(b"", 8),  # devminor
            _padded(b"", 155),  # prefix: unused, long names go to PAX.
        ]
    ).ljust(_BLOCK, b"\0")
    return block[:148] + b"%06o\0 " % sum(block) + block[156:]


def _pax_record(key: str, value: bytes) -> bytes:
    """'LEN key=value\\n', where LEN counts the whole record including itself."""
    payload = b" " + key.encode("ascii") + b"=" + value + b"\n"
    length = len(payload) + 1
    while length != len(payload) + len(str(length)):
        length = len(payload) + len(str(length))
    return str(length).encode("ascii") + payload


def _pax_header(records: dict[str, bytes]) -> bytes:
    body = b"".join(_pax_record(k, v) for k, v in sorted(records.items()))
    numbers = {"uid": 0, "gid": 0, "size": len(body), "mtime": 0}
    return _ustar_block(b"././@PaxHeader", b"x", 0o644, numbers, b"") + _pad(body)


def tar_header(
    name: bytes,
    typeflag: bytes,
    mode: int,
    uid: int,
    gid: int,
    size: int,
    mtime: int,
    linkname: bytes = b"",
) -> bytes:
    """One member's header, after a PAX header only for what ustar cannot hold.

    The PAX header never carries times: those would make the layer depend on the clock.
    """
    pax: dict[str, bytes] = {}
    if len(name) > 100:
        pax["path"] = name
    if len(linkname) > 100:
        pax["linkpath"] = linkname
    numbers = {"uid": uid, "gid": gid, "size": size, "mtime": mtime}
    for key, width in (("uid", 8), ("gid", 8), ("size", 12)):
        if not _fits(numbers[key], width):
            pax[key] = str(numbers[key]).encode("ascii")
            numbers[key] = 0
    header = _pax_header(pax) if pax else b""
    return header + _ustar_block(name, typeflag, mode, numbers, linkname)


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % _BLOCK)


def write_tar(entries: Iterable[Entry], mtime: int, out: LayerSink) -> None:
    for entry in entries:
        name = entry.path + "/" if entry.kind == DIR else entry.path
        data = entry.data if entry.kind == FILE else None
        out.write(
            tar_header(
                _path_bytes(name),
                _TYPEFLAGS[entry.kind],
                entry.mode,
                entry.uid,
                entry.gid,
                len(data) if data is not None else 0,
                mtime,
                _path_bytes(entry.target),
            )
        )
        if data is not None:
            out.write(_pad(data))
    out.write(b"\0" * (2 * _BLOCK))  # End-of-archive marker.


class LayerSink:
    """Takes the tar stream: hashes it (diff_id), optionally keeps it, and compresses it.

    The compressor is fed fixed-size chunks, so the compressed bytes are a function of
    the tar bytes alone, not of how the tar writer happened to split its writes.
    """

    def __init__(
        self,
        compressed: BinaryIO,
        uncompressed: BinaryIO | None,
        compression: str = ocilib.DEFAULT_COMPRESSION,
        level: int | None = None,
    ) -> None:
        self.tar = ocilib.HashingWriter(uncompressed)
        self.compressed = ocilib.HashingWriter(compressed)
        self.media_type = ocilib.LAYER_MEDIA_TYPE[compression]
        self._compressor = ocilib.layer_compressor(compression, level)
        self._pending = bytearray()

    def write(self, data: bytes) -> None:
        self.tar.write(data)
        view = memoryview(data)
        while view:
            take = min(_COMPRESS_CHUNK - len(self._pending), len(view))
            self._pending += view[:take]
            view = view[take:]
            if len(self._pending) == _COMPRESS_CHUNK:
                self.compressed.write(self._compressor.compress(bytes(self._pending)))
                self._pending.clear()

    def close(self) -> None:
        self.compressed.write(self._compressor.compress(bytes(self._pending)))
        self.compressed.write(self._compressor.flush())
        self._pending.clear()


# --- listing and main ------------------------------------------------------------------


def listing_lines(entries: Iterable[Entry]) -> Iterator[str]:
    yield "# path\ttype\tmode\tuid\tgid\tsize\tsha256\ttarget\n"
    for e in entries:
        size = len(e.data) if e.data is not None else 0
        sha = e.sha256 or "-"
        yield f"{e.path}\t{e.kind}\t{e.mode:04o}\t{e.uid}\t{e.gid}\t{size}\t{sha}\t{e.target or '-'}\n"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="layer.py",
        description="Build one deterministic OCI layer (tar+gzip or tar+zstd) and its descriptor.",
    )
    p.add_argument(
        "--spec", action="append", default=[], help="layer spec JSON (repeatable)"
    )
    p.add_argument(
        "--tar", action="append", default=[], help="tar to merge in (repeatable)"
    )
    p.add_argument(
        "--strip-prefix", default="", help="prefix removed from tar member names"
    )
    p.add_argument(
        "--exclude", action="append", default=[], help="glob of tar members to drop"
    )
    p.add_argument(
        "--mtime", type=int, default=0, help="mtime of every entry (default 0)"
    )
    p.add_argument(
        "--compression",
        choices=ocilib.COMPRESSIONS,
        default=ocilib.DEFAULT_COMPRESSION,
        help="layer compression (default gzip)",
    )
    p.add_argument(
        "--compression-level",
        type=int,
        help=f"default: {ocilib.DEFAULT_GZIP_LEVEL} for gzip, {ocilib.DEFAULT_ZSTD_LEVEL} for zstd",
    )
    p.add_argument("--output", required=True, help="layer blob to write (compressed)")
    p.add_argument("--descriptor", required=True, help="descriptor JSON to write")
    p.add_argument("--uncompressed-output", help="also write the plain tar here")
    p.add_argument("--listing", help="also write a sorted listing of the entries here")
    return p.parse_args(argv)


def collect(args: argparse.Namespace) -> list[Entry]:
    strip_prefix = normalize_strip_prefix(args.strip_prefix)

    def all_entries() -> Iterator[Entry]:
        for spec in args.spec:
            yield from read_spec(spec)
        for tar in args.tar:
            yield from read_tar(tar, strip_prefix, args.exclude)

    return build_entries(all_entries())


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    if not 0 <= args.mtime <= _MAX_MTIME:
        raise ocilib.OciError(f"--mtime must be 0..{_MAX_MTIME}")
    # Fail on a bad level (or a zstandard that is not the pinned one) before any work.
    ocilib.layer_compressor(args.compression, args.compression_level)
    entries = collect(args)
    with contextlib.ExitStack() as stack:
        compressed = stack.enter_context(open(args.output, "wb"))
        uncompressed = None
        if args.uncompressed_output:
            uncompressed = stack.enter_context(open(args.uncompressed_output, "wb"))
        sink = LayerSink(
            compressed, uncompressed, args.compression, args.compression_level
        )
        write_tar(entries, args.mtime, sink)
        sink.close()
    for path in (args.output, args.uncompressed_output):
        if path:
            os.chmod(path, 0o644)
    desc = ocilib.descriptor(
        sink.media_type, sink.compressed.digest, sink.compressed.size
    )
    desc["diff_id"] = sink.tar.digest
    ocilib.write_file(args.descriptor, ocilib.canonical_json(desc))
    if args.listing:
        ocilib.write_file(
            args.listing,
            "".join(listing_lines(entries)).encode("utf-8", "surrogateescape"),
        )


if __name__ == "__main__":
    ocilib.run_main(main)
