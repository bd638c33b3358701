"""The shipped images, read from the built layouts: platforms, config, and what must never be inside.

Production variants must hold no shell, no busybox, no package manager and
no setuid/setgid file; the debug variant must have its busybox shell.
"""

from __future__ import annotations

import importlib.util
import json
import posixpath
import subprocess

import pytest
from image_platforms import PLATFORMS
from oci_layout import Image, Layout, runfile

# (architecture, variant) of every platform images are built for.
ARCHES = sorted((a, p["variant"] or None) for a, p in PLATFORMS.items())
PRODUCTION = ["HELLO"]
ALL = ["HELLO", "HELLO_DEBUG"]
FORBIDDEN = {
    "bin/sh", "usr/bin/sh", "bin/bash", "usr/bin/bash", "bin/dash", "usr/bin/dash",
    "usr/bin/busybox", "busybox/sh", "busybox/busybox",
    "usr/bin/apt", "usr/bin/apt-get", "usr/bin/dpkg", "usr/bin/dpkg-deb", "usr/bin/perl",
}  # fmt: skip


def platform_images(variable: str) -> list[tuple[dict, Image]]:
    layout = Layout(runfile(variable))
    nested = layout.json_blob(layout.by_ref("latest"))
    return [(entry["platform"], layout.image(entry)) for entry in nested["manifests"]]


def files_of(image: Image) -> dict[str, int]:
    """Path -> mode of everything in the image, later layers winning."""
    paths: dict[str, int] = {}
    for layer in image.layers:
        for member in layer.members:
            paths[member.info.name.rstrip("/")] = member.info.mode | (
                0o100000 if member.info.isreg() else 0
            )
    return paths


@pytest.mark.parametrize("variable", ALL)
def test_index_has_both_platforms(variable: str) -> None:
    platforms = sorted(
        (p["architecture"], p.get("variant")) for p, _ in platform_images(variable)
    )
    assert platforms == ARCHES


@pytest.mark.parametrize("variable", ALL)
def test_skopeo_reads_the_index(variable: str) -> None:
    raw = subprocess.run(
        ["skopeo", "inspect", "--raw", f"oci:{runfile(variable)}:latest"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    index = json.loads(raw)
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert sorted(m["platform"]["architecture"] for m in index["manifests"]) == sorted(
        PLATFORMS
    )


@pytest.mark.parametrize("variable", ALL)
def test_config_runs_the_service_as_nonroot(variable: str) -> None:
    for platform, image in platform_images(variable):
        config = image.runtime
        assert image.config["architecture"] == platform["architecture"]
        assert config["User"] == "65532:65532"
        assert config["Entrypoint"] == ["/usr/bin/python3.13", "-m", "hello"]
        assert config["ExposedPorts"] == {"8080/tcp": {}}
        assert config["WorkingDir"] == "/app"
        labels = config["Labels"]
        for key in ("title", "source", "version", "revision", "licenses"):
            assert labels.get(f"org.opencontainers.image.{key}"), key
        assert image.env()["PYTHONPATH"] == "/app:/app/site-packages"


@pytest.mark.parametrize("variable", PRODUCTION)
def test_production_has_no_shell_package_manager_or_setuid(variable: str) -> None:
    for platform, image in platform_images(variable):
        paths = files_of(image)
        assert not FORBIDDEN & paths.keys(), (
            platform,
            sorted(FORBIDDEN & paths.keys()),
        )
        assert not [p for p in paths if p.startswith("busybox")], platform
        privileged = sorted(
            p for p, mode in paths.items() if mode & 0o100000 and mode & 0o6000
        )
        assert not privileged, (platform, privileged)


def test_debug_has_busybox_shell() -> None:
    for platform, image in platform_images("HELLO_DEBUG"):
        paths = files_of(image)
        assert "busybox/sh" in paths, platform
        assert "usr/bin/busybox" in paths, platform
        assert "PATH" in image.env() and image.env()["PATH"].endswith(":/busybox")


@pytest.mark.parametrize("variable", ALL)
def test_app_and_runtime_are_in_place(variable: str) -> None:
    for platform, image in platform_images(variable):
        paths = files_of(image)
        for path in (
            "usr/bin/python3.13",
            "etc/ssl/certs/ca-certificates.crt",
            "etc/passwd",
            "app/hello/__main__.py",
            "app/hello/__pycache__/app.cpython-313.pyc",
            "app/site-packages/waitress/__init__.py",
            # Imported at start-up; os, io, codecs and the like are frozen into
            # the interpreter and need no .pyc.
            "usr/lib/python3.13/__pycache__/socket.cpython-313.pyc",
        ):
            assert path in paths, (platform, path)
        assert paths["tmp"] & 0o7777 == 0o1777
        assert paths["home/nonroot"] & 0o7777 == 0o700


@pytest.mark.parametrize("variable", ALL)
def test_documentation_is_the_copyright_files(variable: str) -> None:
    # config.bzl: DEBIAN_EXCLUDES keeps each package's copyright file only.
    for platform, image in platform_images(variable):
        paths = files_of(image)
        files = [
            p
            for p, mode in paths.items()
            if p.startswith("usr/share/doc/") and mode & 0o100000
        ]
        assert files, platform
        others = sorted(p for p in files if not p.endswith("/copyright"))
        assert not others, (platform, others)


@pytest.mark.parametrize("variable", ALL)
def test_every_pyc_is_compiled_from_the_source_beside_it(variable: str) -> None:
    # Unchecked-hash .pyc files (config.bzl) are used without a look at their
    # source: each must carry the hash of the very source the image ships.
    for platform, image in platform_images(variable):
        data: dict[str, bytes] = {}
        for layer in image.layers:
            for member in layer.members:
                if member.data is not None:
                    data[member.info.name] = member.data
        checked = 0
        for path, pyc in data.items():
            directory, name = posixpath.split(path)
            if posixpath.basename(directory) != "__pycache__":
                continue
            module = name.split(".")[0]
            source = posixpath.join(posixpath.dirname(directory), module + ".py")
            assert source in data, (platform, path, "no source beside it")
            flags = int.from_bytes(pyc[4:8], "little")
            assert flags & 0b01, (platform, path, "not hash-based")
            assert pyc[8:16] == importlib.util.source_hash(data[source]), (
                platform,
                path,
            )
            checked += 1
        assert checked > 100, (platform, checked)
