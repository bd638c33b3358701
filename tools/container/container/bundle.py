"""Bundles: an image of an OCI layout unpacked (umoci) for runc, with its config.

    bundle = unpack(layout, "latest-linux-amd64", tmp_path / "bundle")
    ImageConfig.of_bundle(bundle).argv  # Entrypoint + Cmd

A bundle holds rootfs/, umoci's config.json (unused: every container writes
its own, see spec.py) and image-config.json, the image's OCI config.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from container.errors import ContainerError
from container.host import check_root, run, tool
from ocireader import Layout, LayoutError

# Written by unpack() beside rootfs/: the image's OCI config, as the layout has it.
IMAGE_CONFIG = "image-config.json"


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
    config = read_image_config(layout, ref)
    run(
        [tool("umoci"), "unpack", "--image", f"{layout}:{ref}", str(into)],
        what=f"umoci unpack {layout.name}:{ref}",
        timeout=300,
    )
    (into / IMAGE_CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True))
    return into


def read_image_config(layout: Path, ref: str) -> dict[str, Any]:
    """The OCI image config (architecture, config.Env, ...) of `ref` in a layout."""
    try:
        reader = Layout(layout)
        return reader.image(reader.named(ref)).config
    except LayoutError as e:
        raise ContainerError(str(e)) from None


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
