"""Installs one wheel into a repository directory, one step of the `pip` module extension.

    python3 -I install_wheel.py --installer INSTALLER --wheel FILE.whl \\
        --interpreter /usr/bin/python3.13 --dest DIR

pypa's `installer` (the reference implementation of the wheel spec, the
library pip's and distributions' packaging use) does the work; INSTALLER is
its wheel or a directory holding the package, put on sys.path first. Layout
of DIR, like `pip install --target`:
  site-packages/  the archive root and .data/purelib, .data/platlib (importable)
  bin/            .data/scripts and console scripts for the entry points
  include/, data/ .data/headers and .data/data (not importable, not shipped)
The wheel's RECORD is checked against its files first, and a RECORD of the
installed files is written, as pip does. A wheel holding a BUILD file is
refused: Bazel would make its directory a package of its own and the
distribution's py_library would silently lose the files under it. Nothing here reads the environment
or the network: Bazel downloaded both wheels, pinned by sha256.
Exit status: 0 installed, 1 with a message naming the wheel.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SCHEME = {
    "purelib": "site-packages",
    "platlib": "site-packages",
    "scripts": "bin",
    "headers": "include",
    "data": "data",
}

# What `*.dist-info/INSTALLER` says installed the distribution.
INSTALLER_NAME = b"bazel-python-containers tools/pypi\n"


def install(wheel: Path, dest: Path, interpreter: str) -> None:
    from installer import install as install_wheel
    from installer.destinations import SchemeDictionaryDestination
    from installer.sources import WheelFile

    destination = SchemeDictionaryDestination(
        {scheme: str(dest / path) for scheme, path in SCHEME.items()},
        interpreter=interpreter,
        script_kind="posix",
    )
    with WheelFile.open(wheel) as source:
        source.validate_record()
        install_wheel(source, destination, {"INSTALLER": INSTALLER_NAME})
    build_files = sorted(
        str(path.relative_to(dest))
        for directory in sorted(set(SCHEME.values()))
        for name in ("BUILD", "BUILD.bazel")
        for path in (dest / directory).rglob(name)
    )
    if build_files:
        raise ValueError(
            f"it contains Bazel BUILD files ({', '.join(build_files)}), which would "
            "split its repository into packages and drop those files from its py_library"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--installer", required=True, type=Path)
    parser.add_argument("--wheel", required=True, type=Path)
    parser.add_argument("--interpreter", required=True)
    parser.add_argument("--dest", required=True, type=Path)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.installer))
    try:
        install(args.wheel, args.dest, args.interpreter)
    except (
        Exception
    ) as err:  # noqa: BLE001 - any failure: name the wheel, keep the cause
        print(
            f"installing {args.wheel.name} failed: {type(err).__name__}: {err}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
