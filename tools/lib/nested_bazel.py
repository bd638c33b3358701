"""Run Bazel on a copy of this checkout, in an output base of its own.

Used wherever the project must prove something about a clean build: the
reproducibility test, the release tool (a second build from another path), the
remote-cache test (two clones, two empty output bases) and the benchmarks (clean,
no-op and incremental build times).

Bazel runs the way tools/bazel runs it inside the build root: the same rc files,
minus the launcher's cache rc, with HOME in the work directory. Only downloads are
shared with the user's builds: Bazel's repository cache and pip's cache under
$TOOLS_BAZEL_CACHE, both checked by hash, so sharing them cannot change an output.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from checkout import checkout_files

# "INFO: 44 processes: 25 internal, 19 linux-sandbox." or
# "INFO: 9 processes: 3 remote cache hit, 6 internal."
_SUMMARY = re.compile(r"^INFO: (\d+) process(?:es)?(?:: (.*?))?\.?$", re.MULTILINE)
# Strategies that mean "this action really ran on this machine".
LOCAL_STRATEGIES = ("linux-sandbox", "processwrapper-sandbox", "local", "worker")


class NestedBazelError(RuntimeError):
    """A nested Bazel command failed; the message carries the tail of its stderr."""


def bazel_binary() -> tuple[str, bool]:
    """The Bazel to run, and True if it is the build root's (needs buildroot.bazelrc)."""
    if os.environ.get("TOOLS_BAZEL_IN_BUILD_ROOT") == "1":
        return "/usr/bin/bazel", True
    found = shutil.which("bazel")
    if found is None:
        raise NestedBazelError(
            "no bazel on PATH and not inside the build root; run this through "
            "./tools/bazel (bazel run / bazel test), which provides both"
        )
    return found, False


def copy_checkout(source: Path, destination: Path) -> None:
    """Copy the files git knows of (tracked, and new ones not ignored).

    Uncommitted edits come along, so what is checked is what the user has.
    """
    for name in checkout_files(source):
        dst = destination / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, dst, follow_symlinks=False)


def files_by_hash(root: Path) -> dict[str, str]:
    """sha256 of every regular file under root, by path relative to root."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def remove_tree(path: Path) -> None:
    """Remove a tree that may hold Bazel's read-only directories."""

    def make_writable(function, name, _exc):  # type: ignore[no-untyped-def]
        os.chmod(os.path.dirname(name), stat.S_IRWXU)
        if os.path.isdir(name) and not os.path.islink(name):
            os.chmod(name, stat.S_IRWXU)
        function(name)

    if os.path.lexists(path):
        shutil.rmtree(path, onexc=make_writable)


@dataclass(frozen=True)
class ProcessSummary:
    """Bazel's "INFO: N processes: ..." line, split by strategy."""

    line: str
    total: int
    by_kind: dict[str, int]

    @property
    def local(self) -> int:
        """Actions that ran on this machine (not internal, not cache hits)."""
        return sum(self.by_kind.get(kind, 0) for kind in LOCAL_STRATEGIES)

    @property
    def cache_hits(self) -> int:
        return sum(n for kind, n in self.by_kind.items() if "cache hit" in kind)


def process_summary(stderr: str) -> ProcessSummary:
    """Parse the last process summary of a Bazel command's stderr."""
    found = list(_SUMMARY.finditer(stderr))
    if not found:
        raise NestedBazelError(
            "no 'INFO: N processes' line in Bazel's output:\n" + stderr[-2000:]
        )
    match = found[-1]
    by_kind: dict[str, int] = {}
    for part in filter(None, (match.group(2) or "").split(", ")):
        count, _, kind = part.partition(" ")
        by_kind[kind] = by_kind.get(kind, 0) + int(count)
    return ProcessSummary(match.group(0), int(match.group(1)), by_kind)


@dataclass(frozen=True)
class BuildResult:
    bin_dir: Path
    stderr: str
    summary: ProcessSummary


class NestedBazel:
    """One Bazel server with its own output base, for one checkout.

    `rc_lines` go into an rc file read after the project's own; by default the
    output caches are off, so a build really runs its actions.
    """

    def __init__(
        self,
        checkout: Path,
        work: Path,
        name: str,
        *,
        rc_lines: Sequence[str] = (),
        output_caches: bool = False,
        max_idle_secs: int = 300,
    ) -> None:
        bazel, buildroot = bazel_binary()
        self.checkout = checkout
        work.mkdir(parents=True, exist_ok=True)
        self.output_base = work / name / "output_base"
        lines: list[str] = []
        if not output_caches:
            lines += ["common --disk_cache=", "common --remote_cache="]
        cache = os.environ.get("TOOLS_BAZEL_CACHE")
        if cache:
            lines.append(f"common --repository_cache={cache}/repository_cache")
        self._base_rc_lines = lines
        rc = work / f"{name}.bazelrc"
        self._rc = rc
        self.set_rc_lines(rc_lines)
        self.startup = [
            bazel,
            f"--output_base={self.output_base}",
            f"--max_idle_secs={max_idle_secs}",
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

    def __enter__(self) -> NestedBazel:
        return self

    def set_rc_lines(self, rc_lines: Sequence[str]) -> None:
        """Replace the rc lines given to the constructor (the client reads the
        file on every command, so the same server serves the next build)."""
        lines = [*self._base_rc_lines, *rc_lines]
        self._rc.write_text("\n".join(lines) + "\n")

    def clean(self, *, timeout: float = 300) -> None:
        """`bazel clean`: no output and no action cache left, so the next build
        runs every action again (or takes it from a remote), while the server,
        its fetched repositories and its analysis stay."""
        result = self.run("clean", timeout=timeout)
        if result.returncode != 0:
            raise NestedBazelError(
                f"bazel clean in {self.checkout} failed (exit {result.returncode}):"
                f"\n{result.stderr[-5000:]}"
            )

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.shutdown()

    def run(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.startup, *args], cwd=self.checkout, env=self.env,
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def build(
        self, targets: Iterable[str], *, flags: Sequence[str] = (), timeout: float
    ) -> BuildResult:
        """`bazel build flags targets`; raises NestedBazelError if it fails."""
        targets = list(targets)
        result = self.run("build", *flags, *targets, timeout=timeout)
        if result.returncode != 0:
            raise NestedBazelError(
                f"bazel build {' '.join(targets)} in {self.checkout} failed "
                f"(exit {result.returncode}):\n{result.stderr[-5000:]}"
            )
        return BuildResult(
            bin_dir=(self.checkout / "bazel-bin").resolve(),
            stderr=result.stderr,
            summary=process_summary(result.stderr),
        )

    def shutdown(self) -> None:
        self.run("shutdown", timeout=120)
