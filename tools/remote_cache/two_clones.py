"""Two clean builds sharing one remote cache: clone A fills it, clone B reads it.

Each clone is a copy of the checkout (nested_bazel.copy_checkout) at its own path,
of a different length and depth, built by its own Bazel server in an empty output
base, with the launcher's disk cache off and `--config=remote-cache` (or
`--config=remote-exec`: see Remote), the endpoint named in an rc file as a user
names it in user.bazelrc. Clone B's execution log says, action by action,
whether it came from the cache, ran remotely or ran here; its digests must be
clone A's.

Shared by the measuring scripts (//tools/remote_cache:measure,
//tools/remote_exec:measure) and the tests (//tests/remote_cache:two_clones_test,
//tests/remote_exec:two_clones_test).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nested_bazel import (
    LOCAL_STRATEGIES,
    NestedBazel,
    NestedBazelError,
    ProcessSummary,
    copy_checkout,
)

TARGETS = ("//images:all",)
# Every index's and image's .digest is downloaded (not only the top-level
# layouts), so both builds' digests can be compared.
DIGEST_FLAGS = ("--remote_download_regex=.*\\.digest$",)


@dataclass(frozen=True)
class Remote:
    """How a clone reaches a remote service: a --config and the line naming its endpoint."""

    config: str
    endpoint: str  # as a user writes it in user.bazelrc


def remote_cache(url: str) -> Remote:
    return Remote("remote-cache", f"common:remote-cache-endpoint --remote_cache={url}")


def remote_exec(url: str) -> Remote:
    return Remote("remote-exec", f"common:remote-exec-endpoint --remote_executor={url}")


@dataclass(frozen=True)
class Spawn:
    """One action execution from Bazel's JSON execution log."""

    mnemonic: str
    target: str
    runner: str
    remote_cache_hit: bool
    cacheable: bool
    output: str

    @property
    def ran_locally(self) -> bool:
        return not self.remote_cache_hit and self.runner in LOCAL_STRATEGIES


@dataclass(frozen=True)
class CloneBuild:
    checkout: Path
    seconds: float  # the whole clean build, server start to the end
    execution_seconds: float  # after loading, fetching and analysis
    summary: ProcessSummary
    digests: dict[str, str]
    bin_dir: Path
    spawns: list[Spawn] = field(default_factory=list)

    @property
    def local_spawns(self) -> list[Spawn]:
        return [spawn for spawn in self.spawns if spawn.ran_locally]


def read_execution_log(path: Path) -> list[Spawn]:
    """Bazel 7's --execution_log_json_file: one JSON object after another."""
    decoder = json.JSONDecoder()
    text = path.read_text()
    spawns = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return spawns
        entry, position = decoder.raw_decode(text, position)
        outputs = entry.get("actualOutputs") or entry.get("listedOutputs") or []
        first = outputs[0] if outputs else {}
        spawns.append(
            Spawn(
                mnemonic=entry.get("mnemonic", ""),
                target=entry.get("targetLabel", ""),
                runner=entry.get("runner", ""),
                remote_cache_hit=bool(entry.get("remoteCacheHit", False)),
                cacheable=bool(entry.get("cacheable", False)),
                output=first.get("path", "") if isinstance(first, dict) else first,
            )
        )


def digests_under(bin_dir: Path) -> dict[str, str]:
    """Every *.digest file under bin_dir/images, by path relative to bin_dir."""
    return {
        str(path.relative_to(bin_dir)): path.read_text().strip()
        for path in sorted((bin_dir / "images").rglob("*.digest"))
    }


def build_clone(
    source: Path,
    work: Path,
    name: str,
    checkout: Path,
    remote: Remote | None,
    *,
    targets: Sequence[str] = TARGETS,
    user: str | None = None,
    timeout: float,
) -> CloneBuild:
    """Copy the checkout to `checkout` and build it with `remote`, from clean.

    `remote` None is a local build. `user` sets $USER for Bazel: a teammate's
    name must not change a key either.
    """
    copy_checkout(source, checkout)
    log = work / f"{name}.exec.json"
    flags = [f"--execution_log_json_file={log}", *DIGEST_FLAGS]
    rc_lines = []
    if remote is not None:
        # The endpoint as a user names it, in an rc file (see .bazelrc).
        rc_lines.append(remote.endpoint)
        flags.insert(0, f"--config={remote.config}")
    with NestedBazel(checkout, work, name, rc_lines=rc_lines) as nested:
        if user is not None:
            nested.env["USER"] = user
        # Loading, repository rules and analysis first (no cache covers them),
        # then the actions (where the cache does its work): timed apart.
        started = time.monotonic()
        prepare = nested.run("build", "--nobuild", *flags, *targets, timeout=timeout)
        if prepare.returncode != 0:
            raise NestedBazelError(
                f"bazel build --nobuild {' '.join(targets)} in {checkout} failed "
                f"(exit {prepare.returncode}):\n{prepare.stderr[-5000:]}"
            )
        prepared = time.monotonic()
        result = nested.build(targets, flags=flags, timeout=timeout)
        finished = time.monotonic()
    return CloneBuild(
        checkout=checkout,
        seconds=finished - started,
        execution_seconds=finished - prepared,
        summary=result.summary,
        digests=digests_under(result.bin_dir),
        bin_dir=result.bin_dir,
        spawns=read_execution_log(log),
    )


def clone_paths(work: Path) -> tuple[Path, Path]:
    """Different lengths and depths, so no path can hide in an equal-length field."""
    return work / "a" / "checkout", work / "bb" / "deeper" / "other-checkout"


def describe(spawns: Sequence[Spawn], limit: int = 20) -> str:
    lines = [
        f"  {spawn.mnemonic} {spawn.target} -> {spawn.output} ({spawn.runner}"
        f"{'' if spawn.cacheable else ', not cacheable'})"
        for spawn in spawns[:limit]
    ]
    if len(spawns) > limit:
        lines.append(f"  ... and {len(spawns) - limit} more")
    return "\n".join(lines)


def measure_setup(
    label: str, doc: str, argv: list[str] | None
) -> tuple[argparse.Namespace, list[str], Path]:
    """What both measuring scripts start with: their options (--target,
    --keep), the targets, and the checkout `bazel run` was started in. A
    SIGTERM ends them like Ctrl-C, so that what they started is stopped."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument(
        "--target",
        action="append",
        help=f"target to build (repeatable; default {' '.join(TARGETS)})",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work directory (clones, logs)"
    )
    args = parser.parse_args(argv)
    found = os.environ.get("BUILD_WORKSPACE_DIRECTORY")
    if not found:
        sys.exit(f"measure: run me with ./tools/bazel run {label}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("measure: terminated"))
    return args, args.target or list(TARGETS), Path(found)
