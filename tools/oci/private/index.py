#!/usr/bin/env python3
"""Write a multi-platform OCI image layout from single-platform ones.

    index.py --output DIR --image DIR [--image DIR]...
             [--annotation KEY=VALUE]... [--ref-name latest] [--digest-out FILE]

Each --image is a layout written by image.py (one manifest). The output holds their
blobs, a nested image index blob listing each manifest with its platform (in the
order given; two images of one platform are an error), and an index.json naming

    the nested index            as REF               (what registries and skopeo use)
    each platform's manifest    as REF-OS-ARCH[-VARIANT], e.g. latest-linux-arm64-v8

The per-platform refs are for tools that cannot read nested indexes (umoci 0.4.7).
--annotation goes on the nested index; --digest-out gets the nested index digest.
A manifest with a tar+zstd layer is listed with the annotation
io.github.containers.compression.zstd: "true", as containers/image (podman,
skopeo) writes it: it tells clients that pulling it needs zstd, and skopeo copy
--preserve-digests would otherwise have to add it (and so refuse to copy).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ocilib
import ocireader


@dataclass(frozen=True)
class Image:
    layout: Path
    platform: ocilib.Platform
    manifest: dict[str, Any]  # Descriptor of the manifest (without annotations).
    blobs: list[dict[str, Any]]  # Descriptors of the config and the layers.

    @property
    def instance_annotations(self) -> dict[str, str]:
        """What the nested index says of this manifest beside its platform."""
        layer_types = {blob["mediaType"] for blob in self.blobs[1:]}
        if ocilib.MEDIA_TYPE_LAYER_ZSTD in layer_types:
            return {ocilib.ANNOTATION_COMPRESSION_ZSTD: "true"}
        return {}


def read_image(layout: Path) -> Image:
    what = f"image {str(layout)!r}"
    reader = ocireader.Layout(layout, strict=True)
    manifests = reader.index().get("manifests", [])
    if len(manifests) != 1:
        raise ocilib.OciError(
            f"{what}: expected one manifest in index.json, found {len(manifests)}"
        )
    desc = ocilib.parse_descriptor(manifests[0], what)
    if desc["mediaType"] != ocilib.MEDIA_TYPE_MANIFEST:
        raise ocilib.OciError(
            f"{what}: index.json entry is a {desc['mediaType']}, not a manifest"
        )
    manifest = reader.json(desc, what)
    config_desc = ocilib.parse_descriptor(manifest.get("config"), f"{what} config")
    config = reader.json(config_desc, what)
    platform = ocilib.Platform.from_json(config, f"{what} config")
    if (
        "platform" in desc
        and ocilib.Platform.from_json(desc["platform"], what) != platform
    ):
        raise ocilib.OciError(f"{what}: index.json and config disagree on the platform")
    layers = [
        ocilib.parse_descriptor(layer, f"{what} layer {i}")
        for i, layer in enumerate(manifest.get("layers", []))
    ]
    manifest_desc = ocilib.descriptor(desc["mediaType"], desc["digest"], desc["size"])
    return Image(layout, platform, manifest_desc, [config_desc, *layers])


def check_unique_platforms(images: list[Image]) -> None:
    seen: dict[ocilib.Platform, Path] = {}
    for image in images:
        if image.platform in seen:
            raise ocilib.OciError(
                f"platform {image.platform} given twice: {str(seen[image.platform])!r} "
                f"and {str(image.layout)!r}"
            )
        seen[image.platform] = image.layout


def copy_image(image: Image, out: Path) -> None:
    for desc in [image.manifest, *image.blobs]:
        src = ocilib.blob_path(image.layout, desc["digest"])
        ocilib.copy_blob(
            src, out, desc["digest"], desc["size"], f"blob of {str(image.layout)!r}"
        )


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="index.py", description="Write a multi-platform OCI image layout."
    )
    p.add_argument("--output", required=True, help="layout directory to write")
    p.add_argument(
        "--image", action="append", required=True, help="image layout (repeatable)"
    )
    p.add_argument("--annotation", action="append", default=[], help="index annotation")
    p.add_argument("--ref-name", default="latest", help="ref name of the index")
    p.add_argument("--digest-out", help="write the index digest here")
    return p.parse_args(argv)


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    ref = ocilib.check_ref_name(args.ref_name)
    annotations = dict(
        ocilib.split_key_value(kv, "--annotation") for kv in args.annotation
    )
    images = [read_image(Path(layout)) for layout in args.image]
    check_unique_platforms(images)

    out = Path(args.output)
    ocilib.init_layout(out)
    for image in images:
        copy_image(image, out)
    nested: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": ocilib.MEDIA_TYPE_INDEX,
        "manifests": [
            ocilib.descriptor(
                i.manifest["mediaType"],
                i.manifest["digest"],
                i.manifest["size"],
                i.platform,
                i.instance_annotations,
            )
            for i in images
        ],
    }
    if annotations:
        nested["annotations"] = annotations
    index_desc = ocilib.write_json_blob(out, ocilib.MEDIA_TYPE_INDEX, nested)
    entries = [{**index_desc, "annotations": {ocilib.ANNOTATION_REF_NAME: ref}}]
    for image in images:
        platform_ref = f"{ref}-{image.platform.slug()}"
        entries.append(
            {
                **image.manifest,
                "platform": image.platform.to_json(),
                "annotations": {ocilib.ANNOTATION_REF_NAME: platform_ref},
            }
        )
    ocilib.finish_layout(out, entries)
    if args.digest_out:
        ocilib.write_file(args.digest_out, index_desc["digest"].encode("ascii"))


if __name__ == "__main__":
    ocilib.run_main(main)
