"""Regenerates requirements_lock.txt from requirements.in with uv (`bazel run //:requirements.update`).

System CA certificates are trusted (uv otherwise ships its own), so a
TLS-intercepting proxy whose CA the build root trusts works.

The lock is universal (every platform's wheel hashes) and pinned for
Python 3.13, the version of the build root and of the images.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def main(uv: str) -> int:
    workspace = Path(os.environ["BUILD_WORKSPACE_DIRECTORY"])
    command = [
        uv, "pip", "compile", "requirements.in",
        "--generate-hashes", "--universal", "--system-certs", "--python-version", "3.13", "--no-header",
        "--custom-compile-command", "./tools/bazel run //:requirements.update",
        "--output-file", "requirements_lock.txt", *sys.argv[2:],
    ]  # fmt: skip
    return subprocess.run(command, cwd=workspace, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(os.path.abspath(sys.argv[1])))
