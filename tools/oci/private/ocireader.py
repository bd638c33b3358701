"""Reads OCI image layouts: the one reader of the project's tools (ocilib is the writer).

    layout = Layout(path)
    for ref in layout.images():            # every image manifest, through nested indexes
        image = layout.image(ref)          # its manifest and config, checked
        for layer in image.layers:         # in order, each with its media type
            with layer.archive() as tar:   # the uncompressed tar, read in one pass
                ...
    layout.select(Platform.parse("linux/arm64"))  # one platform's image
    layout.named("latest-linux-amd64")    # the manifest index.json names so
    layout.top_index()                    # the nested index index.json names

Every blob read whole is checked against its descriptor (digest and size), and a
layer tar read whole against its diff_id too. Layers are decompressed according
to their media type, in one table (DECOMPRESSORS): tar, tar+gzip and tar+zstd.
Docker media types are read as their OCI equivalents. Standard library only,
except zstandard (the locked wheel), imported when a zstd layer is read.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ocilib import (
    ANNOTATION_REF_NAME,
    DOCKER_TO_OCI_LAYER,
    INDEX_MEDIA_TYPES,
    MANIFEST_MEDIA_TYPES,
    MEDIA_TYPE_LAYER_GZIP,
    MEDIA_TYPE_LAYER_TAR,
    MEDIA_TYPE_LAYER_ZSTD,
    OciError,
    parse_descriptor,
)

# Indexes inside indexes deeper than this are a mistake (or a loop).
MAX_INDEX_DEPTH = 4
# Compressed bytes a zstd layer is read by: small, since zstd expands them many times.
_ZSTD_CHUNK = 1 << 16


class LayoutError(OciError):
    """The layout cannot be read: not a layout, a missing or corrupt blob, an
    unknown format. The message names the layout and the blob."""


class BadCompressedData(LayoutError):
    """A layer blob its decompressor cannot read (the message says how)."""


@dataclass(frozen=True)
class Decompressor:
    """How layers of one media type are read: streamed from the blob, or whole."""

    name: str  # "none", "gzip", "zstd": Layer.compression
    open: Callable[[Path], IO[bytes]]  # The uncompressed stream of a blob file.
    decompress: Callable[[bytes], bytes]  # Raises BadCompressedData if it cannot.


def _gunzip(data: bytes) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError) as e:
        raise BadCompressedData(f"bad gzip data: {e}") from e


class _ZstdStream(io.RawIOBase):
    """The content of a zstd stream, frame after frame (zstd:chunked layers are many).

    libzstd's own stream reader returns what it has of a truncated frame and stops
    without a word; this one raises BadCompressedData, so a cut-off layer never reads
    as a shorter tar.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        import zstandard  # Only layouts with zstd layers need it.

        super().__init__()
        self._raw = raw
        self._error = zstandard.ZstdError
        self._new_frame = zstandard.ZstdDecompressor().decompressobj
        self._frame = self._new_frame()
        self._in_frame = False  # Part of a frame read, its end not yet.
        self._pending = b""  # Input after the end of the last frame.
        self._out = b""  # Decompressed, from _offset on not yet read.
        self._offset = 0
        self._position = 0

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        """How many uncompressed bytes were read (sizes are measured with it)."""
        return self._position

    def _fill(self) -> bool:
        while self._offset >= len(self._out):
            data, self._pending = self._pending or self._raw.read(_ZSTD_CHUNK), b""
            if not data:
                if self._in_frame:
                    raise BadCompressedData(
                        "truncated zstd data: the last frame ends early"
                    )
                return False
            self._in_frame = True
            try:
                self._out, self._offset = self._frame.decompress(data), 0
            except self._error as e:
                raise BadCompressedData(f"bad zstd data: {e}") from e
            if self._frame.eof:
                self._pending = self._frame.unused_data
                self._frame, self._in_frame = self._new_frame(), False
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._fill():
            return 0
        count = min(len(buffer), len(self._out) - self._offset)
        buffer[:count] = memoryview(self._out)[self._offset : self._offset + count]
        self._offset += count
        self._position += count
        return count

    def close(self) -> None:
        self._raw.close()
        super().close()


def zstd_stream(raw: IO[bytes]) -> IO[bytes]:
    """The uncompressed content of zstd data read from `raw` (closed with it);
    BadCompressedData if it is not zstd or ends early."""
    return _ZstdStream(raw)  # type: ignore[return-value]


