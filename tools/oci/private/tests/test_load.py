"""oci_load's programs: tarball.py (what engines load), load.py (the run step) and load.sh (the engine).

The engines are stand-ins on PATH that record how they were called and answer
as podman and docker do: the real ones are exercised from the host by
tools/e2e/readme_check, which loads into a real podman.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from testlib import PRIVATE, platform_images, run_tool, tool_env

LOAD_SH = PRIVATE / "load.sh"
DOCKER_DOWN = (
    "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
    "Is the docker daemon running?"
)


@pytest.fixture
def index(tmp_path: Path) -> Path:
    """A two-platform layout as oci_image_index writes it."""
    built = platform_images(tmp_path, ("linux/amd64", "linux/arm64/v8"))
    run_tool("index", "--output", tmp_path / "multi", *(
        arg for path in built.values() for arg in ("--image", path)
    ))  # fmt: skip
    return tmp_path / "multi"


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def test_docker_tarball_holds_one_platform_tagged(tmp_path: Path, index: Path) -> None:
    out = tmp_path / "hello.tar"
    run_tool(
        "tarball", "--layout", index, "--output", out, "--platform", "linux/arm64",
        "--repo-tag", "hello:latest", "--repo-tag", "hello:1",
    )  # fmt: skip
    files = members(out)
    (entry,) = json.loads(files["manifest.json"])
    assert entry["RepoTags"] == ["hello:latest", "hello:1"]
    config = json.loads(files[entry["Config"]])
    assert (config["architecture"], config["variant"]) == ("arm64", "v8")
    for name, data in files.items():
        if name.startswith("blobs/sha256/"):
            assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[1]
    assert all(layer in files for layer in entry["Layers"])
    # Only the arm64 image's blobs: the amd64 layer is not in it.
    assert b"amd64\n" not in b"".join(files.values())


def test_tarball_is_deterministic(tmp_path: Path, index: Path) -> None:
    first, second = tmp_path / "a.tar", tmp_path / "b.tar"
    for out, umask in ((first, 0o022), (second, 0o077)):
        run_tool(
            "tarball", "--layout", index, "--output", out, "--platform",
            "linux/amd64", "--repo-tag", "x:y", umask=umask,
        )  # fmt: skip
    assert first.read_bytes() == second.read_bytes()
    with tarfile.open(first) as tar:
        assert all(m.mtime == 0 and m.uid == 0 and m.uname == "" for m in tar)


def test_all_platforms_and_oci_format(tmp_path: Path, index: Path) -> None:
    out = tmp_path / "tarballs"
    run_tool(
        "tarball", "--layout", index, "--output", out, "--all-platforms",
        "--format", "oci", "--repo-tag", "hello:latest",
    )  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == [
        "linux-amd64.tar",
        "linux-arm64-v8.tar",
    ]
    files = members(out / "linux-amd64.tar")
    (descriptor,) = json.loads(files["index.json"])["manifests"]
    assert descriptor["annotations"]["org.opencontainers.image.ref.name"] == (
        "hello:latest"
    )
    assert "blobs/" + descriptor["digest"].replace(":", "/") in files
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}


def test_missing_platform_names_what_there_is(tmp_path: Path, index: Path) -> None:
    result = run_tool(
        "tarball", "--layout", index, "--output", tmp_path / "x.tar",
        "--platform", "linux/riscv64", ok=False,
    )  # fmt: skip
    assert "0 images for linux/riscv64; it has: linux/amd64, linux/arm64/v8" in (
        result.stderr
    )
    assert "Choose the platform with --platform" in result.stderr
    assert not (tmp_path / "x.tar").exists()


# load.sh, against stand-in engines.


def engine(bin_dir: Path, name: str, *, version: str = "", status: int = 0) -> None:
    """A stand-in engine: logs its arguments; `version` prints `version` and exits `status`."""
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / name
    script.write_text(
        "#!/bin/sh\n"
        f'echo "{name} $*" >>"$ENGINE_LOG"\n'
        f'if [ "$1" = version ]; then echo "{version}" >&2; exit {status}; fi\n'
        "exit 0\n"
    )
    script.chmod(0o755)


def run_load_sh(tmp_path: Path, bin_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:  # fmt: skip
    archive = tmp_path / "image.tar"
    archive.write_bytes(b"")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "ENGINE_LOG": str(tmp_path / "log")}
    return subprocess.run(
        [str(LOAD_SH), "--tarball", str(archive), "--image-id", "sha256:abc",
         "--platform", "linux/amd64", *args],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "log"
    return log.read_text().splitlines() if log.exists() else []


def test_podman_is_preferred_and_tags_are_applied(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    engine(bin_dir, "podman")
    engine(bin_dir, "docker")
    result = run_load_sh(tmp_path, bin_dir, "hello:latest", "hello:dev")
    assert result.returncode == 0, result.stderr
    assert calls(tmp_path) == [
        "podman version",
        f"podman load -q -i {tmp_path / 'image.tar'}",
        "podman tag sha256:abc hello:latest",
        "podman tag sha256:abc hello:dev",
    ]
    assert (
        "Loaded hello:latest, hello:dev (linux/amd64, ID sha256:abc) into podman."
        in (result.stdout)
    )


def test_engine_can_be_forced(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    engine(bin_dir, "podman")
    engine(bin_dir, "docker")
    result = run_load_sh(tmp_path, bin_dir, "--engine", "docker", "hello:latest")
    assert result.returncode == 0, result.stderr
    assert [c.split()[0] for c in calls(tmp_path)] == ["docker"] * 3


def test_unknown_engine(tmp_path: Path) -> None:
    result = run_load_sh(tmp_path, tmp_path / "bin", "--engine", "nerdctl")
    assert result.returncode == 1
    assert "unknown engine 'nerdctl': use --engine podman or --engine docker" in (
        result.stderr
    )


def test_no_engine_installed(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    result = run_load_sh(tmp_path, tmp_path / "bin", "hello:latest")
    if any(Path(d, e).exists() for d in ("/usr/bin", "/bin") for e in ("podman", "docker")):  # fmt: skip
        pytest.skip("an engine is installed in /usr/bin here")
    assert result.returncode == 1
    assert "neither podman nor docker is installed" in result.stderr
    assert "apt-get install podman" in result.stderr
    assert "--output_groups=tarball" in result.stderr


def test_forced_engine_not_installed(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    engine(bin_dir, "podman")
    result = run_load_sh(tmp_path, bin_dir, "--engine", "docker")
    if Path("/usr/bin/docker").exists():
        pytest.skip("docker is installed in /usr/bin here")
    assert result.returncode == 1
    assert "docker is not installed on this machine" in result.stderr
    assert calls(tmp_path) == []


def test_docker_daemon_not_running(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    engine(bin_dir, "docker", version=DOCKER_DOWN, status=1)
    result = run_load_sh(tmp_path, bin_dir, "--engine", "docker", "hello:latest")
    assert result.returncode == 1
    assert "docker is installed, but its daemon is not running" in result.stderr
    assert DOCKER_DOWN in result.stderr
    assert "sudo systemctl start docker" in result.stderr
    assert calls(tmp_path) == ["docker version"]  # nothing loaded


def test_docker_socket_permission_denied(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    said = (
        "permission denied while trying to connect to the Docker daemon socket at "
        "unix:///var/run/docker.sock"
    )
    engine(bin_dir, "docker", version=said, status=1)
    result = run_load_sh(tmp_path, bin_dir, "--engine", "docker")
    assert result.returncode == 1
    assert "may not open its socket" in result.stderr
    assert "usermod -aG docker" in result.stderr


def test_podman_service_not_running(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    said = "Cannot connect to Podman. Please verify your connection to the Linux system"
    engine(bin_dir, "podman", version=said, status=125)
    result = run_load_sh(tmp_path, bin_dir)
    assert result.returncode == 1
    assert "podman is installed, but the Podman service" in result.stderr
    assert "podman machine start" in result.stderr


# load.py: the run step, inside and outside the build root.


def run_load_py(tmp_path: Path, index: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        [sys.executable, str(PRIVATE / "load.py"), "--layout", str(index),
         "--loader", str(LOAD_SH), "--repo-tag", "hello:latest", *args],
        cwd=tmp_path, env=tool_env(**env),
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_in_the_build_root_the_engine_step_is_handed_to_the_host(
    tmp_path: Path, index: Path
) -> None:
    handoff = tmp_path / "handoff"
    handoff.mkdir()
    result = run_load_py(
        tmp_path, index, "--platform", "linux/arm64", "--repo-tag", "hello:dev",
        env={"TOOLS_BAZEL_HOST_HANDOFF": str(handoff)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    fields = (handoff / "command").read_bytes().split(b"\0")
    assert fields[-1] == b""
    cwd, loader, *rest = [f.decode() for f in fields[:-1]]
    assert (cwd, loader) == (str(tmp_path), str(LOAD_SH))
    archive = Path(rest[rest.index("--tarball") + 1])
    assert archive.parent == handoff and archive.is_file()
    (entry,) = json.loads(members(archive)["manifest.json"])
    assert entry["RepoTags"] == ["hello:latest", "hello:dev"]
    assert rest[rest.index("--image-id") + 1] == entry["Config"].replace("blobs/sha256/", "sha256:")  # fmt: skip
    assert rest[-2:] == ["hello:latest", "hello:dev"]


def test_outside_the_build_root_load_sh_runs_at_once(tmp_path: Path, index: Path) -> None:  # fmt: skip
    bin_dir = tmp_path / "bin"
    engine(bin_dir, "podman")
    result = run_load_py(
        tmp_path, index, env={"PATH": f"{bin_dir}:/usr/bin:/bin", "ENGINE_LOG": str(tmp_path / "log")},  # fmt: skip
    )
    assert result.returncode == 0, result.stderr
    assert [c.split()[1] for c in calls(tmp_path)] == ["version", "load", "tag"]
    assert "into podman" in result.stdout


def test_unknown_engine_is_refused_before_any_work(tmp_path: Path, index: Path) -> None:
    handoff = tmp_path / "handoff"
    handoff.mkdir()
    result = run_load_py(
        tmp_path, index, "--engine", "nerdctl",
        env={"TOOLS_BAZEL_HOST_HANDOFF": str(handoff)},
    )  # fmt: skip
    assert result.returncode == 2
    assert "unknown engine 'nerdctl'" in result.stderr
    assert list(handoff.iterdir()) == []
