"""Independent checks: skopeo, umoci and oci-image-tool read what the programs write.

Each test skips, saying which Debian package to install, when its tool is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from testlib import Layout, build_layer, require_tool, run_tool

ENTRYPOINT = ["/usr/bin/python3", "/app/main.py"]
CMD = ["--port", "8080"]


def _run(*args: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"{args[0]} failed:\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A base image, an app image on it for two platforms, and their index."""
    tmp = tmp_path_factory.mktemp("images")
    long_dir = "app/" + "/".join(["deeply_nested_package_directory"] * 4)
    base_layer = build_layer(
        tmp / "base-layer",
        [
            {"path": "etc/passwd", "content": "root:x:0:0::/root:/sbin/nologin\n"},
            {"path": "tmp", "type": "dir", "mode": "1777"},
            {
                "path": "home/nonroot",
                "type": "dir",
                "mode": "0700",
                "uid": 65532,
                "gid": 65532,
            },
        ],
    )
    app_layer = build_layer(
        tmp / "app-layer",
        [
            {"path": "app/main.py", "content": "print('hello')\n"},
            {"path": "app/run", "content": "#!/bin/sh\n", "executable": True},
            {"path": "app/latest", "type": "symlink", "target": "main.py"},
            {
                "path": "app/main-hardlink.py",
                "type": "hardlink",
                "target": "app/main.py",
            },
            {"path": f"{long_dir}/module.py", "content": "X = 1\n"},
        ],
    )
    out = {}
    for platform in ("linux/amd64", "linux/arm64"):
        arch = platform.split("/")[1]
        run_tool(
            "image", "--output", tmp / f"base-{arch}", "--platform", platform,
            "--layer", base_layer.arg, "--env", "PATH=/usr/bin:/bin", "--user", "65532",
        )  # fmt: skip
        run_tool(
            "image", "--output", tmp / f"app-{arch}", "--platform", platform,
            "--base", tmp / f"base-{arch}", "--layer", app_layer.arg,
            "--entrypoint", json.dumps(ENTRYPOINT), "--cmd", json.dumps(CMD),
            "--env", "APP=1", "--workdir", "/app", "--user", "65532:65532",
        )  # fmt: skip
        out[arch] = tmp / f"app-{arch}"
    run_tool(
        "index",
        "--output",
        tmp / "multi",
        "--image",
        out["amd64"],
        "--image",
        out["arm64"],
    )
    out["multi"] = tmp / "multi"
    out["long_dir"] = Path(long_dir)
    return out


def test_skopeo_reads_manifests_and_configs(built: dict[str, Path]) -> None:
    skopeo = require_tool("skopeo")
    single = Layout(built["amd64"])
    raw = _run(skopeo, "inspect", "--raw", f"oci:{single.root}:latest").stdout
    assert raw.encode() == single.blob(single.by_ref("latest")["digest"])
    config = _run(
        skopeo, "inspect", "--raw", "--config", f"oci:{single.root}:latest"
    ).stdout
    assert config.encode() == single.blob(single.manifest()["config"]["digest"])

    multi = Layout(built["multi"])
    raw = _run(skopeo, "inspect", "--raw", f"oci:{multi.root}:latest").stdout
    assert raw.encode() == multi.blob(multi.by_ref("latest")["digest"])
    info = json.loads(
        _run(skopeo, "inspect", f"oci:{multi.root}:latest-linux-arm64-v8").stdout
    )
    assert (info["Architecture"], info["Os"]) == ("arm64", "linux")
    assert info["Digest"] == multi.by_ref("latest-linux-arm64-v8")["digest"]


@pytest.mark.parametrize("name", ["amd64", "multi"])
def test_skopeo_copy_all_preserves_digests(
    tmp_path: Path, built: dict[str, Path], name: str
) -> None:
    skopeo = require_tool("skopeo")
    src = Layout(built[name])
    dst = tmp_path / "copy"
    _run(
        skopeo, "--insecure-policy", "copy", "--all", "--preserve-digests", "--quiet",
        f"oci:{src.root}:latest", f"oci:{dst}:latest",
    )  # fmt: skip
    copied = Layout(dst)
    assert copied.by_ref("latest")["digest"] == src.by_ref("latest")["digest"]
    digests = {p.name for p in (dst / "blobs" / "sha256").iterdir()}
    assert digests == {p.name for p in (src.root / "blobs" / "sha256").iterdir()}


@pytest.mark.parametrize("ref", ["latest-linux-amd64", "latest-linux-arm64-v8"])
def test_umoci_unpacks_each_platform(
    tmp_path: Path, built: dict[str, Path], ref: str
) -> None:
    umoci = require_tool("umoci")
    bundle = tmp_path / "bundle"
    rootless = [] if os.geteuid() == 0 else ["--rootless"]
    _run(umoci, "unpack", *rootless, "--image", f"{built['multi']}:{ref}", bundle)
    rootfs = bundle / "rootfs"
    assert (rootfs / "app" / "main.py").read_text() == "print('hello')\n"
    assert (rootfs / "app" / "run").stat().st_mode & 0o7777 == 0o755
    assert (rootfs / "tmp").stat().st_mode & 0o7777 == 0o1777
    assert os.readlink(rootfs / "app" / "latest") == "main.py"
    assert (rootfs / "app" / "main-hardlink.py").stat().st_ino == (
        (rootfs / "app" / "main.py").stat().st_ino
    )
    assert (rootfs / built["long_dir"] / "module.py").read_text() == "X = 1\n"
    if not rootless:
        home = (rootfs / "home" / "nonroot").stat()
        assert (home.st_uid, home.st_gid, home.st_mode & 0o7777) == (
            65532,
            65532,
            0o700,
        )
    process = json.loads((bundle / "config.json").read_bytes())["process"]
    assert process["args"] == ENTRYPOINT + CMD
    assert process["cwd"] == "/app"
    assert (process["user"]["uid"], process["user"]["gid"]) == (65532, 65532)
    assert "PATH=/usr/bin:/bin" in process["env"] and "APP=1" in process["env"]


def test_oci_image_tool_validates(built: dict[str, Path]) -> None:
    tool = require_tool("oci-image-tool")
    # Debian's oci-image-tool (1.0.0-rc1) calls the layout type "image" and autodetects
    # imageLayout; newer versions accept --type imageLayout.
    for name in ("amd64", "arm64", "multi"):
        result = _run(tool, "validate", "--type", "image", built[name])
        assert "Validation succeeded" in result.stdout
    # Its --ref filter mis-deletes while iterating once index.json has 3 entries, so a
    # ref is checked only where that bug cannot bite.
    result = _run(
        tool, "validate", "--type", "image", "--ref", "name=latest", built["amd64"]
    )
    assert "reference [name=latest]: OK" in result.stdout
    multi = Layout(built["multi"])
    checks = [
        ("imageIndex", multi.by_ref("latest")["digest"]),
        ("manifest", multi.by_ref("latest-linux-amd64")["digest"]),
        ("config", multi.manifest("latest-linux-amd64")["config"]["digest"]),
    ]
    for kind, digest in checks:
        _run(tool, "validate", "--type", kind, multi.blob_path(digest))
