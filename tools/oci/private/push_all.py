"""Pushes several images under one repository prefix: `bazel run //images:push`.

    push_all.py --image NAME=LAYOUT... [--tag T]... [--repository-prefix HOST/PATH]

oci_push_all generates a main that calls `main(argv, images)` with the image
layouts as runfiles paths, so the pushed set is part of the binary, not of
`bazel run` arguments, and the binary works when run directly.

The prefix comes from --repository-prefix or, failing that, the environment
variable IMAGE_REPOSITORY_PREFIX; image NAME goes to PREFIX/NAME, by digest,
then tagged (push.py). The first failure stops the run with its message.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import push
from runfiles import runfiles_dir


def main(argv: list[str], images: dict[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", action="append", default=[], metavar="NAME=LAYOUT")
    parser.add_argument(
        "--repository-prefix", default=os.environ.get("IMAGE_REPOSITORY_PREFIX", "")
    )
    parser.add_argument("-t", "--tag", action="append", default=[])
    parser.add_argument("--insecure", action="store_true")
    args = parser.parse_args(argv)
    if images:
        root = runfiles_dir()
        args.image += [
            f"{name}={os.path.join(root, path)}" for name, path in images.items()
        ]
    if not args.image:
        parser.error("no --image given")
    if not args.repository_prefix:
        print(
            "push: no repository prefix: run `bazel run //images:push -- --repository-prefix HOST/PATH` "
            "or set IMAGE_REPOSITORY_PREFIX",
            file=sys.stderr,
        )
        return 2
    prefix = args.repository_prefix.rstrip("/")
    for image in args.image:
        name, _, layout = image.partition("=")
        push_args = ["--layout", layout, "--repository", f"{prefix}/{name}"]
        push_args += [arg for tag in args.tag for arg in ("--tag", tag)]
        push_args += ["--insecure"] if args.insecure else []
        status = push.main(push_args)
        if status != 0:
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
