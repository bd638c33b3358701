"""Measure what a shared remote cache saves: two clean builds from two clones.

    ./tools/bazel run //tools/remote_cache:measure [-- --target //images:all]

Starts a cache server (nginx, temporary storage), builds the targets from clone A
(at one path, empty output base: every action runs and is uploaded), then from
clone B (at another path, another empty output base), and prints the hit ratio
of clone B's actions, both wall times and the speed-up, and the digests. Expected:
at least 80% remote cache hits and at least 3x faster. Nothing here is asserted
as a timing; it exits non-zero only if a build fails or the digests differ.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from cache_server import CacheServer, CacheServerError
from nested_bazel import NestedBazelError, remove_tree
from two_clones import build_clone, clone_paths, describe, measure_setup, remote_cache

BUILD_TIMEOUT = 1800  # seconds, each


def main(argv: list[str] | None = None) -> int:
    args, targets, source = measure_setup("//tools/remote_cache:measure", __doc__, argv)
    work = Path(tempfile.mkdtemp(prefix="remote-cache-measure-"))
    try:
        with CacheServer() as server:
            print(f"cache: {server.url} (nginx, storage {server.storage})")
            builds = []
            clones = zip(("clone-a", "clone-b"), clone_paths(work), (None, "teammate"))
            for name, checkout, user in clones:
                print(f"{name}: building {' '.join(targets)} in {checkout} ...")
                sys.stdout.flush()
                build = build_clone(
                    source, work, name, checkout, remote_cache(server.url),
                    targets=targets, user=user, timeout=BUILD_TIMEOUT,
                )  # fmt: skip
                builds.append(build)
                print(f"  {build.seconds:.1f} s ({build.execution_seconds:.1f} s "
                      f"executing)  {build.summary.line}")  # fmt: skip
        traffic = server.traffic()
    except (CacheServerError, NestedBazelError) as error:
        print(f"measure: {error}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            remove_tree(work)
    first, second = builds
    executed = second.summary.total - second.summary.by_kind.get("internal", 0)
    ratio = second.summary.cache_hits / executed if executed else 1.0
    speedup = first.seconds / second.seconds
    print()
    print(f"clone B remote cache hits: {second.summary.cache_hits} of {executed} "
          f"non-internal processes = {ratio:.0%} (expected >= 80%)")  # fmt: skip
    execution_speedup = first.execution_seconds / second.execution_seconds
    print(f"speed-up, whole clean build: {first.seconds:.1f} s -> "
          f"{second.seconds:.1f} s = {speedup:.1f}x (expected >= 3x)")  # fmt: skip
    print(f"speed-up, execution phase: {first.execution_seconds:.1f} s -> "
          f"{second.execution_seconds:.1f} s = {execution_speedup:.1f}x")  # fmt: skip
    print(f"  (the rest, {second.seconds - second.execution_seconds:.1f} s in "
          f"clone B, is Bazel's start, repository rules and analysis: no action "
          f"cache covers them)")  # fmt: skip
    print(f"cache traffic: {traffic.uploads} uploads "
          f"({traffic.bytes_stored / 1e6:.1f} MB), {traffic.hits} hits "
          f"({traffic.bytes_served / 1e6:.1f} MB), {traffic.misses} misses, "
          f"{traffic.errors} errors")  # fmt: skip
    local = second.local_spawns
    print(f"clone B actions run locally: {len(local)}")
    if local:
        print(describe(local))
    if first.digests != second.digests:
        print("DIGESTS DIFFER between the clones:", file=sys.stderr)
        for path in sorted(first.digests.keys() | second.digests.keys()):
            if first.digests.get(path) != second.digests.get(path):
                print(f"  {path}: {first.digests.get(path)} "
                      f"!= {second.digests.get(path)}", file=sys.stderr)  # fmt: skip
        return 1
    print(f"digests: {len(first.digests)} identical, e.g.")
    for path, digest in list(first.digests.items())[:3]:
        print(f"  {path} {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
