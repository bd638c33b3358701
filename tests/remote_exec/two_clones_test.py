"""The build runs remotely: a clone at another path, in an empty output base,
builds //images:all with --config=remote-exec against BuildGrid and two buildbox
workers; every action runs on a worker (none here), and every image is byte
for byte the one a local build makes: every index, manifest, config and layer
digest is the one pinned in images/digests.lock.json, which //images:digests_test
holds the local build to (a difference names the image, platform, layer and
file, as digests_test does). Comparing with the lock rather than with the outer
build's images lets this test start at once in `bazel test //...`, beside the
outer build, instead of after every image is built.

An action that ran here instead says it cannot run remotely (a tag, or a
platform no worker has); an image that differs says an action read something
from the machine it ran on that it did not declare as an input.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import digests
import image_list
from build_root_key import build_root_key, properties
from checkout import workspace_dir
from grid import Grid
from nested_bazel_testing import scratch_dir, terminate_cleanly  # noqa: F401
from runfiles import runfile
from two_clones import build_clone, clone_paths, describe, remote_exec

BUILD_TIMEOUT = 1500  # seconds; everything is built from clean.


@pytest.fixture
def work() -> Iterator[Path]:
    with scratch_dir("remote-exec-clone") as path:
        yield path


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

    # The same images as a local build: every digest the lock pins.
    lock = digests.read_lock(runfile(os.environ["DIGESTS_LOCK"]))
    names = image_list.read(runfile(os.environ["IMAGES_LIST"]))
    assert {"hello", "hello_debug", "hello_slim"} <= set(names), names
    layouts = {name: build.bin_dir / "images" / name for name in names}
    for name, layout in layouts.items():
        print(f"  {name}: {index_digest(layout)}")
    problems = digests.check(lock, layouts)
    assert not problems, (
        "the remote build differs from the lock:\n"
        + "\n".join(problems)
        + "\n(if //images:digests_test fails too, the local build differs from"
        + f" the lock as well: {digests.HOW_TO_UPDATE})"
    )
