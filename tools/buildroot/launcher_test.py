"""tools/bazel's set-up errors are clear: unreachable mirror, no tools and not root, a damaged cache.

Each case runs the real launcher with a throwaway cache directory and a PATH
of stand-in commands, so nothing is installed and nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

LAUNCHER = Path(__file__).resolve().parent.parent / "bazel"


def fake_path(tmp_path: Path, *commands: str) -> str:
    """A PATH with the system tools plus stand-ins that must never really run."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for command in commands:
        script = bin_dir / command
        script.write_text(
            f"#!/bin/sh\necho 'stand-in {command} must not run' >&2\nexit 99\n"
        )
        script.chmod(0o755)
    # Only the basics: no bazel, no mmdebstrap, no bwrap unless faked above.
    system = tmp_path / "system"
    system.mkdir(exist_ok=True)
    for tool in ("bash", "cat", "cut", "dirname", "env", "flock", "head", "id", "mkdir", "mv", "readlink",
                 "rm", "sha256sum", "tail", "timeout", "printf", "sed", "grep"):  # fmt: skip
        found = shutil.which(tool)
        if found and not (system / tool).exists():
            (system / tool).symlink_to(found)
    return f"{bin_dir}:{system}"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_launcher(directory: Path) -> Path:
    """The launcher and the files it reads, under `directory`: another user may not
    reach the checkout (a clone in a 0700 directory, or anywhere under /root)."""
    tools = directory / "tools"
    (tools / "buildroot").mkdir(parents=True)
    shutil.copy2(LAUNCHER, tools / "bazel")
    for name in ("packages.txt", "provision.sh"):
        shutil.copy2(LAUNCHER.parent / "buildroot" / name, tools / "buildroot" / name)
    for path in (directory, tools, tools / "buildroot"):
        path.chmod(0o755)
    return tools / "bazel"


def run_launcher(
    tmp_path: Path,
    path: str,
    *,
    user: tuple[int, int] | None = None,
    launcher: Path = LAUNCHER,
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": path,
        "HOME": str(tmp_path),
        "TOOLS_BAZEL_CACHE": str(tmp_path / "cache"),
        "TOOLS_BAZEL_BUILD_ROOT": "1",
        "BUILDROOT_MIRROR": f"http://127.0.0.1:{closed_port()}/debian",
    }
    kwargs = {}
    if user is not None:
        kwargs = {"user": user[0], "group": user[1], "extra_groups": []}
    return subprocess.run(
        [str(launcher), "build", "//..."],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        **kwargs,
    )


def test_unreachable_mirror_is_named(tmp_path: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("the launcher installs host tools only as root")
    result = run_launcher(tmp_path, fake_path(tmp_path, "mmdebstrap", "bwrap"))
    assert result.returncode == 2
    assert "cannot reach the Debian mirror http://127.0.0.1:" in result.stderr
    assert "BUILDROOT_MIRROR" in result.stderr
    assert "stand-in" not in result.stderr
    # Nothing half-made is left to be mistaken for a root.
    assert not list((tmp_path / "cache").glob("roots/*"))


def test_not_root_without_bubblewrap_prints_the_command(tmp_path: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to drop to another user")
    # pytest's own temporary directories are private to root: use one in /tmp.
    shared = Path(tempfile.mkdtemp(prefix="launcher-test-", dir="/tmp"))
    try:
        shared.chmod(0o777)
        launcher = copy_launcher(shared / "checkout")
        result = run_launcher(
            shared, fake_path(shared), user=(65534, 65534), launcher=launcher
        )
    finally:
        shutil.rmtree(shared)
    assert result.returncode == 2
    assert "only root can install them" in result.stderr
    assert "sudo apt-get install -y mmdebstrap bubblewrap" in result.stderr


def test_damaged_cache_is_detected_and_redone(tmp_path: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("the launcher installs host tools only as root")
    here = LAUNCHER.parent / "buildroot"
    key = subprocess.run(
        f"cat '{here}/packages.txt' '{here}/provision.sh' | sha256sum | cut -c1-16",
        shell=True, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    roots = tmp_path / "cache" / "roots"
    (roots / key / "usr" / "bin").mkdir(parents=True)
    (roots / f"{key}.complete").write_text(key + "\n")  # stamped, but no bazel inside
    result = run_launcher(tmp_path, fake_path(tmp_path, "mmdebstrap", "bwrap"))
    assert "fails its check (missing bazel or python3.13)" in result.stderr
    # It then tries to make the root again, which fails here on the mirror, and
    # the damaged root is gone rather than reused.
    assert "cannot reach the Debian mirror" in result.stderr
    assert result.returncode == 2
    assert not (roots / key).exists()
    assert not (roots / f"{key}.complete").exists()
