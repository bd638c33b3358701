#!/usr/bin/env python3
"""Select the part of Debian's Python runtime that one service needs, as a plain tar.

    py_slim.py --arch amd64 --modules modules.tsv --interpreter usr/bin/python3.13
               --package NAME=DATA.tar [--package ...]
               [--control NAME=CONTROL]... [--md5sums NAME=MD5SUMS]...
               [--library libgcc_s.so.1]... [--app-layer LAYER.tar.gz]...
               --output runtime.tar --report report.txt

Inputs are the data tars of Debian packages for ONE architecture (the
interpreter, its standard library, libc and the other shared libraries) and
the module list py_slim_probe.py recorded. Kept, each with the reason it is:

- the interpreter;
- the file of every standard-library module in the list: NAME.py or
  NAME/__init__.py (frozen modules too: os.py is the landmark by which Python
  finds its prefix), and lib-dynload/NAME.cpython-3XX-TRIPLET.so for
  extension modules, renamed for --arch's triplet; lib-dynload itself (the
  landmark of the platform prefix); builtin modules need no file;
- every shared library those ELF files need (DT_NEEDED, transitively,
  searched as ld.so does without a cache: DT_RUNPATH/DT_RPATH, then
  usr/lib/TRIPLET and usr/lib), their dynamic loader (PT_INTERP), and the
  --library ones, which are dlopen()ed rather than linked;
- the shared libraries the ELF files of the --app-layer tars need (the
  service's layers for --arch: extension modules of compiled distributions,
  such as pydantic-core's, which needs libgcc_s.so.1, libpthread.so.0 and
  libdl.so.2), unless the layers hold them themselves (a wheel's bundled
  libraries, found through its RUNPATH); an ELF file there built for another
  architecture is an error;
- every symlink on the way (libz.so.1 -> libz.so.1.3.1), the directories
  above each path, with their modes;
- the copyright file of each package a file is taken from, and, for those with
  --control, var/lib/dpkg/status.d/NAME (+ NAME.md5sums, limited to the files
  kept) so that scanners see what the image holds.

Paths are read with merged /usr (lib64/x is usr/lib64/x): images get the
bin, lib, lib64 and sbin symlinks from their base. The tar (members sorted,
modes from the packages, owners root, mtime 0) is meant for oci_layer(tars =
[...]), which normalises it. The report lists every kept path with its size,
package and reason, then every file and symlink of the packages left out
(reason "left out"). A module without its file, or a needed library that no
package has, is an error naming what needs it.

The selection is this file; beside it are packages.py (the merged tree of
the package tars), module_list.py (the probe's list) and arches.py (the
architectures); ELF files are read by //tools/elf and status entries written
by //tools/debian's dpkg_status.py, as the bases' are.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import posixpath
import sys
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpkg_status
import elf
import ocilib
import ocireader
from rootfs import FILE as ROOT_FILE
from rootfs import RootFs
from arches import ARCHES, Arch
from module_list import ModuleList, module_file, read_modules
from packages import DIR, FILE, SYMLINK, Entry, Packages, canonical
from slim_error import SlimError


@dataclass
class Selection:
    """Kept paths -> the reason each is kept (the first one given)."""

    packages: Packages
    arch: Arch
    reasons: dict[str, str] = field(default_factory=dict)

    def add(self, path: str, reason: str) -> str:
        """Keep a path, the symlinks to it and its directories; return its final path."""
        resolved = self.packages.resolve(path)
        if resolved is None:
            raise SlimError(f"/{canonical(path)} ({reason}) is in none of the packages")
        final, links = resolved
        for link in links:
            self._keep(link, f"symlink on the way to /{final}: {reason}")
        self._keep(final, reason)
        return final

    def _keep(self, path: str, reason: str) -> None:
        self.reasons.setdefault(path, reason)
        parent = posixpath.dirname(path)
        while parent:
            if parent in self.packages.entries:  # Else layer.py makes it (0755).
                self.reasons.setdefault(parent, "directory")
            parent = posixpath.dirname(parent)

    def kept(self, kind: str) -> list[Entry]:
        entries = (self.packages.entries[p] for p in sorted(self.reasons))
        return [e for e in entries if e.kind == kind]


def select_modules(selection: Selection, modules: ModuleList) -> None:
    triplet = selection.arch.triplet
    for module in modules.modules:
        path = module_file(module, modules.stdlib, modules.multiarch, triplet)
        if path is None:
            continue
        if selection.packages.resolve(path) is None:
            raise SlimError(
                f"module {module.name} ({module.reason}) needs /{path}, "
                "which none of the packages has"
            )
        selection.add(path, f"module {module.name} ({module.reason})")
    # Landmarks: without os.py Python cannot find its prefix, without lib-dynload its
    # exec prefix (it warns and guesses).
    selection.add(posixpath.join(modules.stdlib, "os.py"), "landmark of sys.prefix")
    selection.add(
        posixpath.join(modules.stdlib, "lib-dynload"), "landmark of sys.exec_prefix"
    )


def default_library_dirs(arch: Arch) -> list[str]:
    """Where ld.so looks after DT_RUNPATH when there is no ld.so.cache."""
    return [f"usr/lib/{arch.triplet}", "usr/lib"]


def library_dirs(file: elf.Elf, path: str, arch: Arch) -> list[str]:
    """Where ld.so looks for a DT_NEEDED name of `path` when there is no ld.so.cache."""
    dirs = elf.runpath_dirs(file, "/" + path)
    return [canonical(d) for d in dirs] + default_library_dirs(arch)


def find_library(packages: Packages, name: str, dirs: list[str]) -> str | None:
    if "/" in name:
        return canonical(name) if packages.resolve(name) else None
    for directory in dirs:
        candidate = posixpath.join(directory, name)
        if packages.resolve(candidate) is not None:
            return candidate
    return None


def select_libraries(selection: Selection, libraries: list[str]) -> None:
    """Add the shared libraries and loaders every kept ELF file needs, transitively."""
    packages = selection.packages
    default_dirs = default_library_dirs(selection.arch)
    for name in libraries:
        found = find_library(packages, name, default_dirs)
        if found is None:
            raise SlimError(
                f"library {name} (--library) is in none of the packages "
                f"under /{', /'.join(default_dirs)}"
            )
        selection.add(found, f"{name}: dlopen()ed at run time (--library)")
    scanned: set[str] = set()
    while pending := [e for e in selection.kept(FILE) if e.path not in scanned]:
        for entry in pending:
            scanned.add(entry.path)
            data = packages.read(entry)
            if elf.is_elf(data):
                _select_needs(selection, entry.path, _parse_elf(data, entry.path))


def select_app_libraries(selection: Selection, layers: list[str]) -> None:
    """Add the package libraries the service's own ELF files need, transitively
    through the libraries its layers bundle."""
    app = RootFs()
    for number, layer in enumerate(layers):
        with ocireader.open_layer_tar(layer) as tar:
            app.apply(tar, number, lambda path, head: elf.is_elf(head))
    pending = [(path, node.data) for path, node in app.files() if node.data is not None]
    done: set[str] = set()
    while pending:
        path, data = pending.pop(0)
        if path in done:
            continue
        done.add(path)
        file = _parse_elf(data, path)
        if file.machine != selection.arch.machine:
            raise SlimError(
                f"/{path} (the service's layers) is built for ELF machine "
                f"{file.machine}, not {selection.arch.triplet}: give the layers "
                "built for the image's platform"
            )
        for name in file.needed:
            bundled = _bundled(app, file, path, name)
            if bundled is not None:
                node = app.node(bundled)
                if node is not None and node.kind == ROOT_FILE and node.data:
                    pending.append((app.resolve(bundled) or bundled, node.data))
                continue
            found = find_library(
                selection.packages, name, default_library_dirs(selection.arch)
            )
            if found is None:
                raise SlimError(
                    f"/{path} (the service's layers) needs {name} (DT_NEEDED), "
                    "which neither its layers nor the packages have"
                )
            selection.add(found, f"{name}: DT_NEEDED of /{path} (the service's layers)")


def _bundled(app: RootFs, file: elf.Elf, path: str, name: str) -> str | None:
    """Where the service's layers hold library `name` for `path`, if they do."""
    for directory in elf.runpath_dirs(file, "/" + path):
        candidate = posixpath.join(directory, name)
        if app.read(candidate) is not None:
            return candidate
    return None


