"""Reads OCI image layouts with the standard library only, checking every blob it reads.

Deliberately independent of tools/oci/private (no ocilib, no ocireader): a bug
shared by the writer and the reader would otherwise go unnoticed. So tar+zstd
layers are read by the zstd program (Debian's zstd), not by the zstandard wheel
the rules compress with. The platforms are the table's
(//platforms:image_platforms), which both follow.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from image_platforms import PLATFORMS, host_architecture, ref

MEDIA_TYPE_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_TYPE_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_TYPE_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_TYPE_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_TYPE_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
REF_NAME = "org.opencontainers.image.ref.name"
BASE_DIGEST = "org.opencontainers.image.base.digest"
EPOCH = "1970-01-01T00:00:00Z"

# The platform refs oci_image_index writes, and what each one must say.
PLATFORM_REFS = {
    p["ref"]: {
        "os": p["os"],
        "architecture": p["architecture"],
        **({"variant": p["variant"]} if p["variant"] else {}),
    }
    for p in PLATFORMS.values()
}
# The ref of the platform a target built without a transition is for: the host's.
HOST_REF = ref(host_architecture())


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def runfile(variable: str) -> Path:
    """A data dependency named by an environment variable holding its $(rootpath)."""
    path = os.environ.get(variable)
    assert path, f"the test needs {variable} (set by env in BUILD.bazel)"
    assert os.path.exists(
        path
    ), f"{variable}={path!r} does not exist (cwd {os.getcwd()})"
    return Path(path)


@dataclass(frozen=True)
class Member:
    """One tar entry; `data` for regular files."""

    info: tarfile.TarInfo
    data: bytes | None


@dataclass(frozen=True)
class Layer:
    descriptor: dict[str, Any]
    blob: bytes
    tar: bytes  # Decompressed.
    members: list[Member]

    def by_name(self) -> dict[str, Member]:
        return {m.info.name: m for m in self.members}


@dataclass(frozen=True)
class Image:
    descriptor: dict[str, Any]  # As index.json (or a nested index) names it.
    manifest: dict[str, Any]
    config: dict[str, Any]
    layers: list[Layer]

    @property
    def runtime(self) -> dict[str, Any]:
        """The "config" object: Entrypoint, Env, User, ..."""
        return self.config.get("config", {})

    def env(self) -> dict[str, str]:
        return dict(item.split("=", 1) for item in self.runtime.get("Env", []))


def decompress(media_type: str, blob: bytes) -> bytes:
    """A layer blob's tar: gunzipped, or through the zstd program."""
    if media_type == MEDIA_TYPE_LAYER:
        return gzip.decompress(blob)
    assert media_type == MEDIA_TYPE_LAYER_ZSTD, f"unexpected layer type {media_type}"
    zstd = shutil.which("zstd")
    assert zstd, "reading tar+zstd layers needs the zstd program (apt-get install zstd)"
    result = subprocess.run(
        [zstd, "-d", "-c", "-q"], input=blob, capture_output=True, check=False
    )
    assert result.returncode == 0, f"zstd -d: {result.stderr.decode()}"
    return result.stdout


def read_members(tar: bytes) -> list[Member]:
    members = []
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as archive:
        for info in archive:
            data = archive.extractfile(info).read() if info.isreg() else None
            members.append(Member(info, data))
    return members


