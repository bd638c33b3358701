"""Reproducibility: one index built from two checkouts at different paths, in two
output bases, with no disk or remote cache, gives the same digest and the same blobs.

The checkout is found through the real path of //:MODULE.bazel (a data dependency)
and copied file by file (`git ls-files`, including new files not yet committed).
Bazel runs as tools/bazel runs it inside the build root (same rc files, minus the
cache rc), with HOME in a temporary directory. Only downloads are shared: Bazel's
repository cache and pip's cache under $TOOLS_BAZEL_CACHE, both checked by hash.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from oci_layout import runfile

TARGET = os.environ.get("TARGET", "//tools/oci/tests:reproducible_index")
BUILD_TIMEOUT = 600  # seconds, each; a cold build with fetching takes about a minute.


def workspace() -> Path:
    return Path("MODULE.bazel").resolve().parent


def bazel_binary() -> tuple[str, bool]:
    """The Bazel to run; True for the build root's, which needs buildroot.bazelrc."""
    if os.environ.get("TOOLS_BAZEL_IN_BUILD_ROOT") == "1":
        return "/usr/bin/bazel", True
    found = shutil.which("bazel")
    if found is None:
        pytest.skip("no bazel on PATH and not inside the build root")
    return found, False


def copy_checkout(source: Path, destination: Path) -> None:
    listed = subprocess.run(
        ["git", "-C", str(source), "ls-files", "-co", "--exclude-standard", "-z"],
        capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        src = source / name
        if not os.path.lexists(src):
            continue  # Deleted but not yet committed.
        dst = destination / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst, follow_symlinks=False)


class NestedBazel:
    """One Bazel server with its own output base, for one checkout."""

    def __init__(
        self, bazel: str, buildroot: bool, checkout: Path, work: Path, name: str
    ) -> None:
        self.checkout = checkout
        rc = work / f"{name}.bazelrc"
        lines = [
            "# No output caches: the second build must really run its actions.",
            "common --disk_cache=",
            "common --remote_cache=",
        ]
        cache = os.environ.get("TOOLS_BAZEL_CACHE")
        if cache:
            lines.append(f"common --repository_cache={cache}/repository_cache")
        rc.write_text("\n".join(lines) + "\n")
        self.startup = [
            bazel,
            f"--output_base={work / name / 'output_base'}",
            "--max_idle_secs=300",
        ]
        if buildroot:
            self.startup.append(
                f"--bazelrc={checkout}/tools/buildroot/buildroot.bazelrc"
            )
        self.startup.append(f"--bazelrc={rc}")
        home = work / "home"
        home.mkdir(exist_ok=True)
        self.env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(home),
            "USER": os.environ.get("USER", "root"),
            "LANG": "C.UTF-8",
        }
        if cache:
            # pip's cache under the launcher's HOME: @pypi installs the lock with pip.
            self.env["PIP_CACHE_DIR"] = f"{cache}/home/.cache/pip"
        if buildroot:
            self.env["TOOLS_BAZEL_IN_BUILD_ROOT"] = "1"
            if cache:
                self.env["TOOLS_BAZEL_CACHE"] = cache

    def run(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.startup, *args], cwd=self.checkout, env=self.env,
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def build(self, target: str) -> Path:
        result = self.run(
            "build", "--output_groups=+digest", target, timeout=BUILD_TIMEOUT
        )
        assert result.returncode == 0, (
            f"bazel build {target} in {self.checkout} failed:\n{result.stderr[-5000:]}"
        )
        # "INFO: 44 processes: 25 internal, 19 linux-sandbox.": no cache hits.
        summary = re.search(
            r"^INFO: \d+ process(?:es)?: (.*)$", result.stderr, re.MULTILINE
        )
        assert summary, result.stderr[-2000:]
        print(f"{self.checkout}: {summary.group(0)}")
        assert "cache hit" not in summary.group(1), summary.group(0)
        assert re.search(
            r"[1-9]\d* (linux-sandbox|processwrapper-sandbox|local)", summary.group(1)
        ), summary.group(0)
        return (self.checkout / "bazel-bin").resolve()

    def shutdown(self) -> None:
        self.run("shutdown", timeout=120)


def files_by_hash(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def remove_tree(path: Path) -> None:
    """Bazel's output bases hold read-only directories."""

    def make_writable(function, name, _exc):
        os.chmod(os.path.dirname(name), stat.S_IRWXU)
        if os.path.isdir(name) and not os.path.islink(name):
            os.chmod(name, stat.S_IRWXU)
        function(name)

    shutil.rmtree(path, onexc=make_writable)


@pytest.fixture
def work() -> Iterator[Path]:
    path = Path(os.environ.get("TEST_TMPDIR", "/tmp")) / "reproducible"
    if path.exists():
        remove_tree(path)
    path.mkdir(parents=True)
    yield path
    remove_tree(path)


@pytest.fixture(autouse=True)
def terminate_cleanly() -> Iterator[None]:
    """On a test timeout (SIGTERM), leave through the finally that stops servers."""
    previous = signal.signal(
        signal.SIGTERM, lambda *_: sys.exit("SIGTERM: test timed out")
    )
    yield
    signal.signal(signal.SIGTERM, previous)


def test_two_checkouts_two_output_bases_same_blobs(work: Path) -> None:
    bazel, buildroot = bazel_binary()
    source = workspace()
    package, _, name = TARGET.removeprefix("//").partition(":")
    outputs = []
    # Different lengths and depths, so no path can hide in an equal-length field.
    for index, checkout in enumerate(
        [work / "a" / "checkout", work / "bb" / "deeper" / "other-checkout"]
    ):
        copy_checkout(source, checkout)
        nested = NestedBazel(bazel, buildroot, checkout, work, f"ob{index + 1}")
        try:
            bin_dir = nested.build(TARGET)
        finally:
            nested.shutdown()
        outputs.append(
            {
                "digest": (bin_dir / package / f"{name}.digest").read_text(),
                "files": files_by_hash(bin_dir / package / name),
            }
        )
    first, second = outputs
    assert first["digest"].startswith("sha256:")
    assert first["digest"] == second["digest"]
    differing = sorted(
        path
        for path in first["files"].keys() | second["files"].keys()
        if first["files"].get(path) != second["files"].get(path)
    )
    assert not differing, (
        f"files of {TARGET} that differ between the two builds: {differing}"
    )
    # The build that ran this test (a third checkout path and output base,
    # perhaps from a cache) made the same bytes.
    assert files_by_hash(runfile("OUTER_LAYOUT")) == first["files"]
    assert "index.json" in first["files"] and len(first["files"]) > 5
