"""Image sizes from built OCI layouts: per variant, per platform, per layer.

Compressed sizes are the blob sizes a registry stores and a client pulls
(layers, config and manifest); uncompressed sizes are the layer tars after
gunzip, what a runtime unpacks to disk.
"""

from __future__ import annotations

import posixpath
import tarfile
from pathlib import Path
from typing import Any

from ocireader import Image, Layer, Layout

_CHUNK = 1 << 20


def read_layer(layer: Layer) -> tuple[int, str]:
    """One pass over a layer tar: its size once decompressed (what a runtime
    unpacks) and the deepest directory holding every file in it, e.g.
    "/app/site-packages" (it tells apart the layers one target made: the
    history names only the target)."""
    with layer.open() as stream:
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


def platform_images(layout: Path) -> dict[str, Image]:
    """ "linux/amd64" -> that platform's image (through the nested index)."""
    reader = Layout(Path(layout).resolve())
    found: dict[str, Image] = {}
    for ref in reader.images():
        name = f"{ref.platform.os}/{ref.platform.architecture}"
        if name not in found:
            found[name] = reader.image(ref)
    return found


def image_sizes(layout: Path) -> dict[str, dict[str, Any]]:
    """Per platform: compressed and uncompressed totals and every layer."""
    result: dict[str, dict[str, Any]] = {}
    for platform, image in sorted(platform_images(layout).items()):
        history = [
            h for h in image.config.get("history", []) if not h.get("empty_layer")
        ]
        layers = []
        for number, layer in enumerate(image.layers):
            created_by = (
                history[number].get("created_by", "") if number < len(history) else ""
            )
            uncompressed, directory = read_layer(layer)
            layers.append(
                {
                    "digest": layer.digest,
                    "compressed_bytes": layer.size,
                    "uncompressed_bytes": uncompressed,
                    "created_by": created_by,
                    "directory": directory,
                }
            )
        metadata = image.ref.descriptor["size"] + image.manifest["config"]["size"]
        result[platform] = {
            "manifest_digest": image.ref.digest,
            "compressed_bytes": metadata + sum(x["compressed_bytes"] for x in layers),
            "uncompressed_bytes": sum(x["uncompressed_bytes"] for x in layers),
            "layers": layers,
        }
    return result


def layer_digests(layout: Path) -> dict[str, list[str]]:
    """Per platform, the layer digests in order (to count what a change touched)."""
    return {
        platform: [layer.digest for layer in image.layers]
        for platform, image in platform_images(layout).items()
    }


def measure(layouts: dict[str, Path]) -> dict[str, Any]:
    """{variant: {platform: sizes}} for every layout."""
    return {name: image_sizes(path) for name, path in layouts.items()}


def shared_layers(
    measured: dict[str, Any], pairs: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """{image: {platform: counts}}: how many of its layers (and bytes) are
    layers of the image it is paired with (the same digest: pulled and
    stored once)."""
    result: dict[str, dict[str, Any]] = {}
    for image, other in pairs.items():
        for platform, size in measured[image].items():
            theirs = {layer["digest"] for layer in measured[other][platform]["layers"]}
            shared = [layer for layer in size["layers"] if layer["digest"] in theirs]
            result.setdefault(image, {})[platform] = {
                "with": other,
                "shared": len(shared),
                "layers": len(size["layers"]),
                "shared_compressed_bytes": sum(x["compressed_bytes"] for x in shared),
                "compressed_bytes": sum(x["compressed_bytes"] for x in size["layers"]),
            }
    return result