class Layout:
    """An OCI image layout directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def oci_layout(self) -> dict[str, Any]:
        return json.loads((self.root / "oci-layout").read_bytes())

    def index(self) -> dict[str, Any]:
        return json.loads((self.root / "index.json").read_bytes())

    def blob_path(self, digest: str) -> Path:
        algorithm, _, hex_digest = digest.partition(":")
        return self.root / "blobs" / algorithm / hex_digest

    def blob(self, descriptor: dict[str, Any]) -> bytes:
        """The blob a descriptor names, after checking its digest and size."""
        data = self.blob_path(descriptor["digest"]).read_bytes()
        assert (
            sha256(data) == descriptor["digest"]
        ), f"blob content is not {descriptor['digest']}"
        assert (
            len(data) == descriptor["size"]
        ), f"blob {descriptor['digest']}: {len(data)} bytes, not {descriptor['size']}"
        return data

    def json_blob(self, descriptor: dict[str, Any]) -> dict[str, Any]:
        return json.loads(self.blob(descriptor))

    def blob_digests(self) -> set[str]:
        return {"sha256:" + p.name for p in (self.root / "blobs" / "sha256").iterdir()}

    def by_ref(self, ref: str) -> dict[str, Any]:
        found = [
            d
            for d in self.index()["manifests"]
            if d.get("annotations", {}).get(REF_NAME) == ref
        ]
        assert (
            len(found) == 1
        ), f"{self.root}: {len(found)} index.json entries named {ref!r}"
        return found[0]

    def image(self, descriptor: dict[str, Any]) -> Image:
        """A manifest with its config and layers, every blob checked."""
        assert descriptor["mediaType"] == MEDIA_TYPE_MANIFEST, descriptor
        manifest = self.json_blob(descriptor)
        config = self.json_blob(manifest["config"])
        layers = []
        for desc in manifest["layers"]:
            blob = self.blob(desc)
            tar = decompress(desc["mediaType"], blob)
            layers.append(Layer(desc, blob, tar, read_members(tar)))
        return Image(descriptor, manifest, config, layers)

    def referenced_digests(self) -> set[str]:
        """Every blob reachable from index.json, following nested indexes."""
        seen: set[str] = set()
        pending = list(self.index()["manifests"])
        while pending:
            desc = pending.pop()
            if desc["digest"] in seen:
                continue
            seen.add(desc["digest"])
            if desc["mediaType"] == MEDIA_TYPE_INDEX:
                pending += self.json_blob(desc)["manifests"]
            elif desc["mediaType"] == MEDIA_TYPE_MANIFEST:
                manifest = self.json_blob(desc)
                pending += [manifest["config"], *manifest["layers"]]
        return seen


def check_layout(layout: Layout) -> None:
    """oci-layout, every blob named by its digest, none missing and none left over."""
    assert layout.oci_layout() == {"imageLayoutVersion": "1.0.0"}
    index = layout.index()
    assert index["schemaVersion"] == 2
    assert index["mediaType"] == MEDIA_TYPE_INDEX
    for digest in layout.blob_digests():
        assert sha256(layout.blob_path(digest).read_bytes()) == digest
    assert layout.referenced_digests() == layout.blob_digests()


def check_image(
    image: Image, platform: dict[str, str], layer_type: str = MEDIA_TYPE_LAYER
) -> None:
    """What every image built by oci_image must satisfy, whatever its attributes;
    every layer of type `layer_type` (tar+gzip unless said)."""
    manifest, config = image.manifest, image.config
    assert manifest["schemaVersion"] == 2
    assert manifest["mediaType"] == MEDIA_TYPE_MANIFEST
    assert manifest["config"]["mediaType"] == MEDIA_TYPE_CONFIG
    assert {
        k: config[k] for k in ("os", "architecture", "variant") if k in config
    } == platform
    assert config["rootfs"]["type"] == "layers"
    assert config["rootfs"]["diff_ids"] == [sha256(layer.tar) for layer in image.layers]
    assert len(config["history"]) == len(image.layers)
    assert all(not h.get("empty_layer") for h in config["history"])
    for layer in image.layers:
        assert layer.descriptor["mediaType"] == layer_type
        check_normalized_tar(layer)


def check_normalized_tar(layer: Layer) -> None:
    """Sorted bytewise, parents first, mtime 0, numeric owners only, no PAX times."""
    names = [m.info.name for m in layer.members]
    assert names == sorted(names, key=lambda n: n.encode("utf-8", "surrogateescape"))
    assert len(set(names)) == len(names), "a path appears twice"
    seen_dirs = set()
    for member in layer.members:
        info = member.info
        assert not info.name.startswith(("/", "./")), info.name
        parent = os.path.dirname(info.name)
        assert not parent or parent in seen_dirs, f"{info.name} comes before its parent"
        if info.isdir():
            seen_dirs.add(info.name)
        assert info.mtime == 0, f"{info.name}: mtime {info.mtime}"
        assert (info.uname, info.gname) == ("", ""), info.name
        assert not {"mtime", "atime", "ctime"} & set(info.pax_headers), info.pax_headers
