"""oci_image and oci_layer, built by Bazel and read back: layout, manifest, config, tar.

Each image is checked as a single-platform layout (built for the host) and, through
oci_image_index, for linux/amd64 and linux/arm64/v8.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from oci_layout import (
    BASE_DIGEST,
    EPOCH,
    HOST_REF,
    PLATFORM_REFS,
    REF_NAME,
    Image,
    Layout,
    check_image,
    check_layout,
    read_members,
    runfile,
)


def single_image(variable: str) -> Image:
    """The one image of an oci_image layout, after checking the layout around it."""
    layout = Layout(runfile(variable))
    check_layout(layout)
    (descriptor,) = layout.index()["manifests"]
    assert descriptor["annotations"][REF_NAME] == "latest"
    image = layout.image(descriptor)
    check_image(image, PLATFORM_REFS[HOST_REF])
    return image


def platform_images(variable: str) -> dict[str, Image]:
    """Each platform's image in an oci_image_index layout, by ref name."""
    layout = Layout(runfile(variable))
    check_layout(layout)
    images = {}
    for ref, expected_platform in PLATFORM_REFS.items():
        images[ref] = layout.image(layout.by_ref(ref))
        check_image(images[ref], expected_platform)
    return images


# --- full_image: every attribute ------------------------------------------------------


def check_full_image(image: Image) -> None:
    config = image.config
    assert config["created"] == EPOCH
    assert image.runtime["Entrypoint"] == ["/usr/bin/run"]
    assert image.runtime["Cmd"] == ["--verbose"]
    assert image.env() == {"GREETING": "hello", "PATH": "/usr/bin:/bin"}
    assert image.runtime["User"] == "65532:65532"
    assert image.runtime["WorkingDir"] == "/home/app"
    assert image.runtime["ExposedPorts"] == {"8080/tcp": {}, "9090/udp": {}}
    assert image.runtime["Labels"] == {
        "org.opencontainers.image.title": "full",
        "org.opencontainers.image.version": "1.0",
    }
    assert (
        image.manifest["annotations"]["org.opencontainers.image.source"]
        == "https://example.com/full"
    )
    assert BASE_DIGEST not in image.manifest["annotations"]  # Built from scratch.
    (history,) = config["history"]
    assert history["created"] == EPOCH
    assert history["created_by"].endswith("//tools/oci/tests:rootfs_layer"), history

    (layer,) = image.layers
    members = layer.by_name()
    assert list(members) == [
        "etc",
        "etc/greeting",
        "etc/hello.txt",
        "home",
        "home/app",
        "tmp",
        "usr",
        "usr/bin",
        "usr/bin/run",
    ]
    expected = {
        # name: (type, mode, uid, gid)
        "etc": ("dir", 0o755, 0, 0),  # An implicit parent.
        "etc/greeting": ("sym", 0o777, 0, 0),
        "etc/hello.txt": ("reg", 0o640, 0, 65532),
        "home/app": ("dir", 0o700, 65532, 65532),
        "tmp": ("dir", 0o1777, 0, 0),
        "usr/bin/run": (
            "reg",
            0o755,
            0,
            0,
        ),  # From `modes`: every Bazel output looks executable.
    }
    for name, (kind, mode, uid, gid) in expected.items():
        info = members[name].info
        actual_kind = (
            "dir"
            if info.isdir()
            else "sym" if info.issym() else "reg" if info.isreg() else "?"
        )
        assert (actual_kind, info.mode, info.uid, info.gid) == (
            kind,
            mode,
            uid,
            gid,
        ), name
    assert members["etc/greeting"].info.linkname == "hello.txt"
    assert (
        members["etc/hello.txt"].data == Path("tools/oci/tests/hello.txt").read_bytes()
    )
    assert members["usr/bin/run"].data == b"#!/bin/sh\nexec cat /etc/hello.txt"


def test_full_image_layout() -> None:
    layout = Layout(runfile("FULL_IMAGE"))
    (descriptor,) = layout.index()["manifests"]
    assert descriptor["annotations"] == {REF_NAME: "latest"}
    # The digest output group names the manifest.
    assert runfile("FULL_IMAGE_DIGEST").read_text().strip() == descriptor["digest"]


def test_full_image_for_the_host() -> None:
    check_full_image(single_image("FULL_IMAGE"))


@pytest.mark.parametrize("ref", sorted(PLATFORM_REFS))
def test_full_image_for_each_platform(ref: str) -> None:
    check_full_image(platform_images("FULL_INDEX")[ref])