def _unzstd(data: bytes) -> bytes:
    with _ZstdStream(io.BytesIO(data)) as stream:
        return stream.read()


# Layer media type -> how to decompress it: the one place a compression is added.
DECOMPRESSORS: dict[str, Decompressor] = {
    MEDIA_TYPE_LAYER_TAR: Decompressor(
        "none", lambda path: open(path, "rb"), lambda data: data
    ),
    MEDIA_TYPE_LAYER_GZIP: Decompressor(
        "gzip", lambda path: gzip.open(path, "rb"), _gunzip
    ),
    MEDIA_TYPE_LAYER_ZSTD: Decompressor(
        "zstd", lambda path: _ZstdStream(open(path, "rb")), _unzstd
    ),
}


_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@contextlib.contextmanager
def open_layer_tar(path: str | Path) -> Iterator[tarfile.TarFile]:
    """A layer file outside a layout (a py_image_layers or oci_layer output) as
    a tar read in one pass: plain, gzip or zstd, told apart by its first bytes
    (layers are tar+zstd under --//tools/oci:compression=zstd)."""
    with open(path, "rb") as blob:
        zstd = blob.read(len(_ZSTD_MAGIC)) == _ZSTD_MAGIC
    if not zstd:
        with tarfile.open(path, "r:*") as tar:
            yield tar
        return
    decompressor = DECOMPRESSORS[MEDIA_TYPE_LAYER_ZSTD]
    with (
        decompressor.open(Path(path)) as stream,
        tarfile.open(fileobj=stream, mode="r|") as tar,
    ):
        yield tar


@dataclass(frozen=True, order=True)
class Platform:
    """os/architecture[/variant] as an image or an index records it; any value."""

    os: str
    architecture: str
    variant: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        """ "linux/arm64", "linux/arm64/v8" -> Platform; ValueError otherwise."""
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(
                f"{text!r} is not a platform; expected OS/ARCH[/VARIANT], e.g. linux/amd64"
            )
        return cls(*parts)

    @classmethod
    def of(cls, obj: dict[str, Any]) -> Platform:
        """The platform of a descriptor's "platform" object, or of an image config."""
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
class ImageRef:
    """One image manifest of a layout, before its blobs are read."""

    descriptor: dict[str, Any]
    platform: Platform
    # The name index.json gives this manifest itself, if any: what umoci unpacks.
    ref: str | None

    @property
    def digest(self) -> str:
        return str(self.descriptor["digest"])


@dataclass(frozen=True)
class Layer:
    """One layer of an image: its descriptor, media type and diff_id."""

    descriptor: dict[str, Any]
    number: int  # Its place in the manifest, from 0.
    diff_id: str | None  # From the config; None if the config lists none.
    layout: Layout = field(repr=False, compare=False)

    @property
    def digest(self) -> str:
        return str(self.descriptor["digest"])

    @property
    def size(self) -> int:
        return int(self.descriptor["size"])

    @property
    def media_type(self) -> str:
        """The OCI layer media type (a Docker one is read as its OCI equivalent)."""
        media_type = str(self.descriptor.get("mediaType", ""))
        return DOCKER_TO_OCI_LAYER.get(media_type, media_type)

    @property
    def compression(self) -> str:
        """ "none", "gzip" or "zstd"."""
        return self._decompressor().name

    @property
    def path(self) -> Path:
        """The blob, as stored (compressed)."""
        return self.layout.blob_path(self.digest)

    @property
    def what(self) -> str:
        return f"layer {self.number} ({self.digest})"

    def _decompressor(self) -> Decompressor:
        if self.media_type not in DECOMPRESSORS:
            raise LayoutError(
                f"{self.layout.root}: {self.what}: unsupported layer media type"
                f" {self.media_type!r}; readable: {', '.join(sorted(DECOMPRESSORS))}"
            )
        return DECOMPRESSORS[self.media_type]

    def open(self) -> IO[bytes]:
        """The uncompressed tar as a stream (not checked: read() checks)."""
        decompressor = self._decompressor()
        try:
            return decompressor.open(self.path)
        except OSError as e:
            raise LayoutError(
                f"{self.layout.root}: blob {self.digest} is missing: {e}"
            ) from e

    def read(self) -> bytes:
        """The uncompressed tar, checked: the blob against its descriptor, the
        tar against the config's diff_id."""
        decompressor = self._decompressor()
        blob = self.layout.blob(self.descriptor)
        try:
            tar = decompressor.decompress(blob)
        except BadCompressedData as e:
            raise LayoutError(f"{self.what}: {e}") from e
        if self.diff_id is not None and _sha256(tar) != self.diff_id:
            raise LayoutError(
                f"{self.what}: uncompressed content does not match diff_id {self.diff_id}"
            )
        return tar

    @contextlib.contextmanager
    def archive(self) -> Iterator[tarfile.TarFile]:
        """The layer as a tar archive read in one pass: iterate its members and
        extractfile() each while it is the current one."""
        with self.open() as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
            yield tar


