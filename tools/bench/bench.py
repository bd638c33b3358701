"""Benchmarks of the images: size, build time, cold start, load, memory.

    ./tools/bazel run //tools/bench -- [--quick] [--out DIR]

Writes DIR/results.json, DIR/report.md and the PNG plots it references
(default DIR: docs/performance in the workspace). Needs root (runc, umoci,
binfmt_misc for arm64), wrk and nsenter: the build root has them. Every
server and container listens on 127.0.0.1 or in a network namespace made
for it, and is stopped on exit, on Ctrl-C, on SIGTERM and on errors.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import build_times
import coldstart
import compression
import compression_formats
import floor
import imports
import load
import report
import sizes
import slim_contents
from image_platforms import ARCHITECTURES
from nested_bazel import NestedBazelError, remove_tree
from stats import machine

SCHEMA = "bazel-python-containers/bench/v1"
# Layouts in this tool's runfiles (the working directory of `bazel run`).
IMAGES = {
    "hello": "images/hello",
    "hello_debug": "images/hello_debug",
    "hello_slim": "images/hello_slim",
    # hello without any precompiled .pyc (tools/bench/BUILD.bazel).
    "hello_nopyc": "tools/bench/hello_nopyc",
    # hello with checked-hash standard-library .pyc files (the same BUILD).
    "hello_checked": "tools/bench/hello_checked",
    # busybox httpd: the cold-start floor (floor.py); Python answering
    # with nothing imported (floor_server.py).
    "floor": "tools/bench/floor",
    "floor_python": "tools/bench/floor_python",
    # hello and hello_slim with tar+zstd layers, linux/amd64 (same file).
    "hello_zstd": "tools/bench/hello_zstd",
    "hello_slim_zstd": "tools/bench/hello_slim_zstd",
    "shelf_zstd": "tools/bench/shelf_zstd",
    "shelf_slim_zstd": "tools/bench/shelf_slim_zstd",
    "notes_zstd": "tools/bench/notes_zstd",
    "notes_slim_zstd": "tools/bench/notes_slim_zstd",
    # The second service: compiled dependencies (pydantic-core, orjson).
    "items": "images/items",
    "items_debug": "images/items_debug",
    "items_slim": "images/items_slim",
    # A Flask app, as a team brings it, inside the library (services/shelf).
    "shelf": "images/shelf",
    "shelf_slim": "images/shelf_slim",
    # A Django project, with its database on a volume (services/notes).
    "notes": "images/notes",
    "notes_slim": "images/notes_slim",
}
# Measured as tar+gzip and as tar+zstd (compression_formats.py).
COMPRESSION_VARIANTS = (
    "hello",
    "hello_slim",
    "shelf",
    "shelf_slim",
    "notes",
    "notes_slim",
)
SIZE_VARIANTS = (
    "hello",
    "hello_debug",
    "hello_slim",
    "hello_nopyc",
    "items",
    "items_debug",
    "items_slim",
    "shelf",
    "shelf_slim",
    "notes",
    "notes_slim",
)
COLD_START_VARIANTS = (
    floor.FLOOR,
    "floor_python",
    "hello",
    "hello_checked",
    "hello_nopyc",
    "hello_slim",
    "hello_debug",
    "items",
    "items_slim",
    "shelf",
    "shelf_slim",
    "notes",
    "notes_slim",
)
LOAD_VARIANTS = (
    "hello",
    "hello_slim",
    "items",
    "shelf",
    "shelf_slim",
    "notes",
    "notes_slim",
)
# Their files by Debian package, linux/amd64 (slim_contents.py).
SLIM_VARIANTS = ("hello_slim", "items_slim", "shelf_slim", "notes_slim")
# Image -> the image of hello it is compared with for shared layers.
SHARED_WITH_HELLO = {
    "items": "hello",
    "items_debug": "hello_debug",
    "items_slim": "hello_slim",
    "shelf": "hello",
    "shelf_slim": "hello_slim",
    "notes": "hello",
    "notes_slim": "hello_slim",
}
ARCHES = list(ARCHITECTURES)
REQUIRED_TOOLS = ("runc", "umoci", "wrk", "nsenter", "ip", "skopeo", "docker-registry")


@dataclass(frozen=True)
class Plan:
    """How much to measure: the full run, or --quick."""

    quick: bool
    cold_start_runs: int
    cold_start_warmups: int
    # Recompress only the first bytes of each layer (None: whole layers).
    compression_sample_bytes: int | None
    build: build_times.Options
    load: load.LoadOptions

    @classmethod
    def of(cls, quick: bool) -> Plan:
        if quick:
            # A check of form (bench_test): every figure once, as briefly as
            # it can be had. 1 cold start per image and platform instead of
            # 1 + 3 (arm64 under qemu was 60 of the run's 158 s), 1 MiB of
            # each layer recompressed at each level instead of whole layers
            # (zstd -19 of hello took most of 25 s), 1 s of load per target
            # and no warm-up.
            return cls(
                quick=True,
                cold_start_runs=1,
                cold_start_warmups=0,
                compression_sample_bytes=1 << 20,
                build=build_times.Options(clean=False, noop_runs=1, incremental_runs=1),
                load=load.LoadOptions(
                    threads=2, connections=32, seconds=1, warmup_seconds=0, rounds=1
                ),
            )
        return cls(
            quick=False,
            cold_start_runs=10,
            cold_start_warmups=2,
            compression_sample_bytes=None,
            build=build_times.Options(clean=True, noop_runs=3, incremental_runs=3),
            load=load.LoadOptions(
                threads=2, connections=32, seconds=10, warmup_seconds=3, rounds=3
            ),
        )

    def describe(self) -> dict[str, Any]:
        return {
            "quick": self.quick,
            "cold_start_runs": self.cold_start_runs,
            "cold_start_warmups": self.cold_start_warmups,
            "compression_sample_bytes": self.compression_sample_bytes,
            "build_clean": self.build.clean,
            "build_noop_runs": self.build.noop_runs,
            "build_incremental_runs": self.build.incremental_runs,
            "load_threads": self.load.threads,
            "load_connections": self.load.connections,
            "load_seconds": self.load.seconds,
            "load_warmup_seconds": self.load.warmup_seconds,
            "load_rounds": self.load.rounds,
        }


# Published figures of the Go distroless example this project follows: other
# hardware (an Apple M1), another language, another service. For scale only.
REFERENCE = {
    "source": "the Go distroless example (a Go service, measured by its authors"
    " on other hardware: an Apple M1)",
    "image_mb": {"distroless": 12.5, "scratch": 6.26, "scratch + UPX": 2.67},
    "cold_start_ms": [700, 1100],
    "response_ms": 0.5,
    "requests_per_second": 10000,
    "idle_rss_mb": [8, 11],
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer runs, shorter loads, no clean build (for a smoke run)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="output directory (default: docs/performance in the workspace)",
    )
    parser.add_argument(
        "--workspace",
        type=Path,
        default=os.environ.get("BUILD_WORKSPACE_DIRECTORY"),
        help="the checkout to build (default: $BUILD_WORKSPACE_DIRECTORY)",
    )
    args = parser.parse_args(argv)
    if args.workspace is None:
        parser.error("no workspace: run through ./tools/bazel run, or give --workspace")
    args.workspace = args.workspace.resolve()
    if not (args.workspace / "MODULE.bazel").exists():
        parser.error(
            f"{args.workspace} is not this project's checkout (no MODULE.bazel)"
        )
    if args.out is None:
        args.out = args.workspace / "docs" / "performance"
    elif not args.out.is_absolute():
        # Relative to where the user typed the command, not to the runfiles.
        args.out = Path(os.environ.get("BUILD_WORKING_DIRECTORY", ".")) / args.out
    return args


def check_environment() -> dict[str, Path]:
    """Fail early, with the reason, if anything the run needs is missing."""
    if os.geteuid() != 0:
        sys.exit(
            "bench: containers need root (runc, umoci); run it through ./tools/bazel"
            " run, which enters the build root as root"
        )
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        sys.exit(
            f"bench: {', '.join(missing)} not installed; the build root has them"
            " (./tools/bazel run //tools/bench), or apt-get install runc umoci wrk"
            " util-linux iproute2"
        )
    layouts = {name: Path(path).resolve() for name, path in IMAGES.items()}
    for name, path in layouts.items():
        if not (path / "index.json").exists():
            sys.exit(f"bench: the {name} image layout is missing at {path}")
    return layouts


def run(
    args: argparse.Namespace, layouts: dict[str, Path], work: Path
) -> dict[str, Any]:
    plan = Plan.of(args.quick)
    started = time.monotonic()
    results: dict[str, Any] = {
        "schema": SCHEMA,
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "plan": plan.describe(),
        "machine": machine(),
        "reference": REFERENCE,
    }
    log("sizes")
    results["sizes"] = sizes.measure({v: layouts[v] for v in SIZE_VARIANTS})
    results["shared_layers"] = sizes.shared_layers(results["sizes"], SHARED_WITH_HELLO)
    log("slim images by package")
    results["slim_contents"] = {
        v: slim_contents.measure(layouts[v], "linux/amd64") for v in SLIM_VARIANTS
    }
    log("compression levels")
    results["compression"] = compression.measure(
        layouts["hello"], "linux/amd64", plan.compression_sample_bytes
    )
    log("tar+gzip and tar+zstd: sizes, copy from a registry, unpack")
    results["compression_formats"] = compression_formats.measure(
        {
            v: {"gzip": layouts[v], "zstd": layouts[f"{v}_zstd"]}
            for v in COMPRESSION_VARIANTS
        },
        work / "compression",
        1 if plan.quick else 5,
        log,
    )
    log("cold start")
    results["cold_start"] = coldstart.measure(
        {v: layouts[v] for v in COLD_START_VARIANTS},
        ARCHES,
        work,
        plan.cold_start_runs,
        plan.cold_start_warmups,
        log,
    )
    results["cold_start_ratio"] = floor.ratios(results["cold_start"])
    log("start-up imports")
    results["imports"] = imports.measure(layouts["hello"], work, plan.cold_start_runs)
    log(
        f"import {imports.ENTRY}: median {results['imports']['total_ms']['median']:.0f}"
        " ms (linux/amd64)"
    )
    log("load and memory")
    results["load"] = load.measure(
        {v: layouts[v] for v in LOAD_VARIANTS}, work, plan.load, log
    )
    log("build times (nested Bazel)")
    results["build"] = build_times.measure(
        args.workspace, work / "build", plan.build, log
    )
    results["duration_seconds"] = time.monotonic() - started
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    layouts = check_environment()
    # SIGTERM unwinds like Ctrl-C: every with block stops what it started.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        results = run(args, layouts, work)
    except KeyboardInterrupt:
        log("interrupted: everything started was stopped")
        return 130
    except (
        load.BenchError,
        coldstart.ContainerError,
        coldstart.EmulationUnavailable,
        compression_formats.CompressionBenchError,
        NestedBazelError,
    ) as err:
        log(f"failed: {err}")
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
        remove_tree(work)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    report.write(results, args.out)
    log(f"wrote {args.out}/results.json, report.md and the plots")
    log(f"took {results['duration_seconds']:.0f} s")
    return 0


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


if __name__ == "__main__":
    sys.exit(main())
