"""Summaries of repeated measurements, and a description of the machine."""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
from collections.abc import Sequence
from typing import Any


def summary(values: Sequence[float]) -> dict[str, Any]:
    """{"median", "min", "max", "runs", "values"} of a list of measurements."""
    if not values:
        raise ValueError("no measurements to summarise")
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": len(values),
        "values": list(values),
    }


def _first_line(argv: Sequence[str]) -> str:
    if shutil.which(argv[0]) is None:
        return "not installed"
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=30, check=False
    )
    lines = (result.stdout or result.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"


def machine() -> dict[str, Any]:
    """CPU model, cores, RAM, kernel, and the versions of the tools measured with."""
    model = "unknown"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    memory_kib = 0
    try:
        for line in open("/proc/meminfo", encoding="utf-8"):
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
                break
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cpu_cores": os.cpu_count() or 0,
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "tools": {
            "runc": _first_line(["runc", "--version"]),
            "wrk": _first_line(["wrk", "--version"]),
            "qemu": _first_line(["qemu-aarch64", "--version"]),
        },
    }
