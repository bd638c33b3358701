"""The checkout a tool works on, and the files in it.

Tools that look at "every file of the repository" (formatters, the copies of the
reproducibility, cache and benchmark runs) ask git, so bazel-* links, caches and
ignored outputs never count, while new files count before they are committed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from runfiles import runfile


def workspace_dir() -> Path:
    """The checkout: `bazel run` names it; a test finds it via MODULE.bazel's real path.

    A test using this needs //:MODULE.bazel as data, and should be tagged
    `external` (it reads files Bazel does not track as its inputs).
    """
    if "BUILD_WORKSPACE_DIRECTORY" in os.environ:
        return Path(os.environ["BUILD_WORKSPACE_DIRECTORY"])
    return runfile("MODULE.bazel").resolve().parent


def checkout_files(workspace: Path) -> list[str]:
    """Tracked files and new ones not ignored, relative, sorted; deleted ones left out."""
    listed = subprocess.run(
        ["git", "-C", str(workspace), "ls-files", "-co", "--exclude-standard", "-z"],
        capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    return sorted(
        name for name in set(listed) if name and os.path.lexists(workspace / name)
    )
