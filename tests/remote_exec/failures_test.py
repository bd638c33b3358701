"""--config=remote-exec when something is wrong.

- No endpoint: the build stops at once, naming the config to define.
- The service is down: the build fails within seconds, and the error names the
  address it tried; with --config=remote-exec-fallback it runs here instead
  and makes the same image.
- A worker is killed while it runs an action: BuildGrid gives the action to
  the other worker, and the build completes with the same image.

Each build is a clean one (`bazel clean` before it, no disk cache), of a small
image whose one slow action gives the test time to kill the worker running it.
One Bazel server makes them all: its start, fetching and analysis are paid once.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from build_root_key import build_root_key, properties
from checkout import workspace_dir
from grid import Grid
from nested_bazel import NestedBazel, copy_checkout
from nested_bazel_testing import scratch_dir, terminate_cleanly  # noqa: F401
from processes import free_port, parent_pid
from two_clones import DIGEST_FLAGS

TARGET = os.environ.get("TARGET", "//tests/remote_exec:payload_image")
# The slow action's command line names its output.
SLOW_OUTPUT = "tests/remote_exec/payload.txt"
BUILD_TIMEOUT = 600  # seconds, each
FAIL_FAST = 60  # seconds: "within seconds", with room for Bazel's start


def expected_digest() -> str:
    """The outer (local) build's digest of the same image."""
    return Path(os.environ["PAYLOAD_DIGEST"]).read_text().strip()


@pytest.fixture(scope="module")
def bazel() -> Iterator[NestedBazel]:
    with scratch_dir("remote-exec-failures") as work:
        copy_checkout(workspace_dir(), work / "checkout")
        with NestedBazel(work / "checkout", work, "nested") as nested:
            yield nested


def clean_with_endpoint(bazel: NestedBazel, url: str | None) -> NestedBazel:
    """The endpoint as a user names it (None: none), and nothing built yet."""
    bazel.set_rc_lines(
        [f"common:remote-exec-endpoint --remote_executor={url}"] if url else []
    )
    bazel.clean()
    return bazel


def built_digest(bin_dir: Path) -> str:
    package, _, target = TARGET.removeprefix("//").partition(":")
    return (bin_dir / package / f"{target}.digest").read_text().strip()


def test_no_endpoint_stops_at_once_naming_it(bazel: NestedBazel) -> None:
    clean_with_endpoint(bazel, None)
    result = bazel.run("build", "--config=remote-exec", TARGET, timeout=BUILD_TIMEOUT)
    assert result.returncode == 2, result.stderr[-3000:]
    assert (
        "Config value 'remote-exec-endpoint' is not defined in any .rc file"
        in result.stderr
    ), result.stderr[-3000:]
    assert "INFO: Build completed" not in result.stderr


def test_service_down_fails_within_seconds_naming_the_endpoint(
    bazel: NestedBazel,
) -> None:
    port = free_port()  # Nothing listens there.
    clean_with_endpoint(bazel, f"grpc://127.0.0.1:{port}")
    # Bazel's start and analysis are not the service's doing: time the build.
    prepare = bazel.run("build", "--nobuild", "--config=remote-exec", TARGET,
                        timeout=BUILD_TIMEOUT)  # fmt: skip
    assert prepare.returncode == 0, prepare.stderr[-3000:]
    started = time.monotonic()
    result = bazel.run("build", "--config=remote-exec", TARGET, timeout=BUILD_TIMEOUT)
    seconds = time.monotonic() - started
    print(f"failed after {seconds:.1f} s")
    assert result.returncode != 0, result.stderr[-3000:]
    assert seconds < FAIL_FAST, seconds
    assert "Failed to query remote execution capabilities" in result.stderr
    assert f"127.0.0.1:{port}" in result.stderr, result.stderr[-3000:]
    assert "Build did NOT complete successfully" in result.stderr


def test_service_down_with_fallback_builds_here(bazel: NestedBazel) -> None:
    port = free_port()
    clean_with_endpoint(bazel, f"grpc://127.0.0.1:{port}")
    result = bazel.build([TARGET], flags=["--config=remote-exec-fallback"],
                         timeout=BUILD_TIMEOUT)  # fmt: skip
    print(result.summary.line)
    assert "Failed to query remote execution capabilities" in result.stderr
    assert result.summary.by_kind.get("remote", 0) == 0, result.summary.line
    assert result.summary.local >= 3, result.summary.line
    assert built_digest(result.bin_dir) == expected_digest()


def kill_the_worker_running(grid: Grid, marker: str, deadline: float) -> str | None:
    """Wait for an action whose command line holds `marker`; SIGKILL its worker.

    Returns the killed worker's name, or None if no such action started in time.
    """
    bots = {worker.bot.pid: index for index, worker in enumerate(grid.workers)}
    while time.monotonic() < deadline:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() not in cmdline or b"sleep" not in cmdline:
                continue
            index = worker_ancestor(int(pid), bots)
            if index is not None:
                grid.kill_worker(index)
                return grid.workers[index].name
        time.sleep(0.1)
    return None


def worker_ancestor(pid: int, bots: dict[int, int]) -> int | None:
    """The index of the worker whose process `pid` descends from, if any."""
    while pid > 1:
        if pid in bots:
            return bots[pid]
        pid = parent_pid(pid) or 0
    return None


def test_worker_killed_mid_action_build_completes(bazel: NestedBazel) -> None:
    platform = properties(build_root_key(workspace_dir()))
    with Grid(properties=platform, workers=2, keepalive_seconds=5) as grid:
        killed: list[str | None] = []
        killer = threading.Thread(
            target=lambda: killed.append(
                kill_the_worker_running(grid, SLOW_OUTPUT, time.monotonic() + 300)
            )
        )
        killer.start()
        try:
            clean_with_endpoint(bazel, grid.url)
            # Only top-level outputs come down: the .digest is not one.
            result = bazel.build([TARGET], flags=["--config=remote-exec", *DIGEST_FLAGS],
                                 timeout=BUILD_TIMEOUT)  # fmt: skip
        finally:
            killer.join()
        alive = [worker.name for worker in grid.workers if worker.running]
    print(f"killed {killed}, alive {alive}: {result.summary.line}")
    assert killed and killed[0] is not None, "the slow action never started"
    assert killed[0] not in alive and len(alive) == 1, (killed, alive)
    # Everything still ran remotely, on the worker left, and made the same image.
    assert result.summary.local == 0, result.summary.line
    assert result.summary.by_kind.get("remote", 0) >= 3, result.summary.line
    assert built_digest(result.bin_dir) == expected_digest()
