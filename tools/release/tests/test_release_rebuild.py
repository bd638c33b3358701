"""The release's rebuild gate, on the real images, without nested builds.

release.build is replaced by one that returns layouts already built (the real
hello and hello_debug): when the second build's digests equal the first's the
release goes on (control: pushed, signed, the rebuild attestation verified by
cosign); when one differs it stops before pushing, naming the image, and no
cosign signing command ever runs. The real builds are //tests/release's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
import rebuild
import release
from registry import registry

RUNFILES = Path(os.environ["TEST_SRCDIR"]) / "_main"
IMAGES = RUNFILES / "images"
PASSWORD = "throwaway"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """What release.release reads from a checkout: MODULE.bazel, the stamping
    script, the locks, in a git repository with no commit."""
    root = tmp_path / "checkout"
    for name in ("MODULE.bazel", "requirements_lock.txt",
                 "images/debian_packages.lock.json",
                 "tools/stamping/workspace_status.sh"):  # fmt: skip
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(RUNFILES / name, root / name)
    # The release copies the files git knows of; nothing is committed.
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    return root


@pytest.fixture
def key(tmp_path: Path) -> Path:
    (tmp_path / "keys").mkdir()
    subprocess.run(
        ["cosign", "generate-key-pair"], cwd=tmp_path / "keys", check=True,
        env={**os.environ, "COSIGN_PASSWORD": PASSWORD}, capture_output=True,
    )  # fmt: skip
    return tmp_path / "keys" / "cosign.key"


def run(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    workspace: Path,
    key: Path,
    address: str,
    builds: list[dict[str, Path]],
) -> list[list[str]]:
    """release.release with `builds` as the two builds; the cosign commands run."""
    monkeypatch.setenv("COSIGN_PASSWORD", PASSWORD)
    results = iter(builds)
    monkeypatch.setattr(
        release, "build", lambda *a, **k: release.Build(next(results), {})
    )
    monkeypatch.setattr(release, "bazel_version", lambda: "7.7.1")
    commands: list[list[str]] = []
    real = release.cosign_run

    def recorded(cosign: str, text: str, args: list[str]) -> str:
        commands.append(args)
        return real(cosign, text, args)

    monkeypatch.setattr(release, "cosign_run", recorded)
    args = release.parse_args(
        ["--registry", f"{address}/team", "--key", str(key), "--version", "1.0.0",
         "--workspace", str(workspace), "--work-dir", str(tmp_path / "work"),
         "--output", str(tmp_path / "out")]
    )  # fmt: skip
    release.release(args)
    return commands


def test_equal_rebuild_is_attested_and_verifies(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, workspace: Path, key: Path
) -> None:
    layouts = {"hello": IMAGES / "hello"}
    with registry() as address:
        commands = run(
            monkeypatch, tmp_path, workspace, key, address, [layouts, dict(layouts)]
        )
        assert any(c[:1] == ["sign"] for c in commands)
        manifest = json.loads((tmp_path / "out/release-manifest.json").read_text())
        (item,) = manifest["images"]
        ref = f"{address}/team/hello@{item['index_digest']}"
        verified = subprocess.run(
            ["cosign", "verify-attestation", "--key", str(key.with_suffix(".pub")),
             "--insecure-ignore-tlog=true", "--allow-insecure-registry",
             "--type", rebuild.PREDICATE_TYPE, ref],
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        assert verified.returncode == 0, verified.stderr
        written = json.loads((tmp_path / "out" / item["rebuild"]).read_text())
        release.check_attestation(verified.stdout, item["index_digest"], written, ref)
        assert written["matched"] is True
        assert written["compared"][0] == {
            "name": "index",
            "mediaType": rebuild.INDEX_MEDIA_TYPE,
            "first": item["index_digest"],
            "rebuild": item["index_digest"],
        }
        assert {e["name"]: e["first"] for e in written["compared"][1:]} == item[
            "platforms"
        ]
        # Attached as OCI 1.1 referrers of the index; Debian's registry has no
        # Referrers API, so they are listed by the tag schema's index.
        assert item["referrers"] == "referrers-tag"
        assert {s["predicateType"] for s in item["signatures"]} == {
            "https://sigstore.dev/cosign/sign/v1",
            "https://spdx.dev/Document",
            "https://cyclonedx.org/bom",
            "https://slsa.dev/provenance/v1",
            rebuild.PREDICATE_TYPE,
        }
        for attached in item["signatures"]:
            assert attached["subject"] == item["index_digest"]
            assert attached["artifactType"] == release.BUNDLE_TYPE


def test_a_differing_rebuild_stops_the_release_before_anything_is_signed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, workspace: Path, key: Path
) -> None:
    first = {"hello": IMAGES / "hello", "hello_debug": IMAGES / "hello_debug"}
    # The second build of hello_debug came out as hello: every digest differs.
    second = {"hello": IMAGES / "hello", "hello_debug": IMAGES / "hello"}
    with registry() as address:
        with pytest.raises(release.ReleaseError) as error:
            run(monkeypatch, tmp_path, workspace, key, address, [first, second])
        message = str(error.value)
        assert "the two builds differ, so the release is not reproducible" in message
        assert "nothing was pushed, signed or tagged" in message
        assert "hello_debug: index digest" in message
        assert "hello: index digest" not in message
        # Nothing pushed, no signing or attesting command, nothing written.
        with urllib.request.urlopen(
            f"http://{address}/v2/_catalog", timeout=10
        ) as response:
            assert json.load(response)["repositories"] == []
        assert not (tmp_path / "out").exists()
