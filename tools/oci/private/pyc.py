#!/usr/bin/env python3
"""Compile .py files to deterministic .pyc files for the image's Python.

    pyc.py --python /usr/bin/python3.13 --output-dir OUT
           [--src-root DIR] [--image-prefix /app]
           [--invalidation checked-hash|unchecked-hash] [--optimize 0|1|2]
           [--no-debug-ranges] [--jobs N] [--spec-out SPEC.json]
           FILE...

Each FILE (there may be none) is either a path under --src-root (its image path is the path relative to
--src-root) or SRC=REL, naming the image path REL (relative to --image-prefix)
explicitly, which suits generated files that live in another root. For image path
PREFIX/pkg/mod.py the output is OUT/pkg/__pycache__/mod.<cache_tag>.pyc, where the
cache tag (e.g. cpython-313) comes from the target interpreter, and the code objects
name PREFIX/pkg/mod.py so tracebacks show image paths, not build paths.

Why one process per file: marshal output depends on reference counts inside the
compiling process, so compiling several files in one process can change the bytes.
Each child runs with only PYTHONHASHSEED=0 in its environment (frozenset constants
are ordered by string hashes). Several children run in parallel.

Checked-hash .pyc files (PEP 552, the default) embed a hash of the source and are
revalidated against it, so they stay correct when a source changes and never depend
on file times. --spec-out writes a layer.py spec listing the .pyc files.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import posixpath
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ocilib

_CHILD_ENV = {"PYTHONHASHSEED": "0"}
# Runs in the target interpreter: compile one file, report only the message on failure.
_COMPILE = """\
import py_compile, sys
src, dfile, cfile, mode, optimize = sys.argv[1:]
try:
    py_compile.compile(src, cfile=cfile, dfile=dfile, doraise=True,
                       optimize=int(optimize),
                       invalidation_mode=py_compile.PycInvalidationMode[mode])
except py_compile.PyCompileError as e:
    sys.exit(e.msg)
