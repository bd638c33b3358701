"""Stamping: what --stamp changes, and that an unstamped build changes nothing.

The same targets are built unstamped and, through a transition, stamped
(stamped.bzl) in one `bazel test`; the stamped values are those of
tools/stamping/workspace_status.sh for this checkout.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path

from wsgi_service.buildinfo import (
    PLACEHOLDER_BUILD_TIME,
    PLACEHOLDER_REVISION,
    PLACEHOLDER_VERSION,
    load_build_info,
)
from oci_layout import EPOCH, Layout, runfile

VERSION = "org.opencontainers.image.version"
REVISION = "org.opencontainers.image.revision"


def status() -> dict[str, str]:
    (path,) = os.environ["STATUS_VALUES"].split()
    return json.loads(Path(path).read_text())


def only_image(layout: Path):  # type: ignore[no-untyped-def]
    found = Layout(layout)
    (descriptor,) = found.index()["manifests"]
    return found.image(descriptor)


def app_layer(paths: str) -> Path:
    """The first-party layer of py_image_layers (its second blob)."""
    blobs = [Path(p) for p in paths.split() if p.endswith(".tar.gz")]
    (app,) = [b for b in blobs if "_app" in b.name]
    return app


def test_status_values_are_those_of_the_commit() -> None:
    values = status()
    assert set(values) == {
        "STABLE_BUILD_TIME",
        "STABLE_GIT_REVISION",
        "STABLE_SOURCE_DATE_EPOCH",
        "STABLE_VERSION",
    }
    assert values["STABLE_BUILD_TIME"].endswith("Z")
    # Unstamped, a stamp_json target provides no file at all.
    assert not Path("tools/stamping/tests/status_values.json").exists()


def test_unstamped_image_keeps_placeholders() -> None:
    image = only_image(runfile("FIXTURE"))
    labels = image.runtime["Labels"]
    assert labels[VERSION] == PLACEHOLDER_VERSION
    assert labels[REVISION] == PLACEHOLDER_REVISION
    assert image.config["created"] == EPOCH


def test_stamped_image_has_version_revision_and_commit_time() -> None:
    values = status()
    unstamped = only_image(runfile("FIXTURE"))
    image = only_image(runfile("STAMPED_FIXTURE"))
    labels = image.runtime["Labels"]
    assert labels[VERSION] == values["STABLE_VERSION"]
    assert labels[REVISION] == values["STABLE_GIT_REVISION"]
    assert labels["org.opencontainers.image.title"] == "fixture"
    assert image.config["created"] == values["STABLE_BUILD_TIME"]
    # Nothing else changes: same layers, same config apart from the stamp.
    assert image.manifest["layers"] == unstamped.manifest["layers"]
    stripped = dict(image.config, created=EPOCH)
    stripped["config"] = dict(image.runtime, Labels=unstamped.runtime["Labels"])
    stripped["history"] = [dict(h, created=EPOCH) for h in image.config["history"]]
    assert stripped == unstamped.config


def test_unstamped_hello_ships_no_build_info() -> None:
    layout = Layout(runfile("HELLO"))
    names = set()
    labels = {}
    for descriptor in layout.index()["manifests"]:
        if descriptor["mediaType"].endswith("manifest.v1+json"):
            image = layout.image(descriptor)
            labels = image.runtime["Labels"]
            for layer in image.layers:
                names |= set(layer.by_name())
    assert "app/hello/app.py" in names
    assert "app/hello/build_info.json" not in names
    assert labels[VERSION] == PLACEHOLDER_VERSION
    assert labels[REVISION] == PLACEHOLDER_REVISION
    with tarfile.open(app_layer(os.environ["HELLO_LAYERS"])) as tar:
        assert "app/hello/build_info.json" not in tar.getnames()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_stamped_hello_serves_its_version(tmp_path: Path) -> None:
    """The stamped app layer, unpacked and run: /version answers the stamp."""
    values = status()
    with tarfile.open(app_layer(os.environ["STAMPED_HELLO_LAYERS"])) as tar:
        tar.extractall(tmp_path, filter="data")
    info_path = tmp_path / "app" / "hello" / "build_info.json"
    info = load_build_info(info_path)
    assert info.version == values["STABLE_VERSION"]
    assert info.revision == values["STABLE_GIT_REVISION"]
    assert info.build_time == values["STABLE_BUILD_TIME"]
    assert (
        info.build_time != PLACEHOLDER_BUILD_TIME
        or values["STABLE_SOURCE_DATE_EPOCH"] == "0"
    )

    # Run the unpacked first-party code with this test's waitress.
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "app"), *sys.path]),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "hello"], env=env, cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/version", timeout=2
                ) as response:
                    body = json.load(response)
                break
            except OSError:
                assert process.poll() is None, process.communicate()[1][-2000:]
                assert time.monotonic() < deadline, "hello did not start"
                time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert body["version"] == values["STABLE_VERSION"]
    assert body["revision"] == values["STABLE_GIT_REVISION"]
