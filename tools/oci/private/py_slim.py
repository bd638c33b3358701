#!/usr/bin/env python3
"""Select the part of Debian's Python runtime that one service needs, as a plain tar.

    py_slim.py --arch amd64 --modules modules.tsv --interpreter usr/bin/python3.13
               --package NAME=DATA.tar [--package ...]
               [--control NAME=CONTROL]... [--md5sums NAME=MD5SUMS]...
               [--library libgcc_s.so.1]...
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
- every symlink on the way (libz.so.1 -> libz.so.1.3.1), the directories
  above each path, with their modes;
- the copyright file of each package a file is taken from, and, for those with
  --control, var/lib/dpkg/status.d/NAME (+ NAME.md5sums, limited to the files
  kept) so that scanners see what the image holds.

Paths are read with merged /usr (lib64/x is usr/lib64/x): images get the
bin, lib, lib64 and sbin symlinks from their base. The tar (members sorted,
modes from the packages, owners root, mtime 0) is meant for oci_layer(tars =
[...]), which normalises it. The report lists every kept path with its size,
package and reason. A module without its file, or a needed library that no
package has, is an error naming what needs it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import posixpath
import struct
import sys
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ocilib

FILE, DIR, SYMLINK = "file", "dir", "symlink"


@dataclass(frozen=True)
class Arch:
    triplet: str  # Debian multiarch triplet: usr/lib/<triplet>.
    machine: int  # ELF e_machine.


ARCHES = {
    "amd64": Arch("x86_64-linux-gnu", 62),  # EM_X86_64
    "arm64": Arch("aarch64-linux-gnu", 183),  # EM_AARCH64
}
# Top-level directories that are symlinks into /usr on a merged-/usr system.
MERGED_USR = frozenset({"bin", "sbin", "lib", "lib64", "lib32", "libx32"})
MAX_SYMLINK_HOPS = 40


class SlimError(ocilib.OciError):
    """Something the runtime needs is not in the packages (or the inputs are wrong)."""


# --- ELF ------------------------------------------------------------------------------

PT_DYNAMIC, PT_INTERP, PT_LOAD = 2, 3, 1
DT_NULL, DT_NEEDED, DT_STRTAB, DT_RPATH, DT_RUNPATH = 0, 1, 5, 15, 29
_ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_PROGRAM_HEADER = struct.Struct("<IIQQQQQQ")
_DYNAMIC_ENTRY = struct.Struct("<qQ")


@dataclass(frozen=True)
class Elf:
    machine: int
    interpreter: str | None  # PT_INTERP, e.g. /lib64/ld-linux-x86-64.so.2
    needed: tuple[str, ...]  # DT_NEEDED, in order.
    search_path: tuple[str, ...]  # DT_RUNPATH, else DT_RPATH, split at ":".


@dataclass(frozen=True)
class _Segment:
    kind: int
    offset: int
    vaddr: int
    filesz: int


def is_elf(data: bytes) -> bool:
    return data[:4] == b"\x7fELF"


def parse_elf(data: bytes, where: str) -> Elf:
    """The dynamic-linking facts of an ELF64 little-endian file (x86-64, AArch64)."""
    if len(data) < _ELF_HEADER.size or not is_elf(data):
        raise SlimError(f"{where}: not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise SlimError(f"{where}: only 64-bit little-endian ELF files are supported")
    header = _ELF_HEADER.unpack_from(data)
    machine, phoff, phentsize, phnum = header[2], header[5], header[9], header[10]
    segments = [_segment(data, phoff + i * phentsize, where) for i in range(phnum)]
    interpreter = None
    for segment in segments:
        if segment.kind == PT_INTERP:
            raw = _read(data, segment.offset, segment.filesz, where)
            interpreter = raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    dynamic = [s for s in segments if s.kind == PT_DYNAMIC]
    if not dynamic:
        return Elf(machine, interpreter, (), ())  # Statically linked.
    entries = _dynamic_entries(data, dynamic[0], where)
    strtab = _file_offset(segments, _only(entries, DT_STRTAB, where), where)
    needed = tuple(
        _string(data, strtab + v, where) for tag, v in entries if tag == DT_NEEDED
    )
    paths = [
        _string(data, strtab + v, where) for tag, v in entries if tag == DT_RUNPATH
    ]
    if not paths:  # DT_RPATH counts only without DT_RUNPATH.
        paths = [
            _string(data, strtab + v, where) for tag, v in entries if tag == DT_RPATH
        ]
    search = tuple(d for p in paths for d in p.split(":") if d)
    return Elf(machine, interpreter, needed, search)


def _segment(data: bytes, offset: int, where: str) -> _Segment:
    if offset + _PROGRAM_HEADER.size > len(data):
        raise SlimError(f"{where}: truncated ELF program header table")
    kind, _, p_offset, vaddr, _, filesz, _, _ = _PROGRAM_HEADER.unpack_from(
        data, offset
    )
    return _Segment(kind, p_offset, vaddr, filesz)


def _dynamic_entries(
    data: bytes, segment: _Segment, where: str
) -> list[tuple[int, int]]:
    entries = []
    raw = _read(data, segment.offset, segment.filesz, where)
    for tag, value in _DYNAMIC_ENTRY.iter_unpack(
        raw[: len(raw) - len(raw) % _DYNAMIC_ENTRY.size]
    ):
        if tag == DT_NULL:
            break
        entries.append((tag, value))
    return entries


def _only(entries: list[tuple[int, int]], wanted: int, where: str) -> int:
    values = [value for tag, value in entries if tag == wanted]
    if len(values) != 1:
        raise SlimError(
            f"{where}: expected one dynamic entry {wanted}, found {len(values)}"
        )
    return values[0]


def _file_offset(segments: list[_Segment], vaddr: int, where: str) -> int:
    """File offset of a virtual address, through the PT_LOAD segment that maps it."""
    for s in segments:
        if s.kind == PT_LOAD and s.vaddr <= vaddr < s.vaddr + s.filesz:
            return vaddr - s.vaddr + s.offset
    raise SlimError(f"{where}: address {vaddr:#x} is in no loadable segment")


def _read(data: bytes, offset: int, size: int, where: str) -> bytes:
    if offset + size > len(data):
        raise SlimError(f"{where}: ELF segment beyond the end of the file")
    return data[offset : offset + size]


def _string(data: bytes, offset: int, where: str) -> str:
    end = data.find(b"\0", offset)
    if offset >= len(data) or end < 0:
        raise SlimError(f"{where}: ELF string table entry beyond the end of the file")
    return data[offset:end].decode("utf-8", "surrogateescape")


# --- packages -------------------------------------------------------------------------


def canonical(path: str) -> str:
    """Relative, normalized, merged-/usr path: /lib64/x -> usr/lib64/x."""
    path = posixpath.normpath("/" + path).lstrip("/")
    if path.split("/", 1)[0] in MERGED_USR:
        path = "usr/" + path
    return path


@dataclass(frozen=True)
class Entry:
    path: str
    kind: str
    mode: int
    size: int
    target: str  # Symlinks: the link text.
    package: str
    member: tarfile.TarInfo | None = field(compare=False, repr=False)


class Packages:
    """Every path of the package data tars, merged; file contents read on demand."""

    def __init__(self, tars: dict[str, str], stack: contextlib.ExitStack):
        self.entries: dict[str, Entry] = {}
        self._tars: dict[str, tarfile.TarFile] = {}
        for package, path in tars.items():
            tar = tarfile.open(path)  # noqa: SIM115 - closed by the caller's stack
            self._tars[package] = stack.enter_context(tar)
            for member in self._tars[package]:
                self._add(package, member)

    def _add(self, package: str, member: tarfile.TarInfo) -> None:
        path = canonical(member.name)
        if path in ("", "."):
            return
        if member.isdir():
            entry = Entry(path, DIR, member.mode, 0, "", package, None)
        elif member.issym():
            entry = Entry(path, SYMLINK, 0o777, 0, member.linkname, package, None)
        elif member.isfile() or member.islnk():
            entry = Entry(path, FILE, member.mode, member.size, "", package, member)
        else:
            return  # Devices and FIFOs: Debian data tars have none that matter here.
        known = self.entries.get(path)
        if known is None:
            self.entries[path] = entry
        elif not (known.kind == DIR and entry.kind == DIR):
            raise SlimError(
                f"/{path} is in two packages: {known.package} and {package}"
            )

    def read(self, entry: Entry) -> bytes:
        assert entry.member is not None
        stream = self._tars[entry.package].extractfile(entry.member)
        assert stream is not None
        return stream.read()

    def resolve(self, path: str) -> tuple[str, list[str]] | None:
        """(final path, symlinks passed on the way), or None if some part is missing."""
        pending = canonical(path).split("/")
        current = ""
        links: list[str] = []
        while pending:
            candidate = posixpath.join(current, pending.pop(0))
            entry = self.entries.get(candidate)
            if entry is None and not pending:
                return None
            if entry is None or entry.kind != SYMLINK:
                current = candidate  # A directory, perhaps one no tar lists.
                continue
            links.append(candidate)
            if len(links) > MAX_SYMLINK_HOPS:
                raise SlimError(f"/{path}: too many levels of symbolic links")
            base = "" if entry.target.startswith("/") else current
            pending = canonical(posixpath.join(base, entry.target)).split("/") + pending
            current = ""
        return current, links


# --- selection ------------------------------------------------------------------------


@dataclass(frozen=True)
class Module:
    name: str
    kind: str  # builtin, frozen, source, extension, app
    path: str  # Below the standard library; "-" if none.
    reason: str


@dataclass(frozen=True)
class ModuleList:
    stdlib: str  # e.g. usr/lib/python3.13
    multiarch: str  # The probing interpreter's triplet.
    modules: list[Module]


def read_modules(text: str, where: str) -> ModuleList:
    header: dict[str, str] = {}
    modules = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("#"):
            key, _, value = line[1:].strip().partition(" ")
            header.setdefault(key, value)
            continue
        fields = line.split("\t")
        if len(fields) != 4:
            raise SlimError(f"{where}:{number}: expected module, kind, path, reason")
        modules.append(Module(*fields))
    if "stdlib" not in header or "multiarch" not in header:
        raise SlimError(
            f"{where}: no '# stdlib' and '# multiarch' lines (not py_slim_probe.py's?)"
        )
    return ModuleList(canonical(header["stdlib"]), header["multiarch"], modules)


def module_file(
    module: Module, stdlib: str, probe_triplet: str, triplet: str
) -> str | None:
    """The package path of a module's file for the target architecture, or None."""
    if module.kind not in ("builtin", "app", "frozen", "source", "extension"):
        raise SlimError(f"module {module.name}: unknown kind {module.kind!r}")
    if module.kind in ("builtin", "app") or module.path == "-":
        return None
    # Extension modules and _sysconfigdata__linux_TRIPLET carry it in their names.
    return posixpath.join(stdlib, module.path.replace(probe_triplet, triplet))


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


