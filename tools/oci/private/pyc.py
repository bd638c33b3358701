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
Starting an interpreter per file is slow, though (it was half of a clean image
build), so each file is compiled in a forked child of a fork server: one target
interpreter, started with only PYTHONHASHSEED=0 in its environment (frozenset
constants are ordered by string hashes), imports py_compile once and then forks one
child per file. The server itself never compiles, so every child starts from the
same state: the interpreter, py_compile and the server loop, nothing any other file
left behind. --jobs servers run in parallel.

Checked-hash .pyc files (PEP 552, the default) embed a hash of the source and are
revalidated against it, so they stay correct when a source changes and never depend
on file times. --spec-out writes a layer.py spec listing the .pyc files.
"""

from __future__ import annotations

import argparse
import os
import posixpath
import queue
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ocilib

_CHILD_ENV = {"PYTHONHASHSEED": "0"}
# The fork server; runs in the target interpreter as `python -S [-X no_debug_ranges]
# -c _SERVER MODE OPTIMIZE`. A request is one line on stdin, SRC NUL DFILE NUL
# CFILE; the answer, on stdout, is "ok\n", or "error LENGTH\n" and the LENGTH
# bytes the child wrote to stderr. The parent only reads, forks and waits: it
# compiles nothing, so every child compiles its one file from the same state. A
# child's stderr is a pipe of its own (its warnings are dropped on success, as
# they were when each file had an interpreter of its own), and it leaves by
# os._exit, which runs no cleanup that could touch the parent's buffers.
_SERVER = """\
import os, py_compile, sys
def serve(mode, optimize):
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    for request in requests:
        src, dfile, cfile = os.fsdecode(request[:-1]).split("\\0")
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.dup2(write_end, 2)
            os.close(read_end)
            os.close(write_end)
            status = 0
            try:
                py_compile.compile(src, cfile=cfile, dfile=dfile, doraise=True,
                                   optimize=optimize, invalidation_mode=mode)
            except py_compile.PyCompileError as e:
                status = 1
                sys.stderr.write(e.msg + "\\n")
            except BaseException:
                status = 1
                import traceback
                traceback.print_exc()
            sys.stderr.flush()
            os._exit(status)
        os.close(write_end)
        with open(read_end, "rb") as pipe:
            message = pipe.read()
        _, status = os.waitpid(pid, 0)
        if status == 0:
            answers.write(b"ok\\n")
        else:
            if not message.strip():
                message = b"the compiling process ended with wait status %d" % status
            answers.write(b"error %d\\n" % len(message) + message)
        answers.flush()
serve(py_compile.PycInvalidationMode[sys.argv[1]], int(sys.argv[2]))
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


@dataclass(frozen=True)
class Compilation:
    job: Job
    dfile: str  # The path the code objects name, e.g. /app/pkg/mod.py.
    cfile: Path  # Where the .pyc goes.


class _ForkServer:
    """One target interpreter that compiles each request in a forked child."""

    def __init__(
        self, python: str, invalidation: str, optimize: int, debug_ranges: bool
    ) -> None:
        args = [python, "-S"] + ([] if debug_ranges else ["-X", "no_debug_ranges"])
        args += ["-c", _SERVER, _INVALIDATION_MODES[invalidation], str(optimize)]
        self.python = python
        # A file, not a pipe: nobody reads the server's stderr while it runs.
        self.stderr = tempfile.TemporaryFile()
        try:
            self.process = subprocess.Popen(
                args,
                env=_CHILD_ENV,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.stderr,
            )
        except OSError as e:
            self.stderr.close()
            raise ocilib.OciError(f"cannot run target Python {python!r}: {e}") from e

    def compile(self, item: Compilation) -> str | None:
        """None, or why the source does not compile (the child's stderr)."""
        fields = [item.job.source, item.dfile, str(item.cfile)]
        request = b"\0".join(map(os.fsencode, fields)) + b"\n"
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(request)
            stdin.flush()
            answer = stdout.readline()
        except BrokenPipeError:
            answer = b""
        if answer == b"ok\n":
            return None
        if answer.startswith(b"error "):
            message = stdout.read(int(answer.split()[1]))
            return message.decode("utf-8", "replace")
        return f"the compiling process ({self.python}) ended: {self.close()}"

    def close(self) -> str:
        """Stops the server; returns what it wrote to stderr. Idempotent."""
        if not self.stderr.closed:
            for pipe in (self.process.stdin, self.process.stdout):
                try:
                    pipe.close()  # type: ignore[union-attr]
                except BrokenPipeError:
                    pass
            self.process.wait()
            self.stderr.seek(0)
            text = self.stderr.read().decode("utf-8", "replace").strip()
            self.stderr.close()
            self.exit_message = text or f"exit status {self.process.returncode}"
        return self.exit_message


def compile_all(
    python: str,
    items: list[Compilation],
    invalidation: str,
    optimize: int,
    debug_ranges: bool = True,
    jobs: int = 1,
) -> None:
    """Compiles every item, each in a process of its own forked from one of `jobs`
    fork servers; raises for the first item (in list order) that fails.

    debug_ranges=False compiles without the column positions (PEP 657) that
    tracebacks draw their ^^^ markers from: line numbers stay, the .pyc files
    are about a fifth smaller once compressed (python -X no_debug_ranges)."""
    for item in items:
        if "\n" in item.job.source + item.dfile + str(item.cfile):
            raise ocilib.OciError(f"{item.job.source!r}: a path holds a newline")
        item.cfile.parent.mkdir(parents=True, exist_ok=True)
    if not items:
        return
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(items)):
        todo.put(index)
    errors: dict[int, str] = {}
    crashes: list[BaseException] = []

    def work(server: _ForkServer) -> None:
        try:
            while True:
                try:
                    index = todo.get_nowait()
                except queue.Empty:
                    return
                error = server.compile(items[index])
                if error is not None:
                    errors[index] = error
                    if server.process.poll() is not None:
                        return  # This server is gone; the others take the rest.
        except BaseException as e:  # Re-raised below, in the main thread.
            crashes.append(e)
        finally:
            server.close()

    servers = [
        _ForkServer(python, invalidation, optimize, debug_ranges)
        for _ in range(max(1, min(jobs, len(items))))
    ]
    threads = [threading.Thread(target=work, args=(server,)) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if crashes:
        raise crashes[0]
    if errors:
        first = min(errors)
        raise ocilib.OciError(
            f"cannot compile {items[first].job.source!r}:\n{errors[first].strip()}"
        )
    for item in items:
        # py_compile copies the source's mode; the image wants 0644.
        os.chmod(item.cfile, 0o644)


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
    items = [
        Compilation(job, posixpath.join(prefix, job.rel), out_dir / outputs[job.rel])
        for job in jobs
    ]
    compile_all(
        args.python,
        items,
        args.invalidation,
        args.optimize,
        args.debug_ranges,
        args.jobs,
    )
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
