"""push.py against a real registry (Debian's docker-registry on 127.0.0.1), and against none.

The layout under test is :two_platforms, an index of a one-file image for two platforms.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

RUNFILES = Path(os.environ["TEST_SRCDIR"]) / "_main"
PUSH = RUNFILES / "tools/oci/private/push.py"
LAYOUT = RUNFILES / "tools/oci/tests/push/two_platforms"
ACCEPT = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.skip("docker-registry is not installed (Debian package docker-registry)")
    port = free_port()
    config = tmp_path / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: error}\n"
        f"storage: {{filesystem: {{rootdirectory: {tmp_path / 'storage'}}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
    )
    process = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("docker-registry did not start") from None
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def push(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(PUSH), "--layout", str(LAYOUT), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def remote_digest(registry: str, name: str, reference: str) -> str:
    request = urllib.request.Request(f"http://{registry}/v2/{name}/manifests/{reference}", method="HEAD")
    request.add_header("Accept", ACCEPT)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["Docker-Content-Digest"]


def local_index_digest() -> str:
    manifests = json.loads((LAYOUT / "index.json").read_text())["manifests"]
    return next(m["digest"] for m in manifests if m["mediaType"].endswith("index.v1+json"))


def test_push_by_digest_then_tags(registry: str) -> None:
    result = push("--repository", f"{registry}/small", "--tag", "v1", "-t", "latest")
    assert result.returncode == 0, result.stderr
    digest = local_index_digest()
    assert f"{registry}/small@{digest}" in result.stdout
    assert remote_digest(registry, "small", digest) == digest
    assert remote_digest(registry, "small", "v1") == digest
    assert remote_digest(registry, "small", "latest") == digest
    # Every platform manifest arrived too, under the digest built here.
    nested = json.loads((LAYOUT / "blobs" / "sha256" / digest.split(":")[1]).read_text())
    for manifest in nested["manifests"]:
        assert remote_digest(registry, "small", manifest["digest"]) == manifest["digest"]


def test_last_repository_wins_like_rules_oci(registry: str) -> None:
    result = push("--repository", "unused.invalid/x", "--repository", f"{registry}/other", "-t", "t1")
    assert result.returncode == 0, result.stderr
    assert remote_digest(registry, "other", "t1") == local_index_digest()


def test_unreachable_registry_names_registry_and_step() -> None:
    registry = f"127.0.0.1:{free_port()}"  # nothing listens there
    result = push("--repository", f"{registry}/small", "--tag", "v1")
    assert result.returncode == 1
    assert f"pushing the image by digest failed for registry {registry}" in result.stderr
    assert "Check that" in result.stderr
