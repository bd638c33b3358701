"""Pushes an OCI layout (one image or a multi-platform index) by digest, then tags it.

    push.py --layout DIR --repository HOST/NAME [--tag T]... [--tags-file F] [--insecure]

Run by `bazel run` on an oci_push target; `-- --repository/-r` and `--tag/-t`
given after `--` override the target's (the last --repository wins; --tag adds).
Uses crane (Debian's package): `crane push` to REPOSITORY@DIGEST, so nothing is
tagged unless the whole image arrived, then `crane tag` per tag. Exit status 0,
or 1 with a message naming the registry and the failed step.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ocireader import Layout, LayoutError

INDEX = "application/vnd.oci.image.index.v1+json"


class PushError(Exception):
    pass


def top_descriptor(layout: Path) -> dict:
    """The one descriptor to push: the image index if there is one, else the only manifest."""
    reader = Layout(layout)
    manifests = reader.entries()
    try:
        return reader.top_index()
    except LayoutError:
        if len(manifests) == 1:
            return manifests[0]
    raise PushError(
        f"{layout} holds {len(manifests)} manifests and no single index: nothing unambiguous to push"
    )


def single_entry_view(layout: Path, descriptor: dict, directory: Path) -> Path:
    """A layout whose index.json names only `descriptor` (crane pushes what index.json lists)."""
    view = directory / "layout"
    view.mkdir()
    (view / "oci-layout").write_bytes((layout / "oci-layout").read_bytes())
    (view / "index.json").write_text(
        json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": [descriptor]})
    )
    (view / "blobs").symlink_to((layout / "blobs").resolve())
    return view


def run_crane(crane: str, step: str, registry: str, args: list[str]) -> str:
    result = subprocess.run([crane, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise PushError(
            f"{step} failed for registry {registry}: {detail}\n"
            f"Check that {registry} is reachable from this machine and accepts pushes "
            "(credentials: `crane auth login`, or a docker config.json)."
        )
    return result.stdout


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Push an OCI layout by digest, then tag it."
    )
    parser.add_argument("--layout", required=True, type=Path)
    parser.add_argument("-r", "--repository", required=True, help="HOST[:PORT]/NAME")
    parser.add_argument(
        "-t", "--tag", action="append", default=[], help="tag to apply (repeatable)"
    )
    parser.add_argument("--tags-file", type=Path, help="file with one tag per line")
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="allow plain HTTP (loopback registries need not)",
    )
    parser.add_argument("--crane", default="crane")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    tags = list(args.tag)
    if args.tags_file:
        tags = [
            t.strip() for t in args.tags_file.read_text().splitlines() if t.strip()
        ] + tags
    repository = args.repository.rstrip("/")
    registry = repository.split("/", 1)[0]
    crane = shutil.which(args.crane)
    if crane is None:
        print(
            "push: crane is not installed (Debian: apt-get install crane)",
            file=sys.stderr,
        )
        return 1
    common = ["--insecure"] if args.insecure else []
    try:
        descriptor = top_descriptor(args.layout)
        digest = descriptor["digest"]
        with tempfile.TemporaryDirectory() as tmp:
            view = single_entry_view(args.layout, descriptor, Path(tmp))
            run_crane(
                crane,
                "pushing the image by digest",
                registry,
                ["push", *common, str(view), f"{repository}@{digest}"],
            )
        for tag in tags:
            run_crane(
                crane,
                f"tagging {digest} as {tag}",
                registry,
                ["tag", *common, f"{repository}@{digest}", tag],
            )
    except (PushError, LayoutError) as err:
        print(f"push: {err}", file=sys.stderr)
        return 1
    print(f"{repository}@{digest}")
    for tag in tags:
        print(f"{repository}:{tag}")
    return 0


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(main(sys.argv[1:]))
