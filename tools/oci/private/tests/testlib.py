"""Helpers shared by the tests of the OCI action programs.

The programs are run as the Bazel actions will run them: as scripts in a subprocess,
with explicit arguments and a minimal environment.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ocilib
import pytest

PRIVATE = Path(__file__).absolute().parents[1]


def tool_env(**extra: str) -> dict[str, str]:
    """A small environment: no SOURCE_DATE_EPOCH or locale from the host leaks in.

    PYTHONPATH is this process's sys.path, so the programs find zlib-ng wherever the
    test runner found it (a venv here, Bazel's runfiles there).
    """
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "PYTHONDONTWRITEBYTECODE": "1",  # Runfiles are read-only; keep sources clean.
    }
    env.update(extra)
    return env


def run_tool(
    name: str,
    *args: object,
    ok: bool = True,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    umask: int = -1,
) -> subprocess.CompletedProcess[str]:
    """Run tools/oci/private/NAME.py; assert success (ok=True) or a clean failure."""
    result = subprocess.run(
        [sys.executable, str(PRIVATE / f"{name}.py"), *map(str, args)],
        cwd=cwd,
        env=env if env is not None else tool_env(),
        capture_output=True,
        text=True,
        umask=umask,
        check=False,
    )
    if ok:
        assert result.returncode == 0, f"{name}.py failed:\n{result.stderr}"
    else:
        assert (
            result.returncode == 1
        ), f"{name}.py: expected exit 1, got {result.returncode}:\n{result.stderr}"
        assert "Traceback" not in result.stderr, result.stderr
    return result


def sha256_file(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def write_json(path: Path, obj: Any) -> Path:
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


@dataclass
class BuiltLayer:
    blob: Path
    descriptor_path: Path
    tar: Path
    listing: Path

    @property
    def descriptor(self) -> dict[str, Any]:
        return json.loads(self.descriptor_path.read_bytes())

    @property
    def arg(self) -> str:
        """The --layer argument of image.py."""
        return f"{self.blob}={self.descriptor_path}"


def build_layer(
    out_dir: Path, entries: list[dict[str, Any]], *extra: object
) -> BuiltLayer:
    """Write a spec with these entries (sources created from "content") and build it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    src_dir = out_dir / "src"
    spec_entries = []
    for i, entry in enumerate(entries):
        entry = dict(entry)
        if "content" in entry:
            src = src_dir / f"{i}"
            src.parent.mkdir(parents=True, exist_ok=True)
            src.write_bytes(entry.pop("content").encode())
            if entry.pop("executable", False):
                src.chmod(0o755)
            entry["source"] = str(src)
        spec_entries.append(entry)
    spec = write_json(out_dir / "spec.json", {"entries": spec_entries})
    layer = BuiltLayer(
        out_dir / "layer.tar.gz",
        out_dir / "layer.json",
        out_dir / "layer.tar",
        out_dir / "paths.txt",
    )
    run_tool(
        "layer",
        "--spec",
        spec,
        "--output",
        layer.blob,
        "--descriptor",
        layer.descriptor_path,
        "--uncompressed-output",
        layer.tar,
        "--listing",
        layer.listing,
        *extra,
    )
    return layer


@dataclass
class Layout:
    """Read access to an OCI image layout for assertions."""

    root: Path

    @property
    def index(self) -> dict[str, Any]:
        return json.loads((self.root / "index.json").read_bytes())

    def blob_path(self, digest: str) -> Path:
        return self.root / "blobs" / "sha256" / digest.removeprefix("sha256:")

    def blob(self, digest: str) -> bytes:
        return self.blob_path(digest).read_bytes()

    def json_blob(self, digest: str) -> Any:
        return json.loads(self.blob(digest))

    def by_ref(self, ref: str) -> dict[str, Any]:
        matches = [
            d
            for d in self.index["manifests"]
            if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref
        ]
        assert len(matches) == 1, f"ref {ref!r}: {matches}"
        return matches[0]

    def manifest(self, ref: str = "latest") -> dict[str, Any]:
        return self.json_blob(self.by_ref(ref)["digest"])

    def config(self, ref: str = "latest") -> dict[str, Any]:
        return self.json_blob(self.manifest(ref)["config"]["digest"])


def assert_layout_consistent(layout: Layout) -> None:
    """Every blob is named by its digest, every descriptor matches its blob, nothing extra."""
    assert json.loads((layout.root / "oci-layout").read_bytes()) == {
        "imageLayoutVersion": "1.0.0"
    }
    blobs = {p.name: p for p in (layout.root / "blobs" / "sha256").iterdir()}
    for name, path in blobs.items():
        assert sha256_file(path) == f"sha256:{name}"
    referenced: set[str] = set()

    def visit(desc: dict[str, object]) -> None:
        digest = str(desc["digest"])
        data = layout.blob(digest)
        assert len(data) == desc["size"]
        referenced.add(digest.removeprefix("sha256:"))
        if desc["mediaType"] in (ocilib.MEDIA_TYPE_MANIFEST, ocilib.MEDIA_TYPE_INDEX):
            assert data == ocilib.canonical_json(
                json.loads(data)
            ), "JSON blobs are canonical"
            doc = json.loads(data)
            assert doc["schemaVersion"] == 2 and doc["mediaType"] == desc["mediaType"]
            if "config" in doc:
                assert doc["config"]["mediaType"] == ocilib.MEDIA_TYPE_CONFIG
                visit(doc["config"])
            for child in doc.get("layers", []) + doc.get("manifests", []):
                visit(child)

    index = layout.index
    assert index["schemaVersion"] == 2 and index["mediaType"] == ocilib.MEDIA_TYPE_INDEX
    for desc in index["manifests"]:
        visit(desc)
    assert referenced == set(blobs), "no unreferenced blobs"


def find_python(version: str) -> str | None:
    """A real interpreter of this version that runs with an empty environment."""
    candidates = [
        shutil.which(f"python{version}") or "",
        f"/usr/bin/python{version}",
        f"/usr/local/bin/python{version}",
        *sorted(
            glob.glob(
                os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python{version}")
            )
        ),
    ]
    for candidate in candidates:
        if not candidate or not os.path.exists(candidate):
            continue
        probe = subprocess.run(
            [
                candidate,
                "-S",
                "-c",
                "import sys; print('%d.%d' % sys.version_info[:2])",
            ],
            env={},
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def require_tool(name: str, package: str | None = None) -> str:
    """The path of a host tool, or skip the test saying how to get it."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (apt-get install {package or name})")
    return path


def platform_images(directory: Path, platforms: tuple[str, ...]) -> dict[str, Path]:
    """One small image layout per platform (its /etc/arch names it), by architecture."""
    out = {}
    for platform in platforms:
        arch = platform.split("/")[1]
        layer = build_layer(
            directory / f"layer-{arch}", [{"path": "etc/arch", "content": f"{arch}\n"}]
        )
        run_tool(
            "image", "--output", directory / arch, "--platform", platform,
            "--layer", layer.arg, "--entrypoint", '["/bin/true"]',
        )  # fmt: skip
        out[arch] = directory / arch
    return out