@dataclass(frozen=True)
class Image:
    """One image: manifest, config (the whole blob) and layers."""

    ref: ImageRef
    manifest: dict[str, Any]
    config: dict[str, Any]
    layers: list[Layer]

    @property
    def platform(self) -> Platform:
        return self.ref.platform

    @property
    def runtime(self) -> dict[str, Any]:
        """The "config" object: Entrypoint, Cmd, Env, User, ..."""
        return self.config.get("config") or {}

    def env(self) -> dict[str, str]:
        return dict(item.partition("=")[::2] for item in self.runtime.get("Env") or [])


class Layout:
    """An OCI image layout directory.

    Only index.json is needed; with strict=True (what the rules' programs ask of
    their inputs) the oci-layout file too.
    """

    def __init__(self, root: Path | str, strict: bool = False) -> None:
        self.root = Path(root)
        for name in ("oci-layout", "index.json") if strict else ("index.json",):
            if not (self.root / name).is_file():
                raise LayoutError(
                    f"{str(self.root)!r} is not an OCI image layout (no {name} file)"
                )

    # -- blobs -----------------------------------------------------------------

    def blob_path(self, digest: str) -> Path:
        algorithm, _, hex_digest = str(digest).partition(":")
        if algorithm != "sha256" or not hex_digest or "/" in hex_digest:
            raise LayoutError(f"{self.root}: unsupported digest {digest!r}")
        return self.root / "blobs" / algorithm / hex_digest

    def blob(self, descriptor: dict[str, Any]) -> bytes:
        """The blob a descriptor names, after checking its digest and size."""
        digest = descriptor.get("digest", "")
        path = self.blob_path(digest)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise LayoutError(f"{self.root}: blob {digest} is missing: {e}") from e
        if _sha256(data) != digest:
            raise LayoutError(f"{self.root}: blob {digest} does not match its digest")
        if "size" in descriptor and len(data) != descriptor["size"]:
            raise LayoutError(
                f"{self.root}: blob {digest} is {len(data)} bytes, not {descriptor['size']}"
            )
        return data

    def json(self, descriptor: dict[str, Any], what: str) -> dict[str, Any]:
        """A manifest, index or config blob: always a JSON object."""
        return _json_object(self.blob(descriptor), f"{self.root}: {what}")

    # -- index.json --------------------------------------------------------------

    def index(self) -> dict[str, Any]:
        """index.json, with its manifests list."""
        index = _json_object(
            (self.root / "index.json").read_bytes(), f"{self.root}/index.json"
        )
        if not isinstance(index.get("manifests", []), list):
            raise LayoutError(f"{self.root}/index.json: manifests is not a list")
        return index

    def entries(self) -> list[dict[str, Any]]:
        """The descriptors index.json lists."""
        return [d for d in self.index().get("manifests", []) if isinstance(d, dict)]

    def refs(self) -> dict[str, dict[str, Any]]:
        """Ref name -> the index.json entry that has it."""
        return {
            d["annotations"][ANNOTATION_REF_NAME]: d
            for d in self.entries()
            if (d.get("annotations") or {}).get(ANNOTATION_REF_NAME)
        }

    def by_ref(self, name: str) -> dict[str, Any]:
        """The one index.json entry named `name` (org.opencontainers.image.ref.name)."""
        found = [
            d
            for d in self.entries()
            if (d.get("annotations") or {}).get(ANNOTATION_REF_NAME) == name
        ]
        if len(found) != 1:
            raise LayoutError(
                f"{self.root}: {len(found)} manifests named {name!r}; refs: {sorted(self.refs())}"
            )
        return found[0]

    def named(self, name: str) -> ImageRef:
        """The image manifest index.json names `name` (one platform's, in an index)."""
        descriptor = self.by_ref(name)
        if descriptor.get("mediaType") not in MANIFEST_MEDIA_TYPES:
            manifests = sorted(
                ref
                for ref, d in self.refs().items()
                if d.get("mediaType") in MANIFEST_MEDIA_TYPES
            )
            raise LayoutError(
                f"{self.root}:{name} is a {descriptor.get('mediaType')}, not an image"
                f" manifest; name one platform's manifest: {', '.join(manifests) or 'none'}"
            )
        return self._image_ref(descriptor, name)

    def top_index(self) -> dict[str, Any]:
        """The descriptor of the one image index index.json lists (a nested index)."""
        indexes = [d for d in self.entries() if d.get("mediaType") in INDEX_MEDIA_TYPES]
        if len(indexes) != 1:
            raise LayoutError(
                f"{self.root}: expected one image index, found {len(indexes)}"
            )
        return indexes[0]

    # -- images ----------------------------------------------------------------

    def manifests(
        self, entries: list[dict[str, Any]] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every image manifest descriptor reachable from `entries` (default:
        index.json's), through nested indexes, once each (the entries first).
        Each descriptor is checked (mediaType, digest, size)."""
        seen: set[str] = set()
        pending = [(d, 0) for d in (self.entries() if entries is None else entries)]
        while pending:
            item, depth = pending.pop(0)
            descriptor = _descriptor(item, f"{self.root}: descriptor")
            digest = descriptor["digest"]
            if digest in seen:
                continue
            seen.add(digest)
            media_type = descriptor.get("mediaType")
            if media_type in INDEX_MEDIA_TYPES:
                if depth >= MAX_INDEX_DEPTH:
                    raise LayoutError(f"{self.root}: image indexes nested too deeply")
                nested = self.json(descriptor, f"index {digest}").get("manifests", [])
                pending += [(d, depth + 1) for d in nested]
            elif media_type in MANIFEST_MEDIA_TYPES:
                yield descriptor

    def images(self) -> list[ImageRef]:
        """Every image of the layout, sorted by platform; attestation manifests
        (platform unknown/unknown) are not images and are left out."""
        names = {
            d["digest"]: ref
            for ref, d in self.refs().items()
            if d.get("mediaType") in MANIFEST_MEDIA_TYPES
        }
        found = [self._image_ref(d, names.get(d["digest"])) for d in self.manifests()]
        images = [r for r in found if r.platform.os != "unknown"]
        if not images:
            raise LayoutError(f"{self.root}: index.json names no image manifest")
        return sorted(images, key=lambda r: r.platform)

    def select(self, wanted: Platform) -> ImageRef:
        """The one image for `wanted` (linux/arm64 matches linux/arm64/v8)."""
        images = self.images()
        matches = [r for r in images if r.platform.matches(wanted)]
        if len(matches) != 1:
            have = ", ".join(str(r.platform) for r in images)
            raise LayoutError(
                f"{self.root}: {len(matches)} images for {wanted}; it has: {have}"
            )
        return matches[0]

    def image(self, ref: ImageRef) -> Image:
        """Its manifest and config, checked, and its layers (read when asked)."""
        manifest = self.json(ref.descriptor, f"manifest {ref.digest}")
        config_descriptor = manifest.get("config") or {}
        config = self.json(
            config_descriptor, f"config {config_descriptor.get('digest')}"
        )
        descriptors = manifest.get("layers") or []
        diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
        if diff_ids and len(diff_ids) != len(descriptors):
            raise LayoutError(
                f"{ref.platform}: {len(descriptors)} layers but {len(diff_ids)} diff_ids in the config"
            )
        layers = [
            Layer(d, n, diff_ids[n] if diff_ids else None, self)
            for n, d in enumerate(descriptors)
        ]
        return Image(ref, manifest, config, layers)

    def _image_ref(self, descriptor: dict[str, Any], name: str | None) -> ImageRef:
        if "platform" in descriptor:
            platform = Platform.of(descriptor["platform"])
        else:
            manifest = self.json(descriptor, f"manifest {descriptor.get('digest')}")
            config = manifest.get("config") or {}
            platform = Platform.of(self.json(config, f"config {config.get('digest')}"))
        return ImageRef(descriptor, platform, name)


def _descriptor(item: object, what: str) -> dict[str, Any]:
    """ocilib's check of a descriptor, failing as the reader fails."""
    try:
        return parse_descriptor(item, what)
    except OciError as e:
        raise LayoutError(str(e)) from None


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError as e:
        raise LayoutError(f"{what}: not JSON: {e}") from e
    if not isinstance(value, dict):
        raise LayoutError(f"{what}: not a JSON object")
    return value