def test_platforms_differ_only_in_config() -> None:
    images = platform_images("FULL_INDEX")
    amd64, arm64 = images["latest-linux-amd64"], images["latest-linux-arm64-v8"]
    assert amd64.manifest["config"] != arm64.manifest["config"]
    assert (
        amd64.manifest["layers"] == arm64.manifest["layers"]
    )  # Same files, same bytes.
    # Built through the transition or directly for the host: the same manifest.
    host = Layout(runfile("FULL_IMAGE")).index()["manifests"][0]
    assert images[HOST_REF].descriptor["digest"] == host["digest"]


# --- derived_image: on base_image -----------------------------------------------------


@pytest.mark.parametrize("ref", sorted(PLATFORM_REFS))
def test_base_layers_come_first_and_config_is_inherited(ref: str) -> None:
    base = single_image("BASE_IMAGE")
    derived = platform_images("DERIVED_INDEX")[ref]

    assert len(derived.layers) == 2
    # The rootfs layer is the same for every platform, so the host's base says
    # what comes first on each.
    assert derived.manifest["layers"][0] == base.manifest["layers"][0]
    assert (
        derived.config["rootfs"]["diff_ids"][0] == base.config["rootfs"]["diff_ids"][0]
    )
    assert derived.config["history"][0] == base.config["history"][0]
    assert derived.config["history"][1]["created_by"].endswith(
        "//tools/oci/tests:app_layer"
    )
    app = derived.layers[1].by_name()
    assert app["home/app/app.txt"].data == b"app data"
    assert (app["home/app/app.txt"].info.uid, app["home/app/app.txt"].info.gid) == (
        65532,
        65532,
    )

    runtime = derived.runtime
    assert runtime["Entrypoint"] == ["/usr/bin/run"]  # Inherited.
    assert runtime["Cmd"] == ["derived-cmd"]  # Overridden.
    assert runtime["Env"] == [
        "LEVEL=derived",
        "PATH=/usr/bin:/bin",
    ]  # Overridden by key, order kept.
    assert runtime["User"] == "65532"
    assert runtime["WorkingDir"] == "/home/app"
    assert runtime["ExposedPorts"] == {"8080/tcp": {}, "9090/udp": {}}  # Merged.
    assert runtime["Labels"] == {
        "org.opencontainers.image.title": "derived",  # Overridden.
        "org.opencontainers.image.vendor": "us",  # Inherited.
    }
    base_digest = derived.manifest["annotations"][BASE_DIGEST]
    if ref == HOST_REF:
        host_base = Layout(runfile("BASE_IMAGE")).index()["manifests"][0]
        assert base_digest == host_base["digest"]
    else:
        assert base_digest.startswith("sha256:")


# --- foreign_image: a tar made by `tar` -----------------------------------------------


def test_foreign_tar_is_normalized() -> None:
    # The input really is what the layer must not be: unsorted, "./" names, owner
    # names and a clock time.
    raw = read_members(runfile("FOREIGN_TAR").read_bytes())
    assert [m.info.name for m in raw] == [
        "./opt/tool/zz.txt",
        "./opt/tool/aa.txt",
        "./opt/tool/link",
        "./opt/tool",
        "./opt",
    ]
    assert {(m.info.mtime, m.info.uname, m.info.gname) for m in raw} == {
        (1700000000, "alice", "staff")
    }

    image = single_image("FOREIGN_IMAGE")
    (layer,) = image.layers
    assert image.config["history"][0]["created_by"].endswith(
        "//tools/oci/tests:foreign_image"
    )
    members = layer.by_name()
    assert list(members) == [
        "opt",
        "opt/tool",
        "opt/tool/aa.txt",
        "opt/tool/link",
        "opt/tool/zz.txt",
    ]
    modes = {name: m.info.mode for name, m in members.items()}
    assert modes == {
        "opt": 0o755,
        "opt/tool": 0o750,
        "opt/tool/aa.txt": 0o600,
        "opt/tool/link": 0o777,
        "opt/tool/zz.txt": 0o644,
    }
    assert {(m.info.uid, m.info.gid) for m in members.values()} == {
        (1000, 1001)
    }  # Numbers kept.
    assert (
        members["opt/tool/link"].info.issym()
        and members["opt/tool/link"].info.linkname == "zz.txt"
    )
    assert members["opt/tool/aa.txt"].data == b"aa\n"
    assert members["opt/tool/zz.txt"].data == b"zz\n"