def _parse_elf(data: bytes, path: str) -> elf.Elf:
    try:
        return elf.parse(data, f"/{path}")
    except elf.ElfError as error:
        raise SlimError(str(error)) from None


def _select_needs(selection: Selection, path: str, file: elf.Elf) -> None:
    packages, arch = selection.packages, selection.arch
    if file.machine != arch.machine:
        raise SlimError(
            f"/{path} is built for ELF machine {file.machine}, not {arch.triplet}"
        )
    if file.interpreter:
        if packages.resolve(file.interpreter) is None:
            raise SlimError(
                f"/{path} needs its loader {file.interpreter} (PT_INTERP), "
                "which none of the packages has"
            )
        selection.add(file.interpreter, f"dynamic loader of /{path} (PT_INTERP)")
    dirs = library_dirs(file, path, arch)
    for name in file.needed:
        found = find_library(packages, name, dirs)
        if found is None:
            raise SlimError(
                f"/{path} needs {name} (DT_NEEDED), "
                f"which none of the packages has in /{', /'.join(dirs)}"
            )
        selection.add(found, f"{name}: DT_NEEDED of /{path}")


def contributing_packages(selection: Selection) -> list[str]:
    """Packages a kept file or symlink comes from (directories are shared)."""
    return sorted({e.package for e in selection.kept(FILE) + selection.kept(SYMLINK)})


