"""Image sizes from built OCI layouts: per variant, per platform, per layer.

Compressed sizes are the blob sizes a registry stores and a client pulls
(layers, config and manifest); uncompressed sizes are the layer tars after
gunzip, what a runtime unpacks to disk.
"""

from __future__ import annotations

import gzip
import json
import posixpath
import tarfile
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


def read_layer(path: Path) -> tuple[int, str]:
    """One pass over a gzipped layer tar: its size once decompressed (what a
    runtime unpacks) and the deepest directory holding every file in it, e.g.
    "/app/site-packages" (it tells apart the layers one target made: the
    history names only the target)."""
    with gzip.open(path, "rb") as stream:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            directories = [
                posixpath.dirname("/" + member.name.lstrip("./"))
                for member in tar
                if not member.isdir()
            ]
        while stream.read(_CHUNK):  # The end-of-archive blocks count too.
            pass
        size = stream.tell()
    if not directories:
        return size, "/"
    common = posixpath.commonpath(directories)
    return size, common if common.startswith("/") else "/" + common


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
            uncompressed, directory = read_layer(blob_path(layout, layer["digest"]))
            layers.append(
                {
                    "digest": layer["digest"],
                    "compressed_bytes": layer["size"],
                    "uncompressed_bytes": uncompressed,
                    "created_by": created_by,
                    "directory": directory,
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
