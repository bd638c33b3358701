"""Measure remote execution: clean builds run here, on 1 and 2 workers, and from its cache.

    ./tools/bazel run //tools/remote_exec:measure [-- --target //images:all]

Four clean builds of the targets, each from its own copy of the checkout in an
empty output base with the launcher's disk cache off:
  local      no remote service: every action runs here (linux-sandbox);
  1 worker   --config=remote-exec against BuildGrid with one buildbox worker;
  2 workers  the same with two workers, on a fresh grid (empty CAS and cache);
  cached     another clean build against the 2-worker grid: its action cache
             already holds every result.
Prints each build's wall time (whole, and the execution phase alone), its
process summary and the speed-ups, then the digests. The workers run on this
machine, so they share its cores with Bazel and BuildGrid: on 2 cores, remote
execution gets no more compute than a local build; what it shows is the cost
of the protocol and what the action cache saves. Nothing is asserted as a timing; it
exits non-zero only if a build fails or the builds' digests differ.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from build_root_key import build_root_key, properties
from grid import Grid, GridError
from nested_bazel import NestedBazelError, remove_tree
from two_clones import CloneBuild, build_clone, measure_setup, remote_exec

BUILD_TIMEOUT = 2400  # seconds, each


def report(name: str, build: CloneBuild) -> None:
    print(f"  {name}: {build.seconds:.1f} s ({build.execution_seconds:.1f} s "
          f"executing)  {build.summary.line}", flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args, targets, source = measure_setup("//tools/remote_exec:measure", __doc__, argv)
    platform = properties(build_root_key(source))
    work = Path(tempfile.mkdtemp(prefix="remote-exec-measure-"))
    builds: dict[str, CloneBuild] = {}

    def build(name: str, url: str | None) -> None:
        print(f"{name}: building {' '.join(targets)} ...", flush=True)
        remote = remote_exec(url) if url else None
        builds[name] = build_clone(
            source, work, name.replace(" ", "-"), work / name.replace(" ", "-") / "checkout",
            remote, targets=targets, timeout=BUILD_TIMEOUT,
        )  # fmt: skip
        report(name, builds[name])

    try:
        build("local", None)
        with Grid(properties=platform, workers=1) as grid:
            build("1 worker", grid.url)
        with Grid(properties=platform, workers=2) as grid:
            build("2 workers", grid.url)
            build("cached", grid.url)
    except (GridError, NestedBazelError) as error:
        print(f"measure: {error}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            remove_tree(work)

    local = builds["local"]
    print()
    print(f"{'build':<10} {'whole':>8} {'executing':>10} {'vs local':>9}  processes")
    for name, each in builds.items():
        ratio = local.execution_seconds / each.execution_seconds
        print(f"{name:<10} {each.seconds:>7.1f}s {each.execution_seconds:>9.1f}s "
              f"{ratio:>8.2f}x  {each.summary.line.removeprefix('INFO: ')}")  # fmt: skip
    cached = builds["cached"]
    executed = cached.summary.total - cached.summary.by_kind.get("internal", 0)
    print(f"cached build: {cached.summary.cache_hits} of {executed} non-internal "
          f"processes from the remote action cache")  # fmt: skip
    print(
        "(the execution phase is after loading, repository rules and analysis; "
        "the workers share this machine's cores with everything else)"
    )
    differ = [name for name, each in builds.items() if each.digests != local.digests]
    if differ:
        print(f"DIGESTS DIFFER from the local build's: {', '.join(differ)}",
              file=sys.stderr)  # fmt: skip
        for name in differ:
            for path in sorted(local.digests.keys() | builds[name].digests.keys()):
                if local.digests.get(path) != builds[name].digests.get(path):
                    print(f"  {name} {path}: {builds[name].digests.get(path)} != "
                          f"{local.digests.get(path)}", file=sys.stderr)  # fmt: skip
        return 1
    print(f"digests: {len(local.digests)} identical in all four builds, e.g.")
    for path, digest in list(local.digests.items())[:3]:
        print(f"  {path} {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
