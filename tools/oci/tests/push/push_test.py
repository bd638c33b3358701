"""push.py against a real registry (Debian's docker-registry on 127.0.0.1), and against none.

The layouts under test are :two_platforms, an index of a one-file image for two
platforms, and :two_platforms_zstd, the same with tar+zstd layers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ocireader import Layout
from registry import free_port, remote_digest
from registry import registry as start_registry

RUNFILES = Path(os.environ["TEST_SRCDIR"]) / "_main"
PUSH = RUNFILES / "tools/oci/private/push.py"
LAYOUT = RUNFILES / "tools/oci/tests/push/two_platforms"
ZSTD_LAYOUT = RUNFILES / "tools/oci/tests/push/two_platforms_zstd"


@pytest.fixture
def registry() -> Iterator[str]:
    with start_registry() as address:
        yield address


def push(*args: str, layout: Path = LAYOUT) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(PUSH), "--layout", str(layout), *args]
    # push.py imports ocireader, a dependency of this test: give it our path.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=False, env=env
    )


def local_index_digest(layout: Path = LAYOUT) -> str:
    manifests = json.loads((layout / "index.json").read_text())["manifests"]
    return next(
        m["digest"] for m in manifests if m["mediaType"].endswith("index.v1+json")
    )


def test_push_by_digest_then_tags(registry: str) -> None:
    result = push("--repository", f"{registry}/small", "--tag", "v1", "-t", "latest")
    assert result.returncode == 0, result.stderr
    digest = local_index_digest()
    assert f"{registry}/small@{digest}" in result.stdout
    assert remote_digest(registry, "small", digest) == digest
    assert remote_digest(registry, "small", "v1") == digest
    assert remote_digest(registry, "small", "latest") == digest
    # Every platform manifest arrived too, under the digest built here.
    nested = json.loads(
        (LAYOUT / "blobs" / "sha256" / digest.split(":")[1]).read_text()
    )
    for manifest in nested["manifests"]:
        assert (
            remote_digest(registry, "small", manifest["digest"]) == manifest["digest"]
        )


def test_last_repository_wins_like_rules_oci(registry: str) -> None:
    result = push(
        "--repository",
        "unused.invalid/x",
        "--repository",
        f"{registry}/other",
        "-t",
        "t1",
    )
    assert result.returncode == 0, result.stderr
    assert remote_digest(registry, "other", "t1") == local_index_digest()


def test_unreachable_registry_names_registry_and_step() -> None:
    registry = f"127.0.0.1:{free_port()}"  # nothing listens there
    result = push("--repository", f"{registry}/small", "--tag", "v1")
    assert result.returncode == 1
    assert (
        f"pushing the image by digest failed for registry {registry}" in result.stderr
    )
    assert "Check that" in result.stderr


def test_a_zstd_index_pushes_and_reads_back_unchanged(
    registry: str, tmp_path: Path
) -> None:
    result = push("--repository", f"{registry}/small", "-t", "zstd", layout=ZSTD_LAYOUT)
    assert result.returncode == 0, result.stderr
    digest = local_index_digest(ZSTD_LAYOUT)
    assert digest != local_index_digest(), "tar+zstd layers make another index"
    assert remote_digest(registry, "small", "zstd") == digest
    # Pulled back by another client (skopeo, containers/image) with every
    # digest kept: the same blobs, and the layers read as they were written.
    skopeo = shutil.which("skopeo")
    assert skopeo, "skopeo is in the build root"
    pulled = tmp_path / "pulled"
    copy = subprocess.run(
        [skopeo, "--insecure-policy", "copy", "--all", "--preserve-digests",
         "--src-tls-verify=false", f"docker://{registry}/small:zstd",
         f"oci:{pulled}:zstd"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "HOME": str(tmp_path), "TMPDIR": str(tmp_path)},
    )  # fmt: skip
    assert copy.returncode == 0, copy.stderr
    back, built = Layout(pulled), Layout(ZSTD_LAYOUT)
    assert back.by_ref("zstd")["digest"] == digest
    for ref in built.images():
        image = back.image(next(r for r in back.images() if r.digest == ref.digest))
        assert [layer.compression for layer in image.layers] == ["zstd"]
        with image.layers[0].archive() as tar:
            files = {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}
        assert files == {
            "payload.txt": (RUNFILES / "tools/oci/tests/push/payload.txt").read_bytes()
        }