def library_dirs(elf: Elf, path: str, triplet: str) -> list[str]:
    """Where ld.so looks for a DT_NEEDED name of `path` when there is no ld.so.cache."""
    origin = "/" + posixpath.dirname(path)
    dirs = [
        d.replace("$ORIGIN", origin).replace("${ORIGIN}", origin)
        for d in elf.search_path
    ]
    return [canonical(d) for d in dirs] + [f"usr/lib/{triplet}", "usr/lib"]


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
    packages, arch = selection.packages, selection.arch
    default_dirs = [f"usr/lib/{arch.triplet}", "usr/lib"]
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
            if is_elf(data):
                _select_needs(selection, entry.path, parse_elf(data, f"/{entry.path}"))


def _select_needs(selection: Selection, path: str, elf: Elf) -> None:
    packages, arch = selection.packages, selection.arch
    if elf.machine != arch.machine:
        raise SlimError(
            f"/{path} is built for ELF machine {elf.machine}, not {arch.triplet}"
        )
    if elf.interpreter:
        if packages.resolve(elf.interpreter) is None:
            raise SlimError(
                f"/{path} needs its loader {elf.interpreter} (PT_INTERP), "
                "which none of the packages has"
            )
        selection.add(elf.interpreter, f"dynamic loader of /{path} (PT_INTERP)")
    dirs = library_dirs(elf, path, arch.triplet)
    for name in elf.needed:
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


