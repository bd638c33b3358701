"""Compare two builds of the same images and explain the first difference.

    compare.py --image NAME=LAYOUT_A:LAYOUT_B...

Every index digest and every platform's manifest digest must be equal. When one is
not, the report names the image, the platform, what differs (config or layer N,
with both digests) and, for a layer, the first files whose type, mode, owner, link
target or content differ: the place to start looking for the non-determinism.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocireader import Layer
from sbom import platform_manifests, top_index

MAX_FILES = 10


@dataclass(frozen=True)
class Mismatch:
    image: str
    message: str


def layer_entries(layer: Layer) -> dict[str, tuple[Any, ...]]:
    """Each member of a layer: type, mode, owner, size, link target, content sha256."""
    entries: dict[str, tuple[Any, ...]] = {}
    with layer.archive() as tar:
        for member in tar:
            content = ""
            if member.isfile():
                stream = tar.extractfile(member)
                assert stream is not None
                content = hashlib.sha256(stream.read()).hexdigest()
            entries[member.name] = (
                member.type,
                oct(member.mode),
                f"{member.uid}:{member.gid}",
                member.mtime,
                member.size,
                member.linkname,
                content,
            )
    return entries


def differing_files(a: Layer, b: Layer) -> list[str]:
    """Paths whose entries differ between two layers, first MAX_FILES, sorted."""
    first, second = layer_entries(a), layer_entries(b)
    names = sorted(
        n for n in first.keys() | second.keys() if first.get(n) != second.get(n)
    )
    shown = []
    for name in names[:MAX_FILES]:
        if name not in first:
            shown.append(f"/{name} (only in the second build)")
        elif name not in second:
            shown.append(f"/{name} (only in the first build)")
        else:
            fields = ("type", "mode", "owner", "mtime", "size", "link", "content")
            which = [
                f
                for f, x, y in zip(fields, first[name], second[name], strict=True)
                if x != y
            ]
            shown.append(f"/{name} ({', '.join(which)})")
    if len(names) > MAX_FILES:
        shown.append(f"... and {len(names) - MAX_FILES} more")
    if not names:
        shown.append(
            "(same files; only the compressed bytes differ: check the compressor,"
            " ocilib.layer_compressor and its wheel in requirements_lock.txt)"
        )
    return shown


def _config_difference(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> str:
    for key in sorted(a.keys() | b.keys()):
        if a.get(key) != b.get(key):
            if isinstance(a.get(key), dict) and isinstance(b.get(key), dict):
                return _config_difference(a[key], b[key], f"{prefix}{key}.")
            return f"{prefix}{key}: {a.get(key)!r} != {b.get(key)!r}"
    return "(equal JSON, different bytes)"


def compare_image(name: str, a: Path, b: Path) -> list[Mismatch]:
    """Mismatches between two layouts of one image; [] if their digests are equal."""
    index_a, index_b = top_index(a)["digest"], top_index(b)["digest"]
    if index_a == index_b:
        return []
    found = [Mismatch(name, f"{name}: index digest {index_a} != {index_b}")]
    platforms_a = {p: (m, d) for p, m, d in platform_manifests(a)}
    platforms_b = {p: (m, d) for p, m, d in platform_manifests(b)}
    for platform in sorted(platforms_a.keys() | platforms_b.keys()):
        if platform not in platforms_a or platform not in platforms_b:
            found.append(
                Mismatch(name, f"{name} {platform}: built in only one of the builds")
            )
            continue
        (image_a, digest_a), (image_b, digest_b) = (
            platforms_a[platform],
            platforms_b[platform],
        )
        if digest_a == digest_b:
            continue
        where = f"{name} {platform}: manifest {digest_a} != {digest_b}"
        config_a, config_b = image_a.manifest["config"], image_b.manifest["config"]
        if config_a["digest"] != config_b["digest"]:
            difference = _config_difference(image_a.config, image_b.config)
            found.append(Mismatch(name, f"{where}; config differs: {difference}"))
        layers_a, layers_b = image_a.layers, image_b.layers
        if len(layers_a) != len(layers_b):
            found.append(
                Mismatch(
                    name, f"{where}; {len(layers_a)} layers != {len(layers_b)} layers"
                )
            )
            continue
        for number, (la, lb) in enumerate(zip(layers_a, layers_b, strict=True)):
            if la.digest == lb.digest:
                continue
            if la.compression != lb.compression:
                found.append(
                    Mismatch(
                        name,
                        f"{where}; layer {number} is {la.media_type} in the first build"
                        f" and {lb.media_type} in the second: build both with the same"
                        " --//tools/oci:compression",
                    )
                )
                break
            files = differing_files(la, lb)
            found.append(
                Mismatch(
                    name,
                    f"{where}; layer {number} {la.digest} != {lb.digest}; "
                    "first differing files: " + "; ".join(files),
                )
            )
            break  # The first differing layer is where to look.
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", action="append", required=True, metavar="N=A:B")
    args = parser.parse_args(argv)
    mismatches = []
    for item in args.image:
        name, _, pair = item.partition("=")
        a, _, b = pair.partition(":")
        mismatches += compare_image(name, Path(a), Path(b))
    for mismatch in mismatches:
        print(mismatch.message)
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
