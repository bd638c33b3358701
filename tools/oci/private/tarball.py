"""One platform's image of an OCI layout as a tarball that `docker load` and `podman load` read.

    tarball.py --layout DIR --output OUT (--platform linux/amd64 | --all-platforms)
               [--repo-tag NAME:TAG]... [--format docker|oci]

With --all-platforms, OUT is a directory holding one OS-ARCH[-VARIANT].tar per
platform of the layout. The `docker` format (the default, as rules_oci's
oci_load) is `docker save`'s: manifest.json naming the config, the layers
and the tags. The `oci` format is an OCI image layout with one manifest,
named after the first tag. Blobs are copied as they are (compressed, gzip or
zstd), and the tar is deterministic: sorted, mtime 0, owner 0.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
FORMATS = ("docker", "oci")


class TarballError(Exception):
    pass


@dataclass(frozen=True)
class Image:
    """One image manifest of a layout, and its platform."""

    platform: str
    descriptor: dict
    manifest: dict


def _blob(layout: Path, digest: str) -> Path:
    return layout / "blobs" / digest.replace(":", "/", 1)


def _platform_name(platform: dict) -> str:
    parts = [platform.get("os", ""), platform.get("architecture", "")]
    if platform.get("variant"):
        parts.append(platform["variant"])
    return "/".join(parts)


def images(layout: Path) -> list[Image]:
    """Every image manifest of the layout, following nested indexes, once each."""
    found: dict[str, Image] = {}

    def visit(descriptors: list[dict]) -> None:
        for descriptor in descriptors:
            body = json.loads(_blob(layout, descriptor["digest"]).read_text())
            if descriptor.get("mediaType") in INDEX_TYPES or "manifests" in body:
                visit(body["manifests"])
            elif descriptor["digest"] not in found:
                config = json.loads(_blob(layout, body["config"]["digest"]).read_text())
                platform = descriptor.get("platform") or {
                    key: config[key]
                    for key in ("os", "architecture", "variant")
                    if key in config
                }
                found[descriptor["digest"]] = Image(
                    _platform_name(platform), descriptor, body
                )

    try:
        visit(json.loads((layout / "index.json").read_text())["manifests"])
    except (OSError, KeyError, ValueError) as err:
        raise TarballError(f"{layout} is not a readable OCI layout: {err}") from err
    return list(found.values())


def pick(layout: Path, platform: str) -> Image:
    """The image for `platform` (os/arch[/variant]; the variant may be left out)."""
    candidates = images(layout)
    for image in candidates:
        if image.platform == platform or image.platform.startswith(platform + "/"):
            return image
    have = ", ".join(sorted(image.platform for image in candidates)) or "none"
    raise TarballError(
        f"{layout.name} has no image for {platform}; it has {have}. "
        "Choose one with --platform."
    )


def _add(tar: tarfile.TarFile, name: str, data: bytes | None = None, source: Path | None = None) -> None:  # fmt: skip
    info = tarfile.TarInfo(name)
    info.mode = 0o644
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if source is not None:
        info.size = source.stat().st_size
        with source.open("rb") as stream:
            tar.addfile(info, stream)
    else:
        assert data is not None
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def _canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def write(layout: Path, image: Image, repo_tags: list[str], fmt: str, output: Path) -> None:  # fmt: skip
    """Writes `image` of `layout` to `output` as a `fmt` tarball tagged `repo_tags`."""
    if fmt not in FORMATS:
        raise TarballError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    config = image.manifest["config"]["digest"]
    layers = [layer["digest"] for layer in image.manifest["layers"]]
    digests = sorted({image.descriptor["digest"], config, *layers})
    files: dict[str, bytes | Path] = {
        "blobs/" + d.replace(":", "/", 1): _blob(layout, d) for d in digests
    }
    if fmt == "docker":
        entry = {
            "Config": "blobs/" + config.replace(":", "/", 1),
            "RepoTags": repo_tags,
            "Layers": ["blobs/" + d.replace(":", "/", 1) for d in layers],
        }
        files["manifest.json"] = _canonical([entry])
    else:
        descriptor = {
            key: image.descriptor[key] for key in ("mediaType", "digest", "size")
        }
        if repo_tags:
            descriptor["annotations"] = {
                "org.opencontainers.image.ref.name": repo_tags[0]
            }
        files["oci-layout"] = _canonical({"imageLayoutVersion": "1.0.0"})
        files["index.json"] = _canonical(
            {
                "schemaVersion": 2,
                "mediaType": INDEX_TYPES[0],
                "manifests": [descriptor],
            }
        )
    for path in files.values():
        if isinstance(path, Path) and not path.is_file():
            raise TarballError(f"{layout} lacks the blob {path.name}")
    output.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(output, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(files):
            content = files[name]
            if isinstance(content, Path):
                _add(tar, name, source=content)
            else:
                _add(tar, name, data=content)


def file_name(platform: str) -> str:
    """linux/arm64/v8 -> linux-arm64-v8.tar"""
    return platform.replace("/", "-") + ".tar"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layout", required=True, type=Path)
    parser.add_argument("--output", required=True, type=Path)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--platform")
    which.add_argument("--all-platforms", action="store_true")
    parser.add_argument("--repo-tag", action="append", default=[])
    parser.add_argument("--format", choices=FORMATS, default="docker")
    args = parser.parse_args(argv)
    try:
        if args.all_platforms:
            args.output.mkdir(parents=True, exist_ok=True)
            for image in images(args.layout):
                out = args.output / file_name(image.platform)
                write(args.layout, image, args.repo_tag, args.format, out)
        else:
            image = pick(args.layout, args.platform)
            write(args.layout, image, args.repo_tag, args.format, args.output)
    except TarballError as err:
        print(f"tarball: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
