"""Loads an OCI layout into podman or docker, whichever is installed, and tags it.

    load.py --layout DIR [--repo-tag NAME:TAG]... [--platform linux/arm64] [--engine podman|docker]

Run by `bazel run` on an oci_load target; extra `--repo-tag`s after `--` add
tags. For a multi-platform index, the manifest for this machine's architecture
is loaded unless --platform picks another. The image's ID is its config digest,
so `podman images` / `docker images` shows the same ID on every machine.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

INDEX = "application/vnd.oci.image.index.v1+json"
ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


class LoadError(Exception):
    pass


def blob(layout: Path, digest: str) -> Path:
    return layout / "blobs" / digest.replace(":", "/", 1)


def pick_manifest(layout: Path, wanted: str) -> dict:
    """The image manifest descriptor for `wanted` (os/arch), following a nested index."""
    entries = json.loads((layout / "index.json").read_text())["manifests"]
    for entry in entries:
        if entry["mediaType"] == INDEX:
            entries = json.loads(blob(layout, entry["digest"]).read_text())["manifests"]
            break
    if len(entries) == 1 and "platform" not in entries[0]:
        return entries[0]
    for entry in entries:
        p = entry.get("platform", {})
        if f"{p.get('os')}/{p.get('architecture')}" == wanted:
            return entry
    found = sorted(
        f"{e['platform']['os']}/{e['platform']['architecture']}"
        for e in entries
        if "platform" in e
    )
    raise LoadError(
        f"{layout} has no image for {wanted}; it has {', '.join(found)}. Pick one with --platform."
    )


def write_archive(layout: Path, manifest: dict, name: str, archive: Path) -> str:
    """An OCI archive of one image; returns the image ID (its config digest)."""
    body = json.loads(blob(layout, manifest["digest"]).read_text())
    digests = [manifest["digest"], body["config"]["digest"]] + [
        layer["digest"] for layer in body["layers"]
    ]
    descriptor = {key: manifest[key] for key in ("mediaType", "digest", "size")}
    descriptor["annotations"] = {
        "org.opencontainers.image.ref.name": name,
        "io.containerd.image.name": name,
    }
    with tarfile.open(archive, "w") as tar:
        tar.add(layout / "oci-layout", "oci-layout")
        index = json.dumps(
            {"schemaVersion": 2, "mediaType": INDEX, "manifests": [descriptor]}
        ).encode()
        info = tarfile.TarInfo("index.json")
        info.size = len(index)
        tar.addfile(info, io.BytesIO(index))
        for digest in dict.fromkeys(digests):
            tar.add(blob(layout, digest), "blobs/" + digest.replace(":", "/", 1))
    return body["config"]["digest"]


def find_engine(preferred: str | None) -> str:
    for engine in [preferred] if preferred else ["podman", "docker"]:
        if shutil.which(engine):
            return engine
    raise LoadError(
        "neither podman nor docker is installed here, so there is nothing to load the image into. "
        "Install one (Debian: apt-get install podman), or push it instead with an oci_push target."
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description="Load an OCI layout into podman or docker."
    )
    parser.add_argument("--layout", required=True, type=Path)
    parser.add_argument(
        "--repo-tag", action="append", default=[], help="NAME:TAG to apply (repeatable)"
    )
    parser.add_argument(
        "--platform",
        default="linux/" + ARCHES.get(platform.machine(), platform.machine()),
    )
    parser.add_argument("--engine", choices=["podman", "docker"])
    args = parser.parse_args(argv)
    try:
        engine = find_engine(args.engine)
        manifest = pick_manifest(args.layout, args.platform)
        tags = args.repo_tag or ["localhost/bazel-image:latest"]
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / "image.tar"
            image_id = write_archive(args.layout, manifest, tags[0], archive)
            subprocess.run([engine, "load", "-i", str(archive)], check=True)
        for tag in tags:
            subprocess.run([engine, "tag", image_id, tag], check=True)
    except LoadError as err:
        print(f"load: {err}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as err:
        print(
            f"load: {' '.join(err.cmd)} failed with exit status {err.returncode}",
            file=sys.stderr,
        )
        return 1
    print(f"loaded {image_id} as {', '.join(tags)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
