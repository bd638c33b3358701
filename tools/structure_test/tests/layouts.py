"""Tiny OCI layouts, written by the tests: tar entries, images, indexes as this project's rules write them."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rootfs import Platform


@dataclass
class E:
    """One tar entry: kind "file", "dir", "symlink", "hardlink"."""

    name: str
    kind: str = "file"
    data: bytes = b""
    mode: int | None = None
    uid: int = 0
    gid: int = 0
    link: str = ""


def tar_bytes(entries: list[E]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for e in entries:
            info = tarfile.TarInfo(e.name)
            info.uid, info.gid = e.uid, e.gid
            if e.kind == "file":
                info.size = len(e.data)
                info.mode = 0o644 if e.mode is None else e.mode
                tar.addfile(info, io.BytesIO(e.data))
                continue
            info.type = {
                "dir": tarfile.DIRTYPE,
                "symlink": tarfile.SYMTYPE,
                "hardlink": tarfile.LNKTYPE,
            }[e.kind]
            info.mode = (
                (0o755 if e.kind == "dir" else 0o777) if e.mode is None else e.mode
            )
            info.linkname = e.link
            tar.addfile(info)
    return out.getvalue()


@dataclass
class Img:
    platform: str = "linux/amd64"
    layers: list[list[E]] = field(default_factory=list)
    config: dict[str, Any] = field(
        default_factory=dict
    )  # The "config" object: Env, User...


class LayoutWriter:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True)
        (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')

    def blob(self, data: bytes, media_type: str) -> dict[str, Any]:
        digest = hashlib.sha256(data).hexdigest()
        (self.root / "blobs" / "sha256" / digest).write_bytes(data)
        return {
            "mediaType": media_type,
            "digest": "sha256:" + digest,
            "size": len(data),
        }

    def json_blob(self, obj: dict[str, Any], media_type: str) -> dict[str, Any]:
        return self.blob(json.dumps(obj, sort_keys=True).encode(), media_type)

    def manifest(self, image: Img) -> dict[str, Any]:
        platform = Platform.parse(image.platform)
        tars = [tar_bytes(layer) for layer in image.layers]
        config = {
            "architecture": platform.architecture,
            "os": platform.os,
            "config": image.config,
            "rootfs": {
                "type": "layers",
                "diff_ids": ["sha256:" + hashlib.sha256(t).hexdigest() for t in tars],
            },
        }
        if platform.variant:
            config["variant"] = platform.variant
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": self.json_blob(
                config, "application/vnd.oci.image.config.v1+json"
            ),
            "layers": [
                self.blob(
                    gzip.compress(t), "application/vnd.oci.image.layer.v1.tar+gzip"
                )
                for t in tars
            ],
        }
        return self.json_blob(manifest, "application/vnd.oci.image.manifest.v1+json")

    def index(self, manifests: list[dict[str, Any]]) -> None:
        (self.root / "index.json").write_text(
            json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": manifests})  # fmt: skip
        )


def platform_ref(platform: Platform) -> str:
    return "latest-" + "-".join(
        p for p in (platform.os, platform.architecture, platform.variant) if p
    )


def write_image(root: Path, image: Img) -> Path:
    """As oci_image writes one: index.json names the manifest "latest"."""
    writer = LayoutWriter(root)
    descriptor = writer.manifest(image)
    writer.index(
        [{**descriptor, "annotations": {"org.opencontainers.image.ref.name": "latest"}}]
    )
    return root


def write_index(root: Path, images: list[Img]) -> Path:
    """As oci_image_index writes one: a nested index "latest", and each manifest by platform."""
    writer = LayoutWriter(root)
    entries = []
    for image in images:
        platform = Platform.parse(image.platform)
        p = {"os": platform.os, "architecture": platform.architecture}
        if platform.variant:
            p["variant"] = platform.variant
        entries.append({**writer.manifest(image), "platform": p})
    nested = writer.json_blob(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": entries,
        },
        "application/vnd.oci.image.index.v1+json",
    )
    named = [{**e, "annotations": {"org.opencontainers.image.ref.name": platform_ref(Platform.of(e["platform"]))}}
             for e in entries]  # fmt: skip
    writer.index(
        [
            {**nested, "annotations": {"org.opencontainers.image.ref.name": "latest"}},
            *named,
        ]
    )
    return root


# A small image much like the real ones: nonroot, sticky /tmp, an app, no shell.
BASE = [
    E("etc", "dir"),
    E(
        "etc/passwd",
        data=b"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n",
    ),
    E("home", "dir"),
    E("home/nonroot", "dir", mode=0o700, uid=65532, gid=65532),
    E("tmp", "dir", mode=0o1777),
    E("usr", "dir"),
    E("usr/bin", "dir"),
    E("usr/bin/python3.13", data=b"\x7fELF", mode=0o755),
    E("usr/bin/python3", "symlink", link="python3.13"),
    E("bin", "symlink", link="usr/bin"),
]
APP = [
    E("app", "dir"),
    E("app/main.py", data=b"print('hello')\n"),
    E("app/run", data=b"#!/usr/bin/python3\n", mode=0o750),
]
CONFIG = {
    "Entrypoint": ["/usr/bin/python3.13", "-m", "app"],
    "Env": ["PATH=/usr/bin:/bin", "PYTHONPATH=/app"],
    "ExposedPorts": {"8080/tcp": {}},
    "Labels": {"org.opencontainers.image.title": "app", "build": "2024-01-02"},
    "User": "65532:65532",
    "WorkingDir": "/app",
}
