"""Makes a password-protected cosign key pair for releases, without cosign on the host.

    COSIGN_PASSWORD=... ./tools/bazel run //tools/release:keygen [-- --out DIR]

Writes cosign.key (encrypted with $COSIGN_PASSWORD) and cosign.pub into DIR,
by default the directory the command was typed in. Existing files are never
overwritten. The build root's cosign does the work.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path


class KeygenError(Exception):
    pass


def keygen(out: Path) -> tuple[Path, Path]:
    if "COSIGN_PASSWORD" not in os.environ:
        raise KeygenError(
            "COSIGN_PASSWORD is not set: give the password that will protect the "
            "key, e.g. COSIGN_PASSWORD=... ./tools/bazel run //tools/release:keygen"
        )
    if not os.environ["COSIGN_PASSWORD"]:
        raise KeygenError(
            "COSIGN_PASSWORD is empty: a release key must be password-protected"
        )
    cosign = shutil.which("cosign")
    if cosign is None:
        raise KeygenError("cosign is not installed here (the build root has it)")
    key, pub = out / "cosign.key", out / "cosign.pub"
    for path in (key, pub):
        if path.exists():
            raise KeygenError(
                f"{path} exists; move it away first (nothing was written)"
            )
    out.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [cosign, "generate-key-pair"], cwd=out, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise KeygenError(f"cosign generate-key-pair failed:\n{result.stderr.strip()}")
    key.chmod(0o600)
    return key, pub


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    out = Path(os.environ.get("BUILD_WORKING_DIRECTORY", ".")) / args.out
    try:
        key, pub = keygen(out.resolve())
    except KeygenError as err:
        print(f"keygen: {err}", file=sys.stderr)
        return 1
    print(f"wrote {key} (private, password-protected) and {pub} (public)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