"""
_INVALIDATION_MODES = {
    "checked-hash": "CHECKED_HASH",
    "unchecked-hash": "UNCHECKED_HASH",
}


@dataclass(frozen=True)
class Job:
    source: str  # Where to read the file now.
    rel: str  # Its path below the image prefix, e.g. pkg/mod.py.


def target_cache_tag(python: str) -> str:
    """Ask the target interpreter, not this one, which tag its .pyc names carry."""
    code = "import sys; print(sys.implementation.cache_tag)"
    try:
        out = subprocess.run(
            [python, "-S", "-c", code],
            env=_CHILD_ENV,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as e:
        raise ocilib.OciError(f"cannot run target Python {python!r}: {e}") from e
    tag = out.stdout.strip()
    if not tag:
        raise ocilib.OciError(
            f"{python!r} has no cache tag (sys.implementation.cache_tag)"
        )
    return tag


def parse_jobs(files: list[str], src_root: str | None) -> list[Job]:
    jobs = [_parse_job(f, src_root) for f in files]
    seen: dict[str, str] = {}
    for job in jobs:
        if job.rel in seen:
            raise ocilib.OciError(
                f"two sources for {job.rel!r}: {seen[job.rel]!r} and {job.source!r}"
            )
        seen[job.rel] = job.source
    return jobs


def _parse_job(arg: str, src_root: str | None) -> Job:
    source, sep, rel = arg.partition("=")
    if not sep:
        if src_root is None:
            raise ocilib.OciError(
                f"{arg!r}: give --src-root or name the path as SRC=REL"
            )
        rel = os.path.relpath(source, src_root)
    rel = rel.replace(os.sep, "/")
    if rel != posixpath.normpath(rel) or rel.startswith(("/", "../")) or rel == "..":
        raise ocilib.OciError(
            f"{arg!r}: image path {rel!r} is not below the image prefix"
        )
    if not rel.endswith(".py"):
        raise ocilib.OciError(f"{arg!r}: not a .py file")
    if not os.path.isfile(source):
        raise ocilib.OciError(f"{arg!r}: source {source!r} is not a file")
    return Job(source, rel)


def pyc_rel_path(rel: str, cache_tag: str, optimize: int) -> str:
    """pkg/mod.py -> pkg/__pycache__/mod.cpython-313[.opt-N].pyc (PEP 3147/488)."""
    directory, name = posixpath.split(rel)
    opt = f".opt-{optimize}" if optimize else ""
    return posixpath.join(directory, "__pycache__", f"{name[:-3]}.{cache_tag}{opt}.pyc")


def compile_one(
    python: str,
    job: Job,
    dfile: str,
    cfile: Path,
    invalidation: str,
    optimize: int,
    debug_ranges: bool = True,
) -> None:
    """debug_ranges=False compiles without the column positions (PEP 657) that
    tracebacks draw their ^^^ markers from: line numbers stay, the .pyc files
    are about a fifth smaller once compressed (python -X no_debug_ranges)."""
    cfile.parent.mkdir(parents=True, exist_ok=True)
    args = [python, "-S"] + ([] if debug_ranges else ["-X", "no_debug_ranges"])
    args += ["-c", _COMPILE, job.source, dfile, str(cfile)]
    args += [_INVALIDATION_MODES[invalidation], str(optimize)]
    result = subprocess.run(
        args, check=False, env=_CHILD_ENV, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise ocilib.OciError(
            f"cannot compile {job.source!r}:\n{result.stderr.strip()}"
        )
    os.chmod(cfile, 0o644)  # py_compile copies the source's mode; the image wants 0644.


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="pyc.py", description="Compile .py files to deterministic .pyc files."
    )
    p.add_argument("--python", required=True, help="the image's Python interpreter")
    p.add_argument("--output-dir", required=True, help="where the __pycache__ trees go")
    p.add_argument("--src-root", help="root that FILE paths are relative to")
    p.add_argument("--image-prefix", default="/", help="image directory of the sources")
    p.add_argument(
        "--invalidation", choices=sorted(_INVALIDATION_MODES), default="checked-hash"
    )
    p.add_argument("--optimize", type=int, choices=(0, 1, 2), default=0)
    p.add_argument(
        "--no-debug-ranges",
        dest="debug_ranges",
        action="store_false",
        help="leave out column positions (smaller .pyc, no ^^^ in tracebacks)",
    )
    p.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1))
    p.add_argument("--spec-out", help="write a layer.py spec listing the .pyc files")
    p.add_argument(
        "files", nargs="*", metavar="FILE", help="SRC (under --src-root) or SRC=REL"
    )
    return p.parse_args(argv)


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    prefix = args.image_prefix
    if (
        not prefix.startswith("/")
        or posixpath.normpath(prefix) != prefix
        or "//" in prefix
    ):
        raise ocilib.OciError(
            f"--image-prefix {prefix!r} must be a normalized absolute path"
        )
    jobs = parse_jobs(args.files, args.src_root)
    tag = target_cache_tag(args.python)
    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)  # Even with no files: Bazel expects it.
    outputs = {job.rel: pyc_rel_path(job.rel, tag, args.optimize) for job in jobs}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [
            pool.submit(
                compile_one,
                args.python,
                job,
                posixpath.join(prefix, job.rel),
                out_dir / outputs[job.rel],
                args.invalidation,
                args.optimize,
                args.debug_ranges,
            )
            for job in jobs
        ]
        for future in futures:
            future.result()  # Raises the first failure in argument order.
    if args.spec_out:
        image_dir = prefix.lstrip("/")
        entries = [
            {
                "path": posixpath.join(image_dir, outputs[rel]),
                "source": str(out_dir / outputs[rel]),
                "mode": "0644",
            }
            for rel in sorted(outputs)
        ]
        ocilib.write_file(args.spec_out, ocilib.canonical_json({"entries": entries}))


if __name__ == "__main__":
    ocilib.run_main(main)
