"""//images:push against a real registry: every image arrives with the digests built here, then its tags.

Starts Debian's docker-registry on 127.0.0.1 (free port, throwaway storage),
runs the //images:push binary as a user would (prefix and tag as flags, and
the prefix from IMAGE_REPOSITORY_PREFIX), and reads the index, each platform
manifest and each tag back.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import image_list
from registry import free_port, registry, remote_digest

RUNFILES = Path(os.environ["TEST_SRCDIR"]) / "_main"
PUSH = RUNFILES / "images" / "push"
# Every image the build makes (images/services.bzl), as the release reads them.
IMAGES = image_list.read(RUNFILES / image_list.PATH)


def local_digests(image: str) -> tuple[str, list[str]]:
    """The index digest and the platform manifest digests of a built image."""
    layout = RUNFILES / "images" / image
    entries = json.loads((layout / "index.json").read_text())["manifests"]
    index = next(e for e in entries if e["mediaType"].endswith("index.v1+json"))
    nested = json.loads(
        (layout / "blobs" / "sha256" / index["digest"].split(":")[1]).read_text()
    )
    return index["digest"], [m["digest"] for m in nested["manifests"]]


def run_push(
    args: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if k != "IMAGE_REPOSITORY_PREFIX"
    }
    environment.update(env or {})
    return subprocess.run(
        [str(PUSH), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        check=False,
    )


def test_push_every_image_by_digest_then_tag() -> None:
    assert {"hello", "hello_debug", "hello_slim"} <= set(IMAGES)
    with registry() as address:
        result = run_push(["--repository-prefix", f"{address}/team", "--tag", "v1"])
        assert result.returncode == 0, result.stderr
        for image in IMAGES:
            index, manifests = local_digests(image)
            assert f"{address}/team/{image}@{index}" in result.stdout
            assert remote_digest(address, f"team/{image}", index) == index
            assert remote_digest(address, f"team/{image}", "v1") == index
            for manifest in manifests:
                assert remote_digest(address, f"team/{image}", manifest) == manifest


def test_prefix_from_the_environment() -> None:
    with registry() as address:
        result = run_push(
            ["-t", "latest"], env={"IMAGE_REPOSITORY_PREFIX": f"{address}/env"}
        )
        assert result.returncode == 0, result.stderr
        index, _ = local_digests("hello")
        assert remote_digest(address, "env/hello", "latest") == index


def test_no_prefix_is_a_clear_error() -> None:
    result = run_push([])
    assert result.returncode == 2
    assert "no repository prefix" in result.stderr


def test_unreachable_registry_names_registry_and_step() -> None:
    address = f"127.0.0.1:{free_port()}"
    result = run_push(["--repository-prefix", f"{address}/team", "--tag", "v1"])
    assert result.returncode == 1
    assert f"pushing the image by digest failed for registry {address}" in result.stderr