# --- dpkg status ----------------------------------------------------------------------

STATUS_DIR = "var/lib/dpkg/status.d"


def status_entry(control: str, where: str) -> str:
    """A control paragraph with dpkg's "Status: install ok installed" after Package."""
    lines = [
        line
        for line in control.strip("\n").split("\n")
        if not line.startswith("Status:")
    ]
    for number, line in enumerate(lines):
        if line.startswith("Package:"):
            lines.insert(number + 1, "Status: install ok installed")
            return "\n".join(lines) + "\n"
    raise SlimError(f"{where}: no Package field")


def kept_md5sums(md5sums: str, kept: set[str]) -> str:
    """The md5sums lines ("HASH  path") of the files kept."""
    lines = [
        line
        for line in md5sums.splitlines()
        if canonical(line.split("  ", 1)[-1]) in kept
    ]
    return "".join(line + "\n" for line in lines)


def status_files(
    selection: Selection, controls: dict[str, str], md5sums: dict[str, str]
) -> dict[str, bytes]:
    kept = {e.path for e in selection.kept(FILE)}
    files = {}
    for package in contributing_packages(selection):
        if package in controls:
            text = Path(controls[package]).read_text(encoding="utf-8")
            files[f"{STATUS_DIR}/{package}"] = status_entry(
                text, controls[package]
            ).encode()
        if package in md5sums:
            text = Path(md5sums[package]).read_text(encoding="utf-8")
            files[f"{STATUS_DIR}/{package}.md5sums"] = kept_md5sums(text, kept).encode()
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


def report(selection: Selection, modules: ModuleList, extra: dict[str, bytes]) -> str:
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
        select_libraries(selection, args.library)
        select_copyrights(selection)
        extra = status_files(
            selection,
            _named(args.control, "--control"),
            _named(args.md5sums, "--md5sums"),
        )
        write_tar(args.output, selection, extra)
    ocilib.write_file(args.report, report(selection, modules, extra).encode("utf-8"))


if __name__ == "__main__":
    ocilib.run_main(main)
