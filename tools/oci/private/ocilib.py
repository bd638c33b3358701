"""Shared helpers for the OCI action programs (layer.py, image.py, index.py, pyc.py).

Everything that decides bytes in an output lives here so the programs agree: digests,
canonical JSON, blob writing in an image layout, descriptors, platforms and the
pinned layer compressors (gzip, zstd). Reading layouts is ocireader.py's. Python
standard library only, except zlib-ng for gzip and zstandard for zstd (each imported
only when used); the platforms come from //platforms:image_platforms.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from image_platforms import PLATFORMS

# Media types and annotation keys from the OCI image-spec v1.1.
MEDIA_TYPE_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
MEDIA_TYPE_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_TYPE_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
MEDIA_TYPE_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_TYPE_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_TYPE_INDEX = "application/vnd.oci.image.index.v1+json"
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
ANNOTATION_BASE_DIGEST = "org.opencontainers.image.base.digest"
# containers/image's mark of an index entry whose layers need zstd (podman prefers it).
ANNOTATION_COMPRESSION_ZSTD = "io.github.containers.compression.zstd"

# Base images copied from a Docker registry may still carry Docker media types. The
# blobs are byte-compatible, so they are renamed to their OCI equivalents.
DOCKER_MEDIA_TYPE_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MEDIA_TYPE_MANIFEST_LIST = (
    "application/vnd.docker.distribution.manifest.list.v2+json"
)
DOCKER_TO_OCI_LAYER = {
    "application/vnd.docker.image.rootfs.diff.tar.gzip": MEDIA_TYPE_LAYER_GZIP,
    "application/vnd.docker.image.rootfs.diff.tar": MEDIA_TYPE_LAYER_TAR,
}
LAYER_MEDIA_TYPES = frozenset(
    {MEDIA_TYPE_LAYER_TAR, MEDIA_TYPE_LAYER_GZIP, MEDIA_TYPE_LAYER_ZSTD}
)
MANIFEST_MEDIA_TYPES = frozenset({MEDIA_TYPE_MANIFEST, DOCKER_MEDIA_TYPE_MANIFEST})
INDEX_MEDIA_TYPES = frozenset({MEDIA_TYPE_INDEX, DOCKER_MEDIA_TYPE_MANIFEST_LIST})

OCI_LAYOUT_FILE = {"imageLayoutVersion": "1.0.0"}

# What the rules compress layers with (//tools/oci:compression), and the media type
# each one writes. gzip is the default: every runtime reads it.
COMPRESSIONS = ("gzip", "zstd")
DEFAULT_COMPRESSION = "gzip"
LAYER_MEDIA_TYPE = {"gzip": MEDIA_TYPE_LAYER_GZIP, "zstd": MEDIA_TYPE_LAYER_ZSTD}
DEFAULT_GZIP_LEVEL = 6
# Level 19, the highest without --ultra: layers are compressed once and pulled many
# times, and zstd unpacks as fast at 19 as at 3 (the bench measures both).
DEFAULT_ZSTD_LEVEL = 19
# The libzstd inside the locked zstandard wheel. Another libzstd may compress the same
# tar to other bytes, so a different one is an error, not a silent digest change.
ZSTD_LIBRARY_VERSION = (1, 5, 7)
DEFAULT_LEVELS = {"gzip": DEFAULT_GZIP_LEVEL, "zstd": DEFAULT_ZSTD_LEVEL}

_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
# image-spec "ref.name" grammar: components of alphanumerics joined by [-._:@+] or "--",
# separated by "/".
_REF_COMPONENT = r"[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*"
_REF_NAME_RE = re.compile(rf"^{_REF_COMPONENT}(?:/{_REF_COMPONENT})*$")
_COPY_CHUNK = 1 << 20


class OciError(Exception):
    """A problem with the inputs; the message is shown to the user as is."""


# --- gzip ------------------------------------------------------------------------------


def gzip_compressor(level: int = DEFAULT_GZIP_LEVEL) -> Any:
    """The only gzip compressor of the rules: digests must not depend on the host's zlib.

    zlib-ng is pinned in the project lock. wbits=31 asks for a gzip wrapper whose header
    has mtime 0, no file name and OS byte 3, so the stream is a function of the input.
    """
    from zlib_ng import (
        zlib_ng,
    )  # Imported here so programs without gzip need no zlib-ng.

    if not 0 <= level <= 9:
        raise OciError(f"gzip compression level must be 0..9, got {level}")
    return zlib_ng.compressobj(
        level, zlib_ng.DEFLATED, 31, 8, zlib_ng.Z_DEFAULT_STRATEGY
    )


def zstd_compressor(level: int = DEFAULT_ZSTD_LEVEL) -> Any:
    """The only zstd compressor of the rules, pinned like gzip's.

    libzstd comes from the zstandard wheel in the project lock (its C extension, never
    a system library). Single-threaded (threads=0: the multi-threaded encoder's output
    depends on the job split), no dictionary ID, no content size in the frame header
    (the stream's length is not known when the header is written), and an XXH64
    checksum of the content at the end, so every decompressor verifies the layer.
    """
    import zstandard  # Imported here so programs without zstd need no zstandard.

    if zstandard.backend != "cext" or zstandard.ZSTD_VERSION != ZSTD_LIBRARY_VERSION:
        found = ".".join(map(str, zstandard.ZSTD_VERSION))
        pinned = ".".join(map(str, ZSTD_LIBRARY_VERSION))
        raise OciError(
            f"zstandard {zstandard.__version__} ({zstandard.backend} backend) bundles"
            f" libzstd {found}; layer digests are pinned to libzstd {pinned} from the"
            " C extension of the locked wheel. Use the requirements_lock.txt version,"
            " or update ocilib.ZSTD_LIBRARY_VERSION knowing zstd digests will change"
        )
    if not 1 <= level <= 19:
        raise OciError(f"zstd compression level must be 1..19, got {level}")
    return zstandard.ZstdCompressor(
        level=level,
        threads=0,
        write_checksum=True,
        write_content_size=False,
        write_dict_id=False,
    ).compressobj()


def layer_compressor(compression: str, level: int | None = None) -> Any:
    """A compressor of `compression` ("gzip" or "zstd"): .compress(data) and .flush()."""
    if compression not in COMPRESSIONS:
        raise OciError(
            f"unknown layer compression {compression!r}; use one of {', '.join(COMPRESSIONS)}"
        )
    level = DEFAULT_LEVELS[compression] if level is None else level
    if compression == "zstd":
        return zstd_compressor(level)
    return gzip_compressor(level)


# --- digests and JSON ------------------------------------------------------------------


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj: object) -> bytes:
    """The byte form of every config, manifest and index we write."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode("utf-8")


def check_digest(digest: object, what: str) -> str:
    if not isinstance(digest, str) or not _DIGEST_RE.match(digest):
        raise OciError(f"{what}: expected a digest 'sha256:<64 hex>', got {digest!r}")
    return digest


def check_ref_name(ref: str) -> str:
    if not _REF_NAME_RE.match(ref):
        raise OciError(
            f"invalid ref name {ref!r}: use letters and digits joined by one of - . _ : @ + "
            "(or --), components separated by /"
        )
    return ref


def load_json_file(path: str | Path, what: str) -> Any:
    try:
        with open(path, "rb") as f:
            return json.load(f)
    except OSError as e:
        raise OciError(f"cannot read {what} {str(path)!r}: {e.strerror}") from e
    except ValueError as e:
        raise OciError(f"{what} {str(path)!r} is not valid JSON: {e}") from e


def write_file(path: str | Path, data: bytes) -> None:
    """Write an output file with a fixed mode, whatever the umask."""
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o644)


