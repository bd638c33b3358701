"""Write the dpkg status files that let scanners see what an image contains.

    dpkg_status.py --control libc6.control [--control ...]
                   [--md5sums libc6=libc6.md5sums ...] [--exclude GLOB ...] --output-dir DIR

No dpkg runs in a distroless image, so there is no /var/lib/dpkg/status.
Like distroless, each package gets its own file instead:
DIR/var/lib/dpkg/status.d/<package> holds the package's control paragraph,
with "Status: install ok installed" added after its Package field as dpkg
would record it. Trivy and syft read each file in status.d (but the
*.md5sums) as a dpkg status database. An optional <package>.md5sums beside
it (the package's own md5sums) tells syft which files the package owns.

--exclude takes the globs the layer leaves out (oci_layer's excludes: a glob
excludes what it matches and everything below it, as layer.is_excluded), so
each md5sums lists only the files the image holds.
Files are named by the Package field alone, also for Multi-Arch: same
packages: an image holds one architecture.
"""

from __future__ import annotations

import argparse
import fnmatch
import posixpath
import re
import sys
from collections.abc import Callable
from pathlib import Path

import deb822

STATUS_DIR = "var/lib/dpkg/status.d"
STATUS_LINE = "Status: install ok installed"

# Debian Policy 5.6.7; it also keeps names safe to use as file names.
PACKAGE_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")


class StatusError(Exception):
    """A control file that cannot be turned into a status entry."""


def status_entry(control: str, source: Path | str) -> tuple[str, str]:
    """The package name and its status.d text for one control paragraph:
    the paragraph as written, with dpkg's Status line after Package."""
    try:
        paragraphs = list(deb822.parse(control))
    except deb822.Deb822Error as error:
        raise StatusError(f"{source}: {error}") from None
    if len(paragraphs) != 1:
        raise StatusError(f"{source}: expected exactly one control paragraph")
    [paragraph] = paragraphs
    if "Package" not in paragraph:
        raise StatusError(f"{source}: no Package field")
    name = paragraph["Package"]
    if not PACKAGE_NAME.fullmatch(name):
        raise StatusError(f"{source}: invalid package name {name!r}")
    lines: list[str] = []
    for field in paragraph.fields:
        if field.name == "Status":
            continue
        lines += field.lines
        # dpkg writes Status right after Package; keep that order.
        if field.name == "Package":
            lines.append(STATUS_LINE)
    return name, "\n".join(lines) + "\n"


def kept_md5sums(md5sums: str, kept: Callable[[str], bool]) -> str:
    """The lines ("HASH  path") of a package's md5sums whose path is kept, for
    an image that holds only some of the package's files."""
    lines = [line for line in md5sums.splitlines() if kept(line.split("  ", 1)[-1])]
    return "".join(line + "\n" for line in lines)


def is_excluded(path: str, globs: tuple[str, ...] | list[str]) -> bool:
    """A glob excludes the paths it matches and everything below them (the
    semantics of //tools/oci/private/layer.py's is_excluded)."""
    path = path.removeprefix("./").removeprefix("/")
    while path:
        if any(fnmatch.fnmatchcase(path, g) for g in globs):
            return True
        path = posixpath.dirname(path)
    return False


def parse_md5sums_args(values: list[str]) -> dict[str, Path]:
    md5sums: dict[str, Path] = {}
    for value in values:
        name, separator, path = value.partition("=")
        if not separator or not name or not path:
            raise StatusError(f"--md5sums {value!r}: expected PACKAGE=FILE")
        md5sums[name] = Path(path)
    return md5sums


def write_status(
    controls: list[Path],
    md5sums: dict[str, Path],
    output_dir: Path,
    excludes: tuple[str, ...] | list[str] = (),
) -> list[str]:
    """Writes one status file per control file; returns the package names."""
    directory = output_dir / STATUS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    for control in controls:
        name, text = status_entry(control.read_text(encoding="utf-8"), control)
        if name in names:
            raise StatusError(f"{control}: package {name} is listed twice")
        names.append(name)
        (directory / name).write_text(text, encoding="utf-8")
    unknown = sorted(set(md5sums) - set(names))
    if unknown:
        raise StatusError(
            f"--md5sums for packages without --control: {', '.join(unknown)}"
        )
    for name, path in md5sums.items():
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        if excludes:
            text = kept_md5sums(text, lambda p: not is_excluded(p, excludes))
        (directory / f"{name}.md5sums").write_text(
            text, encoding="utf-8", errors="surrogateescape"
        )
    return names


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--control",
        action="append",
        type=Path,
        default=[],
        required=True,
        help="a package's control file (repeat)",
    )
    parser.add_argument(
        "--md5sums",
        action="append",
        default=[],
        metavar="PACKAGE=FILE",
        help="a package's md5sums file (repeat)",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="a path the layer leaves out: dropped from the md5sums (repeat)",
    )
    parser.add_argument(
        "--output-dir", required=True, type=Path, help="root of the tree to write"
    )
    args = parser.parse_args(argv)
    try:
        write_status(
            args.control,
            parse_md5sums_args(args.md5sums),
            args.output_dir,
            args.exclude,
        )
    except (StatusError, OSError, UnicodeDecodeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
