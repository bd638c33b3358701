"""Checks or fixes the formatting of every Python file in the checkout, with black.

    black_files.py check   # as a test: fails listing the files to reformat
    black_files.py fix     # as `bazel run`: reformats them in place

Like //tools/buildifier, the test finds the checkout through MODULE.bazel's real
path, so new files are checked without being declared anywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys

from checkout import checkout_files, workspace_dir

FIX_COMMAND = "./tools/bazel run //tools/format:black"


def main(mode: str) -> int:
    workspace = workspace_dir()
    files = [path for path in checkout_files(workspace) if path.endswith(".py")]
    command = [sys.executable, "-m", "black", "--quiet", *files]
    if mode == "check":
        command[3:3] = ["--check", "--diff"]
    # black comes from @pypi, on this program's sys.path; a child needs it too.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(command, cwd=workspace, env=env, check=False)
    if result.returncode != 0 and mode == "check":
        print(f"Python files are not formatted; {FIX_COMMAND} fixes them.")
        return 1
    if result.returncode == 0:
        print(f"black: {len(files)} files formatted")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
