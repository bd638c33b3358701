"""Runs py_slim.py and py_slim_probe.py as their Bazel actions do: as scripts in a
subprocess, with explicit arguments and a minimal environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PRIVATE = Path(__file__).absolute().parents[1]


def tool_env() -> dict[str, str]:
    """No locale or SOURCE_DATE_EPOCH of the host; PYTHONPATH is this process's
    sys.path, so the programs find elf.py, dpkg_status.py and ocilib.py as the
    tests did (Bazel's runfiles, or the checkout)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "PYTHONDONTWRITEBYTECODE": "1",  # Runfiles are read-only; keep sources clean.
    }


def run_program(name: str, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PRIVATE / f"{name}.py"), *map(str, args)],
        env=tool_env(),
        capture_output=True,
        text=True,
        check=False,
    )


def run_tool(
    name: str, *args: object, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run NAME.py; assert success (ok=True) or a clean failure (exit 1, no traceback)."""
    result = run_program(name, *args)
    if ok:
        assert result.returncode == 0, f"{name}.py failed:\n{result.stderr}"
    else:
        assert (
            result.returncode == 1
        ), f"{name}.py: expected exit 1, got {result.returncode}:\n{result.stderr}"
        assert "Traceback" not in result.stderr, result.stderr
    return result