# --- streams ---------------------------------------------------------------------------


class HashingWriter:
    """Counts and hashes everything written through it, optionally passing it on."""

    def __init__(self, sink: BinaryIO | None = None) -> None:
        self._sink = sink
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._hash.update(data)
        self.size += len(data)
        if self._sink is not None:
            self._sink.write(data)

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()


# --- platforms -------------------------------------------------------------------------

# (os, architecture) -> the variant we always record: platforms.bzl's table.
KNOWN_PLATFORMS: dict[tuple[str, str], str | None] = {
    (p["os"], p["architecture"]): p["variant"] or None for p in PLATFORMS.values()
}


@dataclass(frozen=True, order=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse "os/arch[/variant]"; arm64 always gets variant v8 so images compare equal."""
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise OciError(
                f"invalid platform {text!r}: expected os/arch or os/arch/variant"
            )
        return cls.from_fields(
            parts[0], parts[1], parts[2] if len(parts) == 3 else None, text
        )

    @classmethod
    def from_fields(
        cls, os_name: str, arch: str, variant: str | None, shown: str | None = None
    ) -> Platform:
        key = (os_name, arch)
        if key not in KNOWN_PLATFORMS:
            known = ", ".join(sorted(f"{o}/{a}" for o, a in KNOWN_PLATFORMS))
            raise OciError(
                f"unknown platform {shown or f'{os_name}/{arch}'!r}; known: {known}"
            )
        expected = KNOWN_PLATFORMS[key]
        if variant is None:
            variant = expected
        if variant != expected:
            raise OciError(
                f"unsupported variant {variant!r} for {os_name}/{arch}"
                + (f" (only {expected!r})" if expected else " (none allowed)")
            )
        return cls(os_name, arch, variant)

    @classmethod
    def from_json(cls, obj: object, what: str) -> Platform:
        if not isinstance(obj, dict) or "os" not in obj or "architecture" not in obj:
            raise OciError(f"{what}: missing os/architecture")
        return cls.from_fields(obj["os"], obj["architecture"], obj.get("variant"))

    def to_json(self) -> dict[str, str]:
        out = {"os": self.os, "architecture": self.architecture}
        if self.variant:
            out["variant"] = self.variant
        return out

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    def slug(self) -> str:
        """Form used in ref names, e.g. linux-arm64-v8."""
        return str(self).replace("/", "-")


# --- descriptors and layouts -----------------------------------------------------------


def descriptor(
    media_type: str,
    digest: str,
    size: int,
    platform: Platform | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"mediaType": media_type, "digest": digest, "size": size}
    if platform is not None:
        out["platform"] = platform.to_json()
    if annotations:
        out["annotations"] = dict(annotations)
    return out


def parse_descriptor(obj: object, what: str) -> dict[str, Any]:
    """Check the fields every descriptor must have and return it."""
    if not isinstance(obj, dict):
        raise OciError(f"{what}: descriptor must be a JSON object")
    if not isinstance(obj.get("mediaType"), str):
        raise OciError(f"{what}: descriptor has no mediaType")
    check_digest(obj.get("digest"), what)
    size = obj.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise OciError(f"{what}: descriptor size must be a non-negative integer")
    return obj


def blob_path(layout: Path, digest: str) -> Path:
    check_digest(digest, "blob")
    return layout / "blobs" / "sha256" / digest.removeprefix("sha256:")


def init_layout(layout: Path) -> None:
    """Create an empty output layout; Bazel hands us an empty (or missing) directory."""
    if layout.exists() and any(layout.iterdir()):
        raise OciError(f"output directory {str(layout)!r} is not empty")
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)


def finish_layout(layout: Path, manifests: Iterable[dict[str, Any]]) -> None:
    """Write oci-layout and the top-level index.json naming the given descriptors."""
    write_file(layout / "oci-layout", canonical_json(OCI_LAYOUT_FILE))
    index = {
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_INDEX,
        "manifests": list(manifests),
    }
    write_file(layout / "index.json", canonical_json(index))


def write_blob(layout: Path, data: bytes) -> str:
    digest = sha256_digest(data)
    path = blob_path(layout, digest)
    if not path.exists():
        write_file(path, data)
    return digest


def write_json_blob(layout: Path, media_type: str, obj: object) -> dict[str, Any]:
    data = canonical_json(obj)
    return descriptor(media_type, write_blob(layout, data), len(data))


def copy_blob(src: str | Path, layout: Path, digest: str, size: int, what: str) -> None:
    """Copy a blob into the layout by content, checking it is what its descriptor says.

    Blobs are never recompressed: the bytes, hence the digest, stay those of the input.
    """
    dest = blob_path(layout, digest)
    if dest.exists():
        return  # Content-addressed and checked when first written.
    tmp = dest.with_name(dest.name + ".partial")
    try:
        with open(src, "rb") as fin, open(tmp, "wb") as fout:
            writer = HashingWriter(fout)
            while chunk := fin.read(_COPY_CHUNK):
                writer.write(chunk)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise OciError(f"cannot copy {what} from {str(src)!r}: {e.strerror}") from e
    if writer.digest != digest or writer.size != size:
        tmp.unlink()
        raise OciError(
            f"{what} {str(src)!r} does not match its descriptor: expected {digest} "
            f"({size} bytes), found {writer.digest} ({writer.size} bytes)"
        )
    os.chmod(tmp, 0o644)
    tmp.rename(dest)


# --- command-line helpers --------------------------------------------------------------


def split_key_value(text: str, flag: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise OciError(f"{flag} expects KEY=VALUE with a non-empty KEY, got {text!r}")
    return key, value


def run_main(main: Callable[[list[str]], None]) -> None:
    """Run a program's main, turning OciError into one clear line and exit status 1."""
    prog = Path(sys.argv[0]).name
    try:
        main(sys.argv[1:])
    except OciError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        sys.exit(1)
