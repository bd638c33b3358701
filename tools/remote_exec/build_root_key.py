"""The platform properties of this build root: what remote actions ask workers for.

    build_root_key.py PACKAGES_TXT PROVISION_SH   (prints them as JSON)

A remote action carries them in its platform (//tools/remote_exec:build_root,
whose exec_properties come from @remote_exec_build_root, made by running this),
and a worker started by //tools/remote_exec:serve advertises the same ones for
the root it runs in, so an action only ever runs where the tools it was built
against are installed: `build-root=KEY`, with OSFamily and ISA as REAPI names them.

KEY is the name tools/bazel gives the root, the first 16 hex digits of the
sha256 of packages.txt followed by provision.sh: a new package list is a new
root and a new key. Outside the build root (a machine's own Bazel) the key is
"host": the machine's own tools, which nothing can vouch for.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from pathlib import Path

HOST = "host"
_FILES = ("tools/buildroot/packages.txt", "tools/buildroot/provision.sh")


def key_of(packages: Path, provision: Path) -> str:
    """tools/bazel's `cat packages.txt provision.sh | sha256sum | cut -c1-16`."""
    digest = hashlib.sha256(packages.read_bytes() + provision.read_bytes())
    return digest.hexdigest()[:16]


def in_build_root() -> bool:
    return os.environ.get("TOOLS_BAZEL_IN_BUILD_ROOT") == "1"


def build_root_key(workspace: Path) -> str:
    """The key of the root this process runs in, for the checkout `workspace`."""
    if not in_build_root():
        return HOST
    packages, provision = (workspace / name for name in _FILES)
    return key_of(packages, provision)


def properties(key: str) -> dict[str, str]:
    """The platform of actions (and workers) for the root `key`."""
    machine = platform.machine()
    isa = {"x86_64": "x86-64", "arm64": "aarch64"}.get(machine, machine)
    return {"OSFamily": "linux", "ISA": isa, "build-root": key}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    key = key_of(Path(argv[0]), Path(argv[1])) if in_build_root() else HOST
    print(json.dumps(properties(key), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
