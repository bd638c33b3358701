"""Build times: clean, no-op and incremental after a one-line change to the service.

Everything runs in a nested Bazel (tools/lib/nested_bazel.py) on a copy of the
checkout, in an output base of its own, so the user's checkout, output base and
server are untouched. Bazel's repository cache and pip's cache are shared with
the user's builds (downloads only, checked by hash); the output caches are off,
so a clean build really runs every action. In --quick mode the clean build is
skipped: the copy is first built from the launcher's disk cache (not timed).
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nested_bazel import NestedBazel, NestedBazelError, copy_checkout, remove_tree
from sizes import layer_digests
from stats import summary

# What is built and timed; the layouts whose layers are compared.
TARGETS = ("//images:hello", "//images:hello_debug", "//images:hello_slim")
# The file the one-line change goes to (a new line at its end).
CHANGED_FILE = "services/hello/src/hello/app.py"
BUILD_TIMEOUT = 3600.0


@dataclass(frozen=True)
class Options:
    clean: bool  # time a clean build (else warm the output base from the disk cache)
    noop_runs: int
    incremental_runs: int


def _layouts(bin_dir: Path) -> dict[str, Path]:
    return {
        t.rpartition(":")[2]: bin_dir / "images" / t.rpartition(":")[2] for t in TARGETS
    }


def _digests(bin_dir: Path) -> dict[str, dict[str, list[str]]]:
    return {name: layer_digests(path) for name, path in _layouts(bin_dir).items()}


def _changed_layers(
    before: dict[str, dict[str, list[str]]], after: dict[str, dict[str, list[str]]]
) -> dict[str, dict[str, dict[str, int]]]:
    """Per image and platform: how many layers changed, of how many."""
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for image, platforms in after.items():
        counts[image] = {}
        for platform, digests in platforms.items():
            old = before[image][platform]
            changed = sum(
                1 for i, d in enumerate(digests) if i >= len(old) or old[i] != d
            )
            counts[image][platform] = {"changed": changed, "layers": len(digests)}
    return counts


def _timed_build(nested: NestedBazel) -> tuple[float, Any]:
    started = time.monotonic()
    result = nested.build(TARGETS, timeout=BUILD_TIMEOUT)
    return time.monotonic() - started, result


def measure(workspace: Path, work: Path, options: Options, log: Any) -> dict[str, Any]:
    checkout = work / "checkout"
    copy_checkout(workspace, checkout)
    cache = os.environ.get("TOOLS_BAZEL_CACHE")
    rc_lines: list[str] = []
    if not options.clean:
        if not cache:
            raise NestedBazelError(
                "--quick warms the nested build from the launcher's disk cache:"
                " run through ./tools/bazel (TOOLS_BAZEL_CACHE is not set)"
            )
        rc_lines.append(f"common --disk_cache={cache}/disk_cache")
    result: dict[str, Any] = {
        "targets": list(TARGETS),
        "method": (
            "nested Bazel on a copy of the checkout, own output base, fresh server;"
            " repository cache and pip cache shared (downloads only)"
            + (
                "; no disk or remote cache"
                if options.clean
                else "; --quick: no clean build, the output base was first filled"
                " from the local disk cache (not timed)"
            )
        ),
    }
    try:
        with NestedBazel(
            checkout, work, "bench", rc_lines=rc_lines, output_caches=not options.clean
        ) as nested:
            kind = "clean" if options.clean else "warm-up"
            log(f"build: {kind} build of {' '.join(TARGETS)}")
            seconds, built = _timed_build(nested)
            entry = {"seconds": seconds, "processes": built.summary.line}
            if options.clean:
                result["clean"] = entry
            else:
                result["warmup"] = entry
            log(f"build:   {seconds:.1f} s ({built.summary.line})")
            noop = []
            for _ in range(options.noop_runs):
                seconds, _built = _timed_build(nested)
                noop.append(seconds)
            result["noop"] = summary(noop)
            log(f"build: no-op {result['noop']['median']:.2f} s")
            incremental = []
            changed_layers: list[Any] = []
            processes = []
            for _ in range(options.incremental_runs):
                before = _digests(built.bin_dir)
                with open(checkout / CHANGED_FILE, "a", encoding="utf-8") as f:
                    # Unique, so that no cache can already hold the result.
                    f.write(f'BENCH_CHANGE = "{secrets.token_hex(8)}"\n')
                seconds, built = _timed_build(nested)
                incremental.append(seconds)
                processes.append(built.summary.line)
                changed_layers.append(_changed_layers(before, _digests(built.bin_dir)))
            result["incremental"] = summary(incremental)
            result["incremental"]["change"] = f"one line appended to {CHANGED_FILE}"
            result["incremental"]["processes"] = processes
            result["incremental"]["changed_layers"] = changed_layers[-1]
            log(f"build: incremental {result['incremental']['median']:.2f} s")
    finally:
        remove_tree(work / "bench")
        remove_tree(checkout)
    return result
