"""Independent readers accept what Bazel built: skopeo, umoci and oci-image-tool.

A missing tool skips its tests, naming the tool; the build root has all three.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from oci_layout import PLATFORM_REFS, Layout, runfile

LAYOUTS = [
    "FULL_INDEX",
    "DERIVED_INDEX",
    "DERIVED_ZSTD_INDEX",  # tar+zstd layers
    "FULL_IMAGE",
    "FOREIGN_IMAGE",
]


def layout_dir(variable: str) -> Path:
    """The real directory: oci-image-tool rejects a layout whose blobs/ is a symlink."""
    return runfile(variable).resolve()


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian package: {name})")
    return path


def run(*args: object, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=False, env=env
    )
    assert (
        result.returncode == 0
    ), f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture
def tool_env(tmp_path: Path) -> dict[str, str]:
    """skopeo and umoci keep temporary files and settings under TMPDIR and HOME."""
    (tmp_path / "home").mkdir()
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "TMPDIR": str(tmp_path),
    }


@pytest.mark.parametrize("variable", LAYOUTS)
def test_skopeo_reads_what_index_json_names(
    variable: str, tool_env: dict[str, str]
) -> None:
    skopeo = tool("skopeo")
    layout = Layout(runfile(variable))
    latest = layout.by_ref("latest")
    raw = run(skopeo, "inspect", "--raw", f"oci:{layout.root}:latest", env=tool_env)
    assert raw.encode() == layout.blob(latest)


@pytest.mark.parametrize("ref", sorted(PLATFORM_REFS))
def test_skopeo_sees_each_platform(ref: str, tool_env: dict[str, str]) -> None:
    skopeo = tool("skopeo")
    layout = Layout(runfile("FULL_INDEX"))
    info = json.loads(run(skopeo, "inspect", f"oci:{layout.root}:{ref}", env=tool_env))
    assert info["Digest"] == layout.by_ref(ref)["digest"]
    assert (info["Os"], info["Architecture"]) == (
        "linux",
        PLATFORM_REFS[ref]["architecture"],
    )
    assert info["Labels"]["org.opencontainers.image.title"] == "full"
    assert "GREETING=hello" in info["Env"]
    manifest = layout.json_blob(layout.by_ref(ref))
    config = run(
        skopeo, "inspect", "--raw", "--config", f"oci:{layout.root}:{ref}", env=tool_env
    )
    assert config.encode() == layout.blob(manifest["config"])


@pytest.mark.parametrize("variable", LAYOUTS)
def test_skopeo_copy_all_preserves_digests(
    variable: str, tmp_path: Path, tool_env: dict[str, str]
) -> None:
    skopeo = tool("skopeo")
    src = Layout(runfile(variable))
    dst = Layout(tmp_path / "copy")
    run(
        skopeo, "--insecure-policy", "copy", "--all", "--preserve-digests", "--quiet",
        f"oci:{src.root}:latest", f"oci:{dst.root}:latest", env=tool_env,
    )  # fmt: skip
    assert dst.by_ref("latest")["digest"] == src.by_ref("latest")["digest"]
    # Every blob made it across unchanged (the per-platform refs are not copied,
    # but what they name is in the nested index).
    assert dst.blob_digests() == src.blob_digests()


@pytest.mark.parametrize("ref", sorted(PLATFORM_REFS))
def test_umoci_unpacks_full_image(
    ref: str, tmp_path: Path, tool_env: dict[str, str]
) -> None:
    umoci = tool("umoci")
    assert (
        os.geteuid() == 0
    ), "umoci unpack needs root to chown; the test is tagged no-sandbox"
    bundle = tmp_path / "bundle"
    run(
        umoci,
        "unpack",
        "--image",
        f"{layout_dir('FULL_INDEX')}:{ref}",
        bundle,
        env=tool_env,
    )
    rootfs = bundle / "rootfs"
    assert (rootfs / "etc/hello.txt").read_bytes() == Path(
        "tools/oci/tests/hello.txt"
    ).read_bytes()
    assert os.readlink(rootfs / "etc/greeting") == "hello.txt"
    expected = {
        # path: (mode, uid, gid)
        "tmp": (0o1777, 0, 0),
        "home/app": (0o700, 65532, 65532),
        "etc/hello.txt": (0o640, 0, 65532),
        "usr/bin/run": (0o755, 0, 0),
    }
    for path, want in expected.items():
        st = (rootfs / path).lstat()
        assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == want, path
    process = json.loads((bundle / "config.json").read_bytes())["process"]
    assert process["args"] == ["/usr/bin/run", "--verbose"]
    assert process["cwd"] == "/home/app"
    assert (process["user"]["uid"], process["user"]["gid"]) == (65532, 65532)
    assert {"GREETING=hello", "PATH=/usr/bin:/bin"} <= set(process["env"])


@pytest.mark.parametrize("ref", sorted(PLATFORM_REFS))
@pytest.mark.parametrize("variable", ["DERIVED_INDEX", "DERIVED_ZSTD_INDEX"])
def test_umoci_unpacks_derived_image_over_its_base(
    variable: str, ref: str, tmp_path: Path, tool_env: dict[str, str]
) -> None:
    # umoci reads tar+zstd since 0.5 (the build root's is 0.6; Debian 12's 0.4.7 cannot).
    umoci = tool("umoci")
    bundle = tmp_path / "bundle"
    run(
        umoci,
        "unpack",
        "--image",
        f"{layout_dir(variable)}:{ref}",
        bundle,
        env=tool_env,
    )
    rootfs = bundle / "rootfs"
    assert (rootfs / "usr/bin/run").is_file()  # From the base.
    assert (rootfs / "home/app/app.txt").read_text() == "app data"
    home = (rootfs / "home/app").stat()
    # app_layer lists /home/app with the base's mode and owner, so unpacking it
    # over the base keeps the home directory private to the app user.
    assert (home.st_mode & 0o7777, home.st_uid, home.st_gid) == (0o700, 65532, 65532)
    process = json.loads((bundle / "config.json").read_bytes())["process"]
    assert process["args"] == ["/usr/bin/run", "derived-cmd"]
    assert "LEVEL=derived" in process["env"]


# Debian's oci-image-tool (1.0.0-rc) predates tar+zstd in the image-spec: it
# calls the media type invalid, so zstd layouts are validated by skopeo and umoci.
@pytest.mark.parametrize("variable", [v for v in LAYOUTS if v != "DERIVED_ZSTD_INDEX"])
def test_oci_image_tool_validates_the_layout(
    variable: str, tool_env: dict[str, str]
) -> None:
    validator = tool("oci-image-tool")
    # Debian's oci-image-tool calls an image layout "image" ("imageLayout" is
    # unimplemented there); it validates every ref of index.json.
    output = run(
        validator, "validate", "--type", "image", layout_dir(variable), env=tool_env
    )
    assert "Validation succeeded" in output
