"""Find a py_binary's runfiles when `bazel run`, `bazel test` or a direct call runs it.

rules_python's own runfiles library is not importable under bzlmod at the
version Debian packages (its repository directory name is not a Python
identifier), so this is the small part of it the tools need.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def runfiles_dir() -> Path:
    """$RUNFILES_DIR, else the enclosing NAME.runfiles of the running program."""
    if "RUNFILES_DIR" in os.environ:
        return Path(os.environ["RUNFILES_DIR"])
    for parent in Path(sys.argv[0]).absolute().parents:
        if parent.name.endswith(".runfiles"):
            return parent
    raise SystemExit(
        f"{Path(sys.argv[0]).name}: cannot find the runfiles directory; "
        "run it with `bazel run`, or set RUNFILES_DIR"
    )


def runfile(path: str) -> Path:
    """An rlocation path (`_main/x/y` or `repo/x`), or a main-repository path."""
    root = runfiles_dir()
    for candidate in (root / path, root / "_main" / path):
        if os.path.lexists(candidate):
            return candidate.absolute()
    raise SystemExit(f"runfile {path} not found under {root}")
