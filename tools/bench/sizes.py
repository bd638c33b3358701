"""Image sizes from built OCI layouts: per variant, per platform, per layer.

Compressed sizes are the blob sizes a registry stores and a client pulls
(layers, config and manifest); uncompressed sizes are the layer tars after
gunzip, what a runtime unpacks to disk.
"""

from __future__ import annotations

import json
import posixpath
import tarfile
import zlib
from pathlib import Path
from typing import Any

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
_CHUNK = 1 << 20


def blob_path(layout: Path, digest: str) -> Path:
    algorithm, _, hex_digest = digest.partition(":")
    return layout / "blobs" / algorithm / hex_digest


def read_json(layout: Path, digest: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(blob_path(layout, digest).read_bytes())
    return data


def gunzipped_size(path: Path) -> int:
    """Bytes of a gzip file once decompressed (streamed; members concatenated)."""
    size = 0
    decompressor = zlib.decompressobj(wbits=47)  # gzip or zlib header
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            while chunk:
                size += len(decompressor.decompress(chunk))
                chunk = decompressor.unused_data
                if chunk:
                    decompressor = zlib.decompressobj(wbits=47)
        size += len(decompressor.flush())
    return size


def common_directory(path: Path) -> str:
    """The deepest directory holding every file of a gzipped layer tar, e.g.
    "/app/site-packages": it tells apart layers one target made (history names
    only the target)."""
    with tarfile.open(path, "r:gz") as tar:
        directories = [
            posixpath.dirname("/" + member.name.lstrip("./"))
            for member in tar
            if not member.isdir()
        ]
    if not directories:
        return "/"
    common = posixpath.commonpath(directories)
    return common if common.startswith("/") else "/" + common


def platform_manifests(layout: Path) -> dict[str, dict[str, Any]]:
    """ "linux/amd64" -> manifest descriptor, through the nested index."""
    index = json.loads((layout / "index.json").read_bytes())
    found: dict[str, dict[str, Any]] = {}
    pending = list(index.get("manifests", []))
    while pending:
        descriptor = pending.pop(0)
        if descriptor.get("mediaType") == INDEX:
            pending += read_json(layout, descriptor["digest"]).get("manifests", [])
        elif descriptor.get("mediaType") == MANIFEST and "platform" in descriptor:
            platform = descriptor["platform"]
            name = f"{platform['os']}/{platform['architecture']}"
            found.setdefault(name, descriptor)
    if not found:
        raise ValueError(f"{layout}: no platform manifests in index.json")
    return found


def image_sizes(layout: Path) -> dict[str, dict[str, Any]]:
    """Per platform: compressed and uncompressed totals and every layer."""
    layout = Path(layout).resolve()
    result: dict[str, dict[str, Any]] = {}
    for platform, descriptor in sorted(platform_manifests(layout).items()):
        manifest = read_json(layout, descriptor["digest"])
        config = read_json(layout, manifest["config"]["digest"])
        history = [h for h in config.get("history", []) if not h.get("empty_layer")]
        layers = []
        for number, layer in enumerate(manifest["layers"]):
            created_by = (
                history[number].get("created_by", "") if number < len(history) else ""
            )
            layers.append(
                {
                    "digest": layer["digest"],
                    "compressed_bytes": layer["size"],
                    "uncompressed_bytes": gunzipped_size(
                        blob_path(layout, layer["digest"])
                    ),
                    "created_by": created_by,
                    "directory": common_directory(blob_path(layout, layer["digest"])),
                }
            )
        metadata = descriptor["size"] + manifest["config"]["size"]
        result[platform] = {
            "manifest_digest": descriptor["digest"],
            "compressed_bytes": metadata + sum(x["compressed_bytes"] for x in layers),
            "uncompressed_bytes": sum(x["uncompressed_bytes"] for x in layers),
            "layers": layers,
        }
    return result


def layer_digests(layout: Path) -> dict[str, list[str]]:
    """Per platform, the layer digests in order (to count what a change touched)."""
    layout = Path(layout).resolve()
    return {
        platform: [
            layer["digest"]
            for layer in read_json(layout, descriptor["digest"])["layers"]
        ]
        for platform, descriptor in platform_manifests(layout).items()
    }


def measure(layouts: dict[str, Path]) -> dict[str, Any]:
    """{variant: {platform: sizes}} for every layout."""
    return {name: image_sizes(path) for name, path in layouts.items()}
