"""`bazel run` of an oci_load target: one platform's image into the user's podman or docker.

    load --layout DIR --loader load.sh [--repo-tag NAME:TAG]... [--format docker|oci]
         [-- [--platform linux/arm64] [--engine podman|docker] [--repo-tag NAME:TAG]...]

The image for this machine's platform is written as a tarball (tarball.py),
then load.sh hands it to the engine: podman if it is installed, else docker,
unless --engine names one. Inside the project's build root the engine is the
host's, out of reach: the tarball goes to a directory the launcher shares
(TOOLS_BAZEL_HOST_HANDOFF) and the launcher runs load.sh on the host once
Bazel has exited (see tools/bazel).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import tarball
from image_platforms import PLATFORMS, host_architecture

ENGINES = ("podman", "docker")


def host_platform() -> str:
    """This machine's platform, e.g. linux/amd64 (the variant is left to match any)."""
    architecture = host_architecture()
    entry = PLATFORMS.get(architecture, {"os": "linux", "architecture": architecture})
    return f"{entry['os']}/{entry['architecture']}"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bazel run //PACKAGE:NAME_load --",
        description="Load one platform's image into podman or docker.",
    )
    parser.add_argument("--layout", required=True, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--loader", required=True, type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--repo-tag",
        action="append",
        default=[],
        help="NAME:TAG to give the image (repeatable; adds to the target's)",
    )
    parser.add_argument(
        "--platform",
        default=host_platform(),
        help="os/arch of the image to load (default: this machine's, %(default)s)",
    )
    parser.add_argument(
        "--engine",
        help="podman or docker (default: podman if it is installed, else docker)",
    )
    parser.add_argument(
        "--format", choices=tarball.FORMATS, default="docker", help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.engine is not None and args.engine not in ENGINES:
        parser.error(
            f"unknown engine {args.engine!r}: use --engine podman or --engine docker"
        )
    return args


def loader_command(args: argparse.Namespace, archive: Path, image_id: str) -> list[str]:  # fmt: skip
    command = [str(args.loader.absolute()), "--tarball", str(archive)]
    command += ["--image-id", image_id, "--platform", args.platform]
    if args.engine:
        command += ["--engine", args.engine]
    return command + list(dict.fromkeys(args.repo_tag))


def main(argv: list[str]) -> int:
    args = parse(argv)
    handoff = os.environ.get("TOOLS_BAZEL_HOST_HANDOFF")
    try:
        image = tarball.pick(args.layout, args.platform)
        with tempfile.TemporaryDirectory(dir=handoff, prefix="load-") as tmp:
            archive = Path(tmp) / tarball.file_name(image.platform)
            image_id = tarball.write(args.layout, image, args.repo_tag, args.format, archive)  # fmt: skip
            command = loader_command(args, archive, image_id)
            if handoff:
                # The launcher removes the hand-off directory after running it.
                kept = Path(handoff) / archive.name
                archive.rename(kept)
                command[2] = str(kept)
                fields = [os.getcwd(), *command]
                (Path(handoff) / "command").write_bytes(
                    b"".join(field.encode() + b"\0" for field in fields)
                )
                return 0
            return subprocess.run(command, check=False).returncode
    except tarball.TarballError as err:
        print(f"load: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