def select_copyrights(selection: Selection) -> None:
    """Each contributing package's copyright file (which may be another package's)."""
    done: set[str] = set()
    while pending := [p for p in contributing_packages(selection) if p not in done]:
        for package in pending:
            done.add(package)
            path = f"usr/share/doc/{package}/copyright"
            if selection.packages.resolve(path) is not None:
                selection.add(path, f"copyright of {package}")


STATUS_DIR = dpkg_status.STATUS_DIR


def status_files(
    selection: Selection, controls: dict[str, str], md5sums: dict[str, str]
) -> dict[str, bytes]:
    kept = {e.path for e in selection.kept(FILE)}
    files = {}
    for package in contributing_packages(selection):
        if package in controls:
            text = Path(controls[package]).read_text(encoding="utf-8")
            try:
                _, entry = dpkg_status.status_entry(text, controls[package])
            except dpkg_status.StatusError as error:
                raise SlimError(str(error)) from None
            files[f"{STATUS_DIR}/{package}"] = entry.encode()
        if package in md5sums:
            text = Path(md5sums[package]).read_text(encoding="utf-8")
            entry = dpkg_status.kept_md5sums(text, lambda path: canonical(path) in kept)
            files[f"{STATUS_DIR}/{package}.md5sums"] = entry.encode()
    return files


# --- output ---------------------------------------------------------------------------


