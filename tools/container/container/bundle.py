"""Bundles: an image of an OCI layout unpacked (umoci) for runc, with its config.

    bundle = unpack(layout, "latest-linux-amd64", tmp_path / "bundle")
    ImageConfig.of_bundle(bundle).argv  # Entrypoint + Cmd

A bundle holds rootfs/, umoci's config.json (unused: every container writes
its own, see spec.py) and image-config.json, the image's OCI config.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from container.errors import ContainerError
from container.host import check_root, run, tool
from ocireader import Layout, LayoutError

# Written by unpack() beside rootfs/: the image's OCI config, as the layout has it.
IMAGE_CONFIG = "image-config.json"
# umoci unpacks tar+zstd layers since 0.5.0; Debian 12's 0.4.7 cannot (sid's 0.6 can).
UMOCI_ZSTD_VERSION = (0, 5)


def unpack(layout: Path, ref: str, into: Path) -> Path:
    """Unpack image `ref` of an OCI layout into a runc bundle; return the bundle dir.

    `ref` names one platform's manifest in index.json (umoci cannot read a
    nested index): image_platforms.ref(architecture), e.g. latest-linux-amd64,
    for this project's layouts. The bundle holds rootfs/, umoci's config.json (unused:
    every container writes its own, see runtime_spec) and image-config.json,
    the image's OCI config. `into` must not exist yet. Needs root (umoci chowns).
    """
    check_root()
    layout = Path(layout).resolve()  # runfiles hold a symlink to the layout
    into = Path(into)
    config, compressions = read_image(layout, ref)
    umoci = tool("umoci")
    if "zstd" in compressions:
        check_umoci_reads_zstd(umoci, f"{layout.name}:{ref}")
    run(
        [umoci, "unpack", "--image", f"{layout}:{ref}", str(into)],
        what=f"umoci unpack {layout.name}:{ref}",
        timeout=300,
    )
    (into / IMAGE_CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True))
    return into


def read_image_config(layout: Path, ref: str) -> dict[str, Any]:
    """The OCI image config (architecture, config.Env, ...) of `ref` in a layout."""
    return read_image(layout, ref)[0]


def read_image(layout: Path, ref: str) -> tuple[dict[str, Any], set[str]]:
    """The OCI image config of `ref`, and the compressions of its layers."""
    try:
        reader = Layout(layout)
        image = reader.image(reader.named(ref))
        return image.config, {layer.compression for layer in image.layers}
    except LayoutError as e:
        raise ContainerError(str(e)) from None


def umoci_version(text: str) -> tuple[int, ...] | None:
    """ "umoci version 0.6.0+ds-1+b1" -> (0, 6, 0); None if it says no version."""
    match = re.search(r"umoci version (\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(n) for n in match.groups(default="0")) if match else None


def check_umoci_reads_zstd(umoci: str, what: str) -> None:
    """Fail, saying so, where umoci would not unpack the tar+zstd layers of `what`."""
    output = run([umoci, "--version"], what="umoci --version", timeout=30).stdout
    version = umoci_version(output.decode(errors="replace"))
    if version is None or version[:2] < UMOCI_ZSTD_VERSION:
        found = ".".join(map(str, version)) if version else "of unknown version"
        raise ContainerError(
            f"{what} has tar+zstd layers, and umoci {found} ({umoci}) cannot unpack"
            " them: umoci reads zstd since 0.5.0. Run through ./tools/bazel (the"
            " build root has umoci 0.6), install a newer umoci, or build the image"
            " with gzip layers (the default of --//tools/oci:compression)"
        )


@dataclass(frozen=True)
class ImageConfig:
    """What a runtime takes from an OCI image config."""

    architecture: str
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[str, ...] = ()  # "NAME=value", in the image's order
    user: str = ""
    workdir: str = ""
    exposed_ports: tuple[str, ...] = ()  # "8080/tcp"

    @classmethod
    def from_oci(cls, config: Mapping[str, Any]) -> ImageConfig:
        runtime = config.get("config") or {}
        return cls(
            architecture=config.get("architecture", ""),
            entrypoint=tuple(runtime.get("Entrypoint") or ()),
            cmd=tuple(runtime.get("Cmd") or ()),
            env=tuple(runtime.get("Env") or ()),
            user=runtime.get("User") or "",
            workdir=runtime.get("WorkingDir") or "",
            exposed_ports=tuple(sorted(runtime.get("ExposedPorts") or {})),
        )

    @classmethod
    def of_bundle(cls, bundle: Path) -> ImageConfig:
        path = Path(bundle) / IMAGE_CONFIG
        if not path.exists():
            raise ContainerError(f"{path} is missing: unpack the bundle with unpack()")
        return cls.from_oci(json.loads(path.read_bytes()))

    @property
    def argv(self) -> list[str]:
        """Entrypoint followed by Cmd, as Docker runs them."""
        return [*self.entrypoint, *self.cmd]

    @property
    def tcp_port(self) -> int | None:
        """The lowest exposed TCP port, if any."""
        ports = [
            int(number)
            for number, _, protocol in (p.partition("/") for p in self.exposed_ports)
            if protocol in ("", "tcp") and number.isdigit()
        ]
        return min(ports) if ports else None
