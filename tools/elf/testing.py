"""Tiny ELF64 little-endian files for tests: only what the dynamic loader reads.
And roots made of them (make_tar, make_root).

    make_elf(needed=("libc.so.6",), interp="/lib64/ld-linux-x86-64.so.2",
             version_needs=[("libc.so.6", "GLIBC_2.34")])

One PT_LOAD maps the whole file at `vaddr`; PT_INTERP and PT_DYNAMIC point
into it; the dynamic string table, the DT_VERNEED and DT_VERDEF tables follow
the program headers. No section headers, as a stripped file may have none.
`dynamic` adds or replaces dynamic entries, to make broken files.
"""

from __future__ import annotations

import io
import struct
import tarfile
from collections.abc import Callable

from elf import (
    DT_NEEDED,
    DT_NULL,
    DT_RPATH,
    DT_RUNPATH,
    DT_SONAME,
    DT_STRTAB,
    DT_VERDEF,
    DT_VERDEFNUM,
    DT_VERNEED,
    DT_VERNEEDNUM,
    EM_X86_64,
    PT_DYNAMIC,
    PT_INTERP,
    PT_LOAD,
    VER_FLG_BASE,
    VER_FLG_WEAK,
)

from rootfs import RootFs

_HEADER_SIZE, _PHDR_SIZE = 64, 56


class _Strings:
    def __init__(self) -> None:
        self.data = b"\0"

    def add(self, text: str) -> int:
        offset = len(self.data)
        self.data += text.encode() + b"\0"
        return offset


def _program_header(kind: int, offset: int, vaddr: int, size: int) -> bytes:
    return struct.pack("<IIQQQQQQ", kind, 4, offset, vaddr, vaddr, size, size, 8)


def _verneed(strings: _Strings, needs: list[tuple[str, str] | tuple[str, str, bool]]):
    """Elf64_Verneed records, one per library, each followed by its Vernaux."""
    libraries: dict[str, list[tuple[str, bool]]] = {}
    for need in needs:
        library, version, weak = (*need, False)[:3]
        libraries.setdefault(library, []).append((version, bool(weak)))
    table = b""
    for number, (library, versions) in enumerate(libraries.items()):
        size = 16 + 16 * len(versions)
        following = size if number < len(libraries) - 1 else 0
        table += struct.pack(
            "<HHIII", 1, len(versions), strings.add(library), 16, following
        )
        for index, (version, weak) in enumerate(versions):
            last = index == len(versions) - 1
            flags = VER_FLG_WEAK if weak else 0
            table += struct.pack(
                "<IHHII", 0, flags, 2 + index, strings.add(version), 0 if last else 16
            )
    return table, len(libraries)


def _verdef(strings: _Strings, soname: str | None, versions: list[str]):
    """Elf64_Verdef records: the base entry (the file's name), then one per version."""
    names = [(soname or "base", VER_FLG_BASE)] + [(v, 0) for v in versions]
    table = b""
    for index, (name, flags) in enumerate(names):
        following = 28 if index < len(names) - 1 else 0
        table += struct.pack("<HHHHIII", 1, flags, index + 1, 1, 0, 20, following)
        table += struct.pack("<II", strings.add(name), 0)
    return table, len(names)


def make_elf(
    needed: tuple[str, ...] = (),
    interp: str | None = None,
    runpath: str | None = None,
    machine: int = EM_X86_64,
    rpath: str | None = None,
    vaddr: int = 0x400000,
    soname: str | None = None,
    version_needs: list[tuple[str, str] | tuple[str, str, bool]] | None = None,
    version_defs: list[str] | None = None,
    dynamic: dict[int, int] | None = None,
) -> bytes:
    """A minimal ELF64 LE file; version_needs are (library, version[, weak])."""
    strings = _Strings()
    entries = [(DT_NEEDED, strings.add(name)) for name in needed]
    if runpath is not None:
        entries.append((DT_RUNPATH, strings.add(runpath)))
    if rpath is not None:
        entries.append((DT_RPATH, strings.add(rpath)))
    if soname is not None:
        entries.append((DT_SONAME, strings.add(soname)))
    verneed, verneed_count = _verneed(strings, version_needs or [])
    verdef, verdef_count = (
        _verdef(strings, soname, version_defs) if version_defs is not None else (b"", 0)
    )
    interp_bytes = interp.encode() + b"\0" if interp else b""
    phnum = 2 + bool(interp)
    interp_off = _HEADER_SIZE + phnum * _PHDR_SIZE
    strtab_off = interp_off + len(interp_bytes)
    # Version tables are 4-byte aligned after the strings.
    verneed_off = (strtab_off + len(strings.data) + 3) & ~3
    verdef_off = verneed_off + len(verneed)
    if verneed_count:
        entries += [(DT_VERNEED, vaddr + verneed_off), (DT_VERNEEDNUM, verneed_count)]
    if verdef_count:
        entries += [(DT_VERDEF, vaddr + verdef_off), (DT_VERDEFNUM, verdef_count)]
    entries.append((DT_STRTAB, vaddr + strtab_off))
    for tag, value in (dynamic or {}).items():
        entries = [(t, v) for t, v in entries if t != tag] + [(tag, value)]
    entries.append((DT_NULL, 0))
    dyn_off = (verdef_off + len(verdef) + 7) & ~7
    dyn = b"".join(struct.pack("<qQ", tag, value) for tag, value in entries)
    total = dyn_off + len(dyn)
    phdrs = _program_header(PT_LOAD, 0, vaddr, total)
    if interp:
        phdrs += _program_header(
            PT_INTERP, interp_off, vaddr + interp_off, len(interp_bytes)
        )
    phdrs += _program_header(PT_DYNAMIC, dyn_off, vaddr + dyn_off, len(dyn))
    ident = b"\x7fELF\x02\x01\x01" + bytes(9)
    fields = (3, machine, 1, 0, _HEADER_SIZE, 0, 0, _HEADER_SIZE, _PHDR_SIZE, phnum)
    header = struct.pack("<16sHHIQQQIHHHHHH", ident, *fields, _HEADER_SIZE, 0, 0)
    data = header + phdrs + interp_bytes + strings.data
    data += bytes(verneed_off - len(data)) + verneed + verdef
    return data + bytes(dyn_off - len(data)) + dyn


def make_tar(entries: list[tuple[str, object]]) -> bytes:
    """(name, bytes) a file; (name, "->target") a symlink; (name, "=>target") a
    hardlink; (name, None) a directory."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, value in entries:
            info = tarfile.TarInfo(name)
            if value is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif isinstance(value, str) and value.startswith("->"):
                info.type, info.linkname = tarfile.SYMTYPE, value[2:]
                tar.addfile(info)
            elif isinstance(value, str) and value.startswith("=>"):
                info.type, info.linkname = tarfile.LNKTYPE, value[2:]
                tar.addfile(info)
            else:
                assert isinstance(value, bytes)
                info.size, info.mode = len(value), 0o644
                tar.addfile(info, io.BytesIO(value))
    return buffer.getvalue()


def make_root(
    *layers: list[tuple[str, object]],
    keep: Callable[[str, bytes], bool] = lambda path, head: True,
) -> RootFs:
    """A RootFs of make_tar layers, applied in order."""
    root = RootFs()
    for number, entries in enumerate(layers):
        with tarfile.open(fileobj=io.BytesIO(make_tar(entries))) as tar:
            root.apply(tar, number, keep)
    return root
