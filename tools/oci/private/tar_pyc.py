#!/usr/bin/env python3
"""Precompiles the .py files inside tars (e.g. Debian's Python standard library).

    tar_pyc.py --python /usr/bin/python3.13 --prefix usr/lib/python3.13
               --tar data.tar [--tar ...] [--exclude GLOB]... --output pyc.tar

Every regular .py member under --prefix is compiled, one fresh process per file
(see pyc.py), to a checked-hash .pyc naming its image path (/usr/lib/...), and
the .pyc files are written as a plain tar laid out as in the image, ready for a
layer. Debian ships no .pyc files; without them a read-only container compiles
the standard library on every start.
"""

from __future__ import annotations

import argparse
import concurrent.futures
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


def extract_sources(
    tars: list[str], prefix: str, excludes: list[str], into: Path
) -> list[pyc.Job]:
    """Writes the selected .py members below `into`; returns compile jobs keyed by image path."""
    jobs: dict[str, pyc.Job] = {}
    for tar_path in tars:
        with tarfile.open(tar_path) as tar:
            for member in tar:
                name = posixpath.normpath(member.name.lstrip("./"))
                if not (
                    member.isfile()
                    and name.endswith(".py")
                    and name.startswith(prefix + "/")
                ):
                    continue
                if any(fnmatch.fnmatch(name, pattern) for pattern in excludes):
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
    parser.add_argument("--output", required=True)
    parser.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1))
    args = parser.parse_args(argv)
    prefix = args.prefix.strip("/")
    tag = pyc.target_cache_tag(args.python)
    with tempfile.TemporaryDirectory() as tmp:
        sources, compiled = Path(tmp, "src"), Path(tmp, "pyc")
        jobs = extract_sources(args.tar, prefix, args.exclude, sources)
        if not jobs:
            raise ocilib.OciError(
                f"no .py files under {prefix}/ in {', '.join(args.tar)}"
            )
        outputs = {job.rel: pyc.pyc_rel_path(job.rel, tag, 0) for job in jobs}
        with concurrent.futures.ThreadPoolExecutor(
            max_workers=max(1, args.jobs)
        ) as pool:
            futures = [
                pool.submit(
                    pyc.compile_one,
                    args.python,
                    job,
                    "/" + job.rel,
                    compiled / outputs[job.rel],
                    "checked-hash",
                    0,
                )
                for job in jobs
            ]
            for future in futures:
                future.result()
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
