"""A teammate's clean build is the cache's: clone A builds //images:all into an
empty cache; clone B, at another path, in another empty output base, as another
$USER, runs none of those actions itself and produces the same digests.

Both clones' index digests are the ones images/digests.lock.json pins (the
lock is the test's data: it changes with every image, and needs no build, so
the test starts at once in `bazel test //...`).

Clone B running an action locally means that action's key differs between the
two paths: an absolute path, a host name, a time or a user name reached its
command line, environment or inputs. The failure lists those actions.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import digests
import pytest
from cache_server import CacheServer
from checkout import workspace_dir
from nested_bazel_testing import scratch_dir, terminate_cleanly  # noqa: F401
from runfiles import runfile
from two_clones import build_clone, clone_paths, describe, remote_cache

BUILD_TIMEOUT = 1500  # seconds, each; clone A builds everything from clean.


@pytest.fixture
def work() -> Iterator[Path]:
    with scratch_dir("two-clones") as path:
        yield path


def test_second_clone_takes_every_action_from_the_cache(work: Path) -> None:
    source = workspace_dir()
    path_a, path_b = clone_paths(work)
    with CacheServer() as server:
        first = build_clone(
            source,
            work,
            "clone-a",
            path_a,
            remote_cache(server.url),
            timeout=BUILD_TIMEOUT,
        )
        uploaded = server.traffic()
        second = build_clone(
            source, work, "clone-b", path_b, remote_cache(server.url),
            user="teammate", timeout=BUILD_TIMEOUT,
        )  # fmt: skip
    print(f"clone A: {first.seconds:.0f} s, {first.summary.line}")
    print(f"clone B: {second.seconds:.0f} s, {second.summary.line}")
    print(f"cache: {server.traffic()}")

    # Clone A really built, and filled the cache.
    assert first.summary.cache_hits == 0, first.summary.line
    assert first.summary.local > 0, first.summary.line
    assert uploaded.uploads > 0 and uploaded.errors == 0, uploaded
    # Clone B ran nothing itself: every action came from the cache.
    assert second.spawns, "clone B's execution log is empty"
    local = second.local_spawns
    assert not local, (
        f"clone B ran {len(local)} actions itself (their keys differ between "
        f"{path_a} and {path_b}):\n{describe(local)}"
    )
    assert second.summary.local == 0, second.summary.line
    assert second.summary.cache_hits == first.summary.local, (
        first.summary.line,
        second.summary.line,
    )
    # The same images: every index's and image's digest.
    indexes = {f"images/{name}.digest" for name in ("hello", "hello_debug")}
    assert indexes <= first.digests.keys(), sorted(first.digests)
    assert all(digest.startswith("sha256:") for digest in first.digests.values())
    assert second.digests == first.digests
    # And the images the lock pins, those of any other clean build.
    lock = digests.read_lock(runfile(os.environ["DIGESTS_LOCK"]))
    built = {
        name: first.digests.get(f"images/{name}.digest") for name in lock["images"]
    }
    pinned = {name: entry["index"] for name, entry in lock["images"].items()}
    assert built == pinned, f"the clones differ from the lock: {digests.HOW_TO_UPDATE}"
