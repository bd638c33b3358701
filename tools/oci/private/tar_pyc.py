#!/usr/bin/env python3
"""Precompiles the .py files inside tars (e.g. Debian's Python standard library).

    tar_pyc.py --python /usr/bin/python3.13 --prefix usr/lib/python3.13
               --tar data.tar [--tar ...] [--exclude GLOB]... [--only LIST]
               [--invalidation checked-hash|unchecked-hash] [--no-debug-ranges]
               --output pyc.tar

Every regular .py member under --prefix is compiled, one forked process per
file (see pyc.py), to a hash-based .pyc naming its image path (/usr/lib/...), and
the .pyc files are written as a plain tar laid out as in the image, ready for a
layer. Debian ships no .pyc files; without them a read-only container compiles
the standard library on every start.

--only LIST compiles only the members LIST names (one path below --prefix a
line, e.g. email/message.py); each must be in the tars, as a file or as a
symlink (which, like every symlink, is not compiled: Debian's
sitecustomize.py points into /etc). --invalidation and --no-debug-ranges are
pyc.py's.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import posixpath
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ocilib
import pyc


def read_only_list(path: str, prefix: str) -> set[str]:
    """--only: member paths (with the prefix) of the sources to compile."""
    names = set()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        rel = line.strip()
        if not rel:
            continue
        if (
            not rel.endswith(".py")
            or posixpath.normpath(rel) != rel
            or rel.startswith(("/", "../"))
        ):
            raise ocilib.OciError(
                f"--only {path}: {rel!r} is not a .py path below {prefix}/"
            )
        names.add(prefix + "/" + rel)
    return names


def extract_sources(
    tars: list[str],
    prefix: str,
    excludes: list[str],
    into: Path,
    only: set[str] | None = None,
    links: set[str] | None = None,
) -> list[pyc.Job]:
    """Writes the selected .py members below `into`; returns compile jobs keyed
    by image path. Symlinked .py members are added to `links`."""
    jobs: dict[str, pyc.Job] = {}
    for tar_path in tars:
        with tarfile.open(tar_path) as tar:
            for member in tar:
                name = posixpath.normpath(member.name.lstrip("./"))
                if member.issym() and links is not None:
                    links.add(name)
                if not (
                    member.isfile()
                    and name.endswith(".py")
                    and name.startswith(prefix + "/")
                ):
                    continue
                if any(fnmatch.fnmatch(name, pattern) for pattern in excludes):
                    continue
                if only is not None and name not in only:
                    continue
                target = into / name
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None
                target.write_bytes(source.read())
                jobs[name] = pyc.Job(str(target), name)
    return [jobs[name] for name in sorted(jobs)]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="tar_pyc.py", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--python", required=True)
    parser.add_argument(
        "--prefix", required=True, help="member prefix, e.g. usr/lib/python3.13"
    )
    parser.add_argument("--tar", action="append", required=True)
    parser.add_argument(
        "--exclude", action="append", default=[], help="glob of members to skip"
    )
    parser.add_argument("--only", help="file listing the sources to compile")
    parser.add_argument(
        "--invalidation",
        choices=("checked-hash", "unchecked-hash"),
        default="checked-hash",
    )
    parser.add_argument("--no-debug-ranges", dest="debug_ranges", action="store_false")
    parser.add_argument("--output", required=True)
    parser.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1))
    args = parser.parse_args(argv)
    prefix = args.prefix.strip("/")
    only = read_only_list(args.only, prefix) if args.only else None
    tag = pyc.target_cache_tag(args.python)
    with tempfile.TemporaryDirectory() as tmp:
        sources, compiled = Path(tmp, "src"), Path(tmp, "pyc")
        links: set[str] = set()
        jobs = extract_sources(args.tar, prefix, args.exclude, sources, only, links)
        if only is not None and (missing := only - {job.rel for job in jobs} - links):
            raise ocilib.OciError(
                f"--only {args.only}: not in {', '.join(args.tar)} (or excluded): "
                + ", ".join(sorted(missing))
            )
        if not jobs:
            raise ocilib.OciError(
                f"no .py files under {prefix}/ in {', '.join(args.tar)}"
            )
        outputs = {job.rel: pyc.pyc_rel_path(job.rel, tag, 0) for job in jobs}
        items = [
            pyc.Compilation(job, "/" + job.rel, compiled / outputs[job.rel])
            for job in jobs
        ]
        pyc.compile_all(
            args.python, items, args.invalidation, 0, args.debug_ranges, args.jobs
        )
        with tarfile.open(
            args.output, "w", format=tarfile.PAX_FORMAT
        ) as out:  # layer.py normalises it
            for rel in sorted(outputs.values()):
                info = out.gettarinfo(str(compiled / rel), arcname=rel)
                info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = (
                    0,
                    0o644,
                    0,
                    0,
                    "",
                    "",
                )
                with open(compiled / rel, "rb") as data:
                    out.addfile(info, data)


if __name__ == "__main__":
    ocilib.run_main(main)