def write_tar(output: str, selection: Selection, extra: dict[str, bytes]) -> None:
    """A plain tar of the kept paths and extra files: sorted, root-owned, mtime 0."""
    packages = selection.packages
    with tarfile.open(output, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(set(selection.reasons) | set(extra)):
            info = tarfile.TarInfo(path)
            info.uname = info.gname = ""
            if path in extra:
                info.size, info.mode = len(extra[path]), 0o644
                tar.addfile(info, io.BytesIO(extra[path]))
                continue
            entry = packages.entries[path]
            info.mode = entry.mode
            if entry.kind == DIR:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif entry.kind == SYMLINK:
                info.type, info.linkname = tarfile.SYMTYPE, entry.target
                tar.addfile(info)
            else:
                data = packages.read(entry)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


# The reason column of a path the packages hold and the image does not.
LEFT_OUT = "left out"


def report(
    selection: Selection, modules: ModuleList, extra: dict[str, bytes], arch: str
) -> str:
    entries = [selection.packages.entries[p] for p in sorted(selection.reasons)]
    files = [e for e in entries if e.kind == FILE]
    by_package: dict[str, int] = {}
    for e in files:
        by_package[e.package] = by_package.get(e.package, 0) + e.size
    builtin = [m.name for m in modules.modules if m.kind == "builtin"]
    lines = [
        (
            f"# {len(files)} files, {sum(e.size for e in files)} bytes, "
            f"from {len(by_package)} packages (+ {len(extra)} dpkg status files)"
        ),
        f"# architecture {arch}, multiarch {selection.arch.triplet}",
        *(f"# {size:>10}  {package}" for package, size in sorted(by_package.items())),
        f"# built into the interpreter (no file): {', '.join(builtin)}",
        "# path\ttype\tsize\tpackage\treason",
    ]
    for e in entries:
        what = f"{e.kind} -> {e.target}" if e.kind == SYMLINK else e.kind
        lines.append(
            f"/{e.path}\t{what}\t{e.size}\t{e.package}\t{selection.reasons[e.path]}"
        )
    lines += [
        f"/{path}\tfile\t{len(data)}\t-\tdpkg status"
        for path, data in sorted(extra.items())
    ]
    # What the packages hold and the image does not: the record a VEX statement
    # (tools/release/vex.py) reads to say "vulnerable code not present".
    left_out = [
        e
        for path, e in sorted(selection.packages.entries.items())
        if path not in selection.reasons and e.kind != DIR
    ]
    lines.append(
        f"# left out: {len(left_out)} files and symlinks of those packages "
        f"({sum(e.size for e in left_out if e.kind == FILE)} bytes)"
    )
    for e in left_out:
        what = f"{e.kind} -> {e.target}" if e.kind == SYMLINK else e.kind
        lines.append(f"/{e.path}\t{what}\t{e.size}\t{e.package}\t{LEFT_OUT}")
    return "\n".join(lines) + "\n"


def _named(values: Iterable[str], flag: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for value in values:
        name, path = ocilib.split_key_value(value, flag)
        if name in result:
            raise SlimError(f"{flag}: {name} given twice")
        result[name] = path
    return result


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="py_slim.py", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--arch", required=True, choices=sorted(ARCHES))
    parser.add_argument("--modules", required=True, help="py_slim_probe.py output")
    parser.add_argument("--interpreter", required=True, help="e.g. usr/bin/python3.13")
    parser.add_argument(
        "--package", action="append", required=True, help="NAME=DATA.tar"
    )
    parser.add_argument("--control", action="append", default=[], help="NAME=CONTROL")
    parser.add_argument("--md5sums", action="append", default=[], help="NAME=MD5SUMS")
    parser.add_argument(
        "--library", action="append", default=[], help="a dlopen()ed library"
    )
    parser.add_argument(
        "--app-layer",
        action="append",
        default=[],
        help="a layer of the service for --arch: the libraries its ELF files need are kept",
    )
    parser.add_argument("--output", required=True)
    parser.add_argument("--report", required=True)
    args = parser.parse_args(argv)
    modules = read_modules(Path(args.modules).read_text(encoding="utf-8"), args.modules)
    with contextlib.ExitStack() as stack:
        selection = Selection(
            Packages(_named(args.package, "--package"), stack), ARCHES[args.arch]
        )
        selection.add(args.interpreter, "the interpreter")
        select_modules(selection, modules)
        select_app_libraries(selection, args.app_layer)
        select_libraries(selection, args.library)
        select_copyrights(selection)
        extra = status_files(
            selection,
            _named(args.control, "--control"),
            _named(args.md5sums, "--md5sums"),
        )
        write_tar(args.output, selection, extra)
    ocilib.write_file(
        args.report, report(selection, modules, extra, args.arch).encode("utf-8")
    )


if __name__ == "__main__":
    ocilib.run_main(main)
