"""Prints what a `bazel run` program sees: its environment, working directory, and a host file.

    ./tools/bazel run //tools/e2e:env_probe -- FILE

For the README check (readme_check.py), which runs it from the host.
"""

import json
import os
import sys

print(
    json.dumps(
        {
            "env": dict(os.environ),
            "cwd": os.getcwd(),
            "file": open(sys.argv[1]).read() if len(sys.argv) > 1 else None,
        }
    )
)
