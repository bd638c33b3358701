"""Checks or fixes the formatting of every BUILD, .bazel and .bzl file in the workspace.

    buildifier.py check   # as a test: fails listing the files to reformat
    buildifier.py fix     # as `bazel run`: reformats them in place

The test finds the workspace through the real path of MODULE.bazel (a data
dependency), so new files are checked without being declared anywhere; it is
tagged to run every time for the same reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from checkout import checkout_files, workspace_dir
from runfiles import runfile

WARNINGS = "-module-docstring,-function-docstring,-function-docstring-args,-function-docstring-header,-print"


def starlark_files(workspace: Path) -> list[str]:
    names = ("BUILD", "BUILD.bazel", "MODULE.bazel", "WORKSPACE", "WORKSPACE.bazel")
    return [
        path
        for path in checkout_files(workspace)
        if Path(path).name in names or path.endswith((".bzl", ".bazel"))
    ]


def main(mode: str, buildifier: str) -> int:
    workspace = workspace_dir()
    files = starlark_files(workspace)
    if mode == "fix":
        command = [
            buildifier,
            "--mode=fix",
            "--lint=fix",
            f"--warnings={WARNINGS}",
            *files,
        ]
        return subprocess.run(command, cwd=workspace, check=False).returncode
    command = [
        buildifier,
        "--mode=check",
        "--lint=warn",
        f"--warnings={WARNINGS}",
        *files,
    ]
    result = subprocess.run(
        command, cwd=workspace, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        print(result.stdout + result.stderr, file=sys.stderr)
        print(
            "Starlark files are not formatted or have lint warnings; ./tools/bazel run //tools/buildifier:fix fixes most.",
            file=sys.stderr,
        )
        return 1
    print(f"buildifier: {len(files)} files formatted and lint-clean")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], str(runfile(sys.argv[2]))))
