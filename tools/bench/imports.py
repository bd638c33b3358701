"""Start-up import cost: `python -X importtime` of the service, inside its image.

The service's entry module is imported (not run) in a fresh hardened
container of the amd64 image, as many times as cold starts are measured;
Python reports each module's own and cumulative import time. The result is
the median total, and the modules that cost most, cumulatively, down to
DEPTH levels below the entry module: where a cold start's Python time goes.
"""

from __future__ import annotations

import re
import statistics
from pathlib import Path
from typing import Any

from container import ContainerError, run_once, unpack
from image_platforms import ref
from nested_bazel import remove_tree
from stats import summary

PYTHON = "/usr/bin/python3.13"
ENTRY = "hello.__main__"
DEPTH = 3  # levels below the entry module that are reported
SHARE = 0.04  # of the total, at least, to be reported
TIMEOUT = 60.0
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)$")


def parse(stderr: str) -> list[tuple[int, str, float, float]]:
    """(depth, module, self ms, cumulative ms) for each line of -X importtime, in order."""
    entries = []
    for line in stderr.splitlines():
        if match := _LINE.match(line):
            own, cumulative, indent, name = match.groups()
            entries.append(
                (len(indent) // 2, name, int(own) / 1000, int(cumulative) / 1000)
            )
    return entries


def below_entry(
    entries: list[tuple[int, str, float, float]], entry: str
) -> tuple[float, list[tuple[int, str, float]]]:
    """The entry module's cumulative ms, and (depth below it, module, cumulative ms)
    of every module it imported. -X importtime prints a module after what it
    imports, so the entry's subtree is the run of deeper lines just before it."""
    for index, (depth, name, _, cumulative) in enumerate(entries):
        if name == entry:
            start = index
            while start > 0 and entries[start - 1][0] > depth:
                start -= 1
            subtree = [(d - depth, n, c) for d, n, _, c in entries[start:index]]
            return cumulative, subtree
    raise ContainerError(f"-X importtime never reported {entry}")


def measure(layout: Path, work: Path, runs: int) -> dict[str, Any]:
    bundle = work / "imports-bundle"
    unpack(layout, ref("amd64"), bundle)
    totals: list[float] = []
    modules: dict[str, list[float]] = {}
    depths: dict[str, int] = {}
    try:
        for _ in range(runs):
            argv = [PYTHON, "-X", "importtime", "-c", f"import {ENTRY}"]
            result = run_once(bundle, argv, None, TIMEOUT)
            if result.returncode != 0:
                raise ContainerError(f"{' '.join(argv)} failed:\n{result.stderr}")
            total, subtree = below_entry(parse(result.stderr), ENTRY)
            totals.append(total)
            for depth, name, cumulative in subtree:
                modules.setdefault(name, []).append(cumulative)
                depths[name] = depth
    finally:
        remove_tree(bundle)
    result_total = summary(totals)
    costly = [
        {
            "module": name,
            "depth": depths[name],
            "cumulative_ms": statistics.median(values),
        }
        for name, values in modules.items()
        if depths[name] <= DEPTH
        and statistics.median(values) >= SHARE * result_total["median"]
    ]
    costly.sort(key=lambda m: -m["cumulative_ms"])
    return {
        "entry": ENTRY,
        "platform": "linux/amd64",
        "total_ms": result_total,
        "modules": costly,
    }
