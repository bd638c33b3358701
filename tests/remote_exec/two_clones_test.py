"""The build runs remotely: a clone at another path, in an empty output base,
builds //images:all with --config=remote-exec against BuildGrid and two buildbox
workers; every action runs on a worker (none here), and every image is byte
for byte the one the local build made (this test's data, built by the outer
Bazel).

An action that ran here instead says it cannot run remotely (a tag, or a
platform no worker has); an image that differs says an action read something
from the machine it ran on that it did not declare as an input.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from build_root_key import build_root_key, properties
from checkout import workspace_dir
from grid import Grid
from nested_bazel import files_by_hash
from nested_bazel_testing import scratch_dir, terminate_cleanly  # noqa: F401
from runfiles import runfile
from two_clones import build_clone, clone_paths, describe, remote_exec

BUILD_TIMEOUT = 1500  # seconds; everything is built from clean.


@pytest.fixture
def work() -> Iterator[Path]:
    with scratch_dir("remote-exec-clone") as path:
        yield path


def local_layouts() -> dict[str, Path]:
    """The outer build's image layouts in //images:all, by name."""
    images = runfile("images")
    return {
        layout.parent.name: layout.parent
        for layout in sorted(images.glob("*/index.json"))
    }


def index_digest(layout: Path) -> str:
    """The digest of the index a layout's index.json names first ("latest")."""
    return str(
        json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]
    )


def test_clean_clone_builds_every_action_remotely(work: Path) -> None:
    source = workspace_dir()
    _, checkout = clone_paths(work)
    platform = properties(build_root_key(source))
    with Grid(properties=platform, workers=2) as grid:
        build = build_clone(
            source, work, "clone", checkout, remote_exec(grid.url),
            timeout=BUILD_TIMEOUT,
        )  # fmt: skip
    remote = build.summary.by_kind.get("remote", 0)
    print(f"workers' platform: {platform}")
    print(f"clone: {build.seconds:.0f} s ({build.execution_seconds:.0f} s executing)")
    print(f"  {build.summary.line}")
    print(f"  remote: {remote}, local: {build.summary.local}")

    # Every action ran on a worker: none here, none from a cache.
    assert build.spawns, "the clone's execution log is empty"
    local = build.local_spawns
    assert (
        not local
    ), f"{len(local)} actions ran here instead of on a worker:\n{describe(local)}"
    assert build.summary.local == 0, build.summary.line
    assert build.summary.cache_hits == 0, build.summary.line
    assert remote > 0 and remote == len(build.spawns), (
        build.summary.line,
        len(build.spawns),
    )

    # The same images as the local build, every blob of every layout.
    layouts = local_layouts()
    assert {"hello", "hello_debug", "hello_slim"} <= layouts.keys(), sorted(layouts)
    for name, local_layout in layouts.items():
        remote_layout = build.bin_dir / "images" / name
        print(
            f"  {name}: {index_digest(remote_layout)} (local {index_digest(local_layout)})"
        )
        assert files_by_hash(remote_layout) == files_by_hash(local_layout), name
