"""Installs a hashed requirements lock into a directory, one step of the `pip` module extension.

    install.py --lock requirements_lock.txt --target DIR [pip options...]

pip does the work (`--require-hashes --no-deps --only-binary=:all:`); this
script only turns pip's failures into messages that name the package, the
lock file and the fix. Exit status: 0 on success, 1 with a message on stderr.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

# pip prints, under "THESE PACKAGES DO NOT MATCH THE HASHES ...":
#     waitress==3.0.2 from https://.../waitress-3.0.2-py3-none-any.whl (from -r LOCK (line 9)):
#         Expected sha256 abc...
#              Got        def...
_MISMATCH = re.compile(
    r"^\s+(?P<req>\S+)(?: from (?P<url>\S+?))?(?: \(from .*\))?:\s*\n"
    r"\s+Expected sha256 (?P<expected>[0-9a-f]+)\s*\n"
    r"(?:\s+or .*\n)*"
    r"\s+Got\s+(?P<got>[0-9a-f]+)",
    re.MULTILINE,
)


def explain_failure(output: str, lock: str) -> str:
    """Returns a message for a failed pip run: what went wrong and how to fix it."""
    mismatches = list(_MISMATCH.finditer(output))
    if mismatches:
        lines = [f"hash mismatch while installing {lock}:"]
        for m in mismatches:
            lines.append(
                f"  {m['req']}: the lock expects sha256 {m['expected']}, the download has sha256 {m['got']}"
            )
            if m["url"]:
                lines.append(f"    (downloaded from {m['url']})")
        lines.append(
            f"If you changed requirements.in or the lock by hand, regenerate {lock} with "
            "`./tools/bazel run //:requirements.update`; otherwise the file served is not the "
            "one that was locked: do not trust it."
        )
        return "\n".join(lines)
    if (
        "Hashes are required in --require-hashes mode" in output
        or "missing hash" in output.lower()
    ):
        return (
            f"{lock} has a requirement without a hash. Regenerate it with "
            "`./tools/bazel run //:requirements.update`.\n" + _tail(output)
        )
    if (
        "No matching distribution found" in output
        or "Could not find a version" in output
    ):
        return (
            f"pip found no wheel for a requirement in {lock} (only wheels are installed; "
            "is PyPI reachable, and does the package publish a wheel for this Python?).\n"
            + _tail(output)
        )
    return f"pip failed to install {lock}:\n" + _tail(output)


def _tail(output: str, lines: int = 25) -> str:
    return "\n".join(output.rstrip().splitlines()[-lines:])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", required=True)
    parser.add_argument("--target", required=True)
    args, pip_args = parser.parse_known_args(argv)
    command = [
        sys.executable, "-m", "pip", "install",
        "--require-hashes", "--no-deps", "--only-binary=:all:", "--no-compile",
        "--disable-pip-version-check", "--no-input", "--quiet",
        "--target", args.target, "-r", args.lock, *pip_args,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        print(
            explain_failure(result.stdout + result.stderr, args.lock), file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
