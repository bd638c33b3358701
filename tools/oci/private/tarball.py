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
from pathlib import Path

from ocireader import ImageRef, Layout, OciError, Platform

INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
FORMATS = ("docker", "oci")


class TarballError(Exception):
    pass


def pick(layout: Path, platform: str) -> ImageRef:
    """The image of `layout` for `platform` (os/arch[/variant]; the variant may be left out)."""
    try:
        return Layout(layout).select(Platform.parse(platform))
    except (OciError, ValueError) as err:
        raise TarballError(f"{err}. Choose the platform with --platform.") from err


def images(layout: Path) -> list[ImageRef]:
    try:
        return Layout(layout).images()
    except OciError as err:
        raise TarballError(str(err)) from err


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


def write(layout_dir: Path, ref: ImageRef, repo_tags: list[str], fmt: str, output: Path) -> str:  # fmt: skip
    """Writes the image `ref` of the layout to `output` as a `fmt` tarball tagged
    `repo_tags`; returns the image's ID (its config's digest)."""
    if fmt not in FORMATS:
        raise TarballError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    layout = Layout(layout_dir)
    try:
        image = layout.image(ref)
    except OciError as err:
        raise TarballError(str(err)) from err
    config = image.manifest["config"]["digest"]
    layers = [layer.digest for layer in image.layers]
    files: dict[str, bytes | Path] = {
        _name(d): layout.blob_path(d) for d in {ref.digest, config, *layers}
    }
    if fmt == "docker":
        entry = {
            "Config": _name(config),
            "RepoTags": repo_tags,
            "Layers": [_name(d) for d in layers],
        }
        files["manifest.json"] = _canonical([entry])
    else:
        descriptor = {
            key: ref.descriptor[key] for key in ("mediaType", "digest", "size")
        }
        if repo_tags:
            descriptor["annotations"] = {
                "org.opencontainers.image.ref.name": repo_tags[0]
            }
        files["oci-layout"] = _canonical({"imageLayoutVersion": "1.0.0"})
        files["index.json"] = _canonical(
            {
                "schemaVersion": 2,
                "mediaType": INDEX_MEDIA_TYPE,
                "manifests": [descriptor],
            }
        )
    for path in files.values():
        if isinstance(path, Path) and not path.is_file():
            raise TarballError(f"{layout_dir} lacks the blob {path.name}")
    output.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(output, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(files):
            content = files[name]
            if isinstance(content, Path):
                _add(tar, name, source=content)
            else:
                _add(tar, name, data=content)
    return config


def _name(digest: str) -> str:
    return "blobs/" + digest.replace(":", "/", 1)


def file_name(platform: Platform) -> str:
    """linux/arm64/v8 -> linux-arm64-v8.tar"""
    return str(platform).replace("/", "-") + ".tar"


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
