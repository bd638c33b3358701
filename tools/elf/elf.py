"""ELF files as the dynamic loader sees them, read from their program headers.

    identity = identify(data, "/usr/lib/x86_64-linux-gnu/libz.so.1")
    identity.machine == EM_X86_64 and identity.elf_class == ELFCLASS64

    library = parse(data, "/usr/lib/x86_64-linux-gnu/libz.so.1")
    library.soname, library.needed        # "libz.so.1", ("libc.so.6",)
    library.version_needs                 # (VersionNeed("libc.so.6", "GLIBC_2.14"), ...)
    library.version_defs                  # ("ZLIB_1.2.0", ..., "ZLIB_1.2.12")

`identify` reads the ELF header of any ELF file (32 or 64 bits, either byte
order), so a file built for another architecture can be named as such.
`parse` reads what linking needs: PT_INTERP, and from PT_DYNAMIC the
DT_NEEDED names, DT_SONAME, DT_RUNPATH (else DT_RPATH) and the symbol
versions: DT_VERNEED (the versions a file needs from each library, such as
GLIBC_2.34 or GLIBCXX_3.4.32) and DT_VERDEF (those a library defines). Like
ld.so it uses the dynamic segment, not section headers (which a stripped
file may lack), and it supports the ELF64 little-endian files of the
architectures the images are built for (x86-64, AArch64).

A file that is not ELF, or whose tables point outside it, is an ElfError
naming the file (`where`) and what is wrong.
"""

from __future__ import annotations

import posixpath
import struct
from dataclasses import dataclass

# e_ident[EI_CLASS], e_ident[EI_DATA], e_machine.
ELFCLASS32, ELFCLASS64 = 1, 2
ELFDATA2LSB, ELFDATA2MSB = 1, 2
EM_386, EM_ARM, EM_X86_64, EM_AARCH64, EM_RISCV = 3, 40, 62, 183, 243
MACHINE_NAMES = {
    EM_386: "i386",
    EM_ARM: "ARM",
    EM_X86_64: "x86-64",
    EM_AARCH64: "AArch64",
    EM_RISCV: "RISC-V",
}

PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
DT_NULL, DT_NEEDED, DT_STRTAB, DT_SONAME, DT_RPATH, DT_RUNPATH = 0, 1, 5, 14, 15, 29
DT_VERDEF, DT_VERDEFNUM, DT_VERNEED, DT_VERNEEDNUM = (
    0x6FFFFFFC,
    0x6FFFFFFD,
    0x6FFFFFFE,
    0x6FFFFFFF,
)
VER_FLG_BASE, VER_FLG_WEAK = 0x1, 0x2

_IDENT = struct.Struct("<4sBBB9xHH")  # e_ident, e_type, e_machine (read as LE)
_ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_PROGRAM_HEADER = struct.Struct("<IIQQQQQQ")
_DYNAMIC_ENTRY = struct.Struct("<qQ")
_VERNEED = struct.Struct("<HHIII")  # vn_version, vn_cnt, vn_file, vn_aux, vn_next
_VERNAUX = struct.Struct("<IHHII")  # vna_hash, vna_flags, vna_other, vna_name, vna_next
_VERDEF = struct.Struct(
    "<HHHHIII"
)  # vd_version, vd_flags, vd_ndx, vd_cnt, vd_hash, vd_aux, vd_next
_VERDAUX = struct.Struct("<II")  # vda_name, vda_next


class ElfError(Exception):
    """A file that cannot be read as ELF; the message names it."""


@dataclass(frozen=True)
class Identity:
    """What the ELF header says a file is built for."""

    elf_class: int  # ELFCLASS32 or ELFCLASS64.
    byte_order: int  # ELFDATA2LSB or ELFDATA2MSB.
    machine: int  # e_machine: EM_X86_64, EM_AARCH64, ...

    def __str__(self) -> str:
        bits = {ELFCLASS32: "32-bit", ELFCLASS64: "64-bit"}.get(
            self.elf_class, f"class {self.elf_class}"
        )
        order = {ELFDATA2LSB: "LSB", ELFDATA2MSB: "MSB"}.get(
            self.byte_order, f"data {self.byte_order}"
        )
        machine = MACHINE_NAMES.get(self.machine, f"machine {self.machine}")
        return f"ELF {bits} {order} {machine}"


@dataclass(frozen=True)
class VersionNeed:
    """One symbol version a file needs from one library (Elf64_Vernaux)."""

    library: str  # vn_file: the DT_NEEDED name it is needed from, e.g. libc.so.6.
    version: str  # e.g. GLIBC_2.34, GLIBCXX_3.4.32, CXXABI_1.3.15.
    weak: bool = False  # VER_FLG_WEAK: ld.so starts the program without it.


@dataclass(frozen=True)
class Elf:
    machine: int
    interpreter: str | None  # PT_INTERP, e.g. /lib64/ld-linux-x86-64.so.2
    needed: tuple[str, ...]  # DT_NEEDED, in order.
    search_path: tuple[str, ...]  # DT_RUNPATH, else DT_RPATH, split at ":".
    soname: str | None = None  # DT_SONAME.
    # search_path is DT_RPATH (the file has no DT_RUNPATH): ld.so searches it
    # before LD_LIBRARY_PATH, and DT_RUNPATH after.
    search_path_is_rpath: bool = False
    version_needs: tuple[VersionNeed, ...] = ()  # DT_VERNEED, in file order.
    # DT_VERDEF, without the base entry (which names the file itself).
    version_defs: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Segment:
    kind: int
    offset: int
    vaddr: int
    filesz: int


def is_elf(data: bytes) -> bool:
    return data[:4] == b"\x7fELF"


def identify(data: bytes, where: str) -> Identity:
    """The class, byte order and machine of any ELF file."""
    if len(data) < _IDENT.size or not is_elf(data):
        raise ElfError(f"{where}: not an ELF file")
    _, elf_class, byte_order, _, _, machine = _IDENT.unpack_from(data)
    if byte_order == ELFDATA2MSB:
        machine = int.from_bytes(data[18:20], "big")
    return Identity(elf_class, byte_order, machine)


def parse(data: bytes, where: str) -> Elf:
    """The dynamic-linking facts of an ELF64 little-endian file (x86-64, AArch64)."""
    if len(data) < _ELF_HEADER.size or not is_elf(data):
        raise ElfError(f"{where}: not an ELF file")
    if data[4] != ELFCLASS64 or data[5] != ELFDATA2LSB:
        raise ElfError(
            f"{where}: only 64-bit little-endian ELF files are supported, "
            f"this is {identify(data, where)}"
        )
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
    tables = _Tables(data, segments, _dynamic_entries(data, dynamic[0], where), where)
    runpaths = tables.strings(DT_RUNPATH)
    paths = runpaths or tables.strings(DT_RPATH)
    sonames = tables.strings(DT_SONAME)
    return Elf(
        machine=machine,
        interpreter=interpreter,
        needed=tuple(tables.strings(DT_NEEDED)),
        # DT_RPATH counts only without DT_RUNPATH.
        search_path=tuple(d for p in paths for d in p.split(":") if d),
        soname=sonames[0] if sonames else None,
        search_path_is_rpath=bool(paths) and not runpaths,
        version_needs=tables.version_needs(),
        version_defs=tables.version_defs(),
    )


def runpath_dirs(file: Elf, path: str) -> list[str]:
    """The DT_RUNPATH (or DT_RPATH) directories of the file at `path` (its
    absolute path in the image), with $ORIGIN expanded as ld.so does."""
    origin = posixpath.dirname(path)
    return [
        d.replace("$ORIGIN", origin).replace("${ORIGIN}", origin)
        for d in file.search_path
    ]


class _Tables:
    """The dynamic entries of one file and the tables they point to."""

    def __init__(
        self,
        data: bytes,
        segments: list[_Segment],
        entries: list[tuple[int, int]],
        where: str,
    ) -> None:
        self.data = data
        self.segments = segments
        self.entries = entries
        self.where = where
        self.strtab = self.offset(self._only(DT_STRTAB))

    def values(self, tag: int) -> list[int]:
        return [value for t, value in self.entries if t == tag]

    def _only(self, tag: int) -> int:
        values = self.values(tag)
        if len(values) != 1:
            raise ElfError(
                f"{self.where}: expected one dynamic entry {tag}, found {len(values)}"
            )
        return values[0]

    def offset(self, vaddr: int) -> int:
        """File offset of a virtual address, through the PT_LOAD segment that maps it."""
        for s in self.segments:
            if s.kind == PT_LOAD and s.vaddr <= vaddr < s.vaddr + s.filesz:
                return vaddr - s.vaddr + s.offset
        raise ElfError(f"{self.where}: address {vaddr:#x} is in no loadable segment")

    def string(self, index: int) -> str:
        offset = self.strtab + index
        end = self.data.find(b"\0", offset)
        if offset >= len(self.data) or end < 0:
            raise ElfError(
                f"{self.where}: ELF string table entry beyond the end of the file"
            )
        return self.data[offset:end].decode("utf-8", "surrogateescape")

    def strings(self, tag: int) -> list[str]:
        return [self.string(value) for value in self.values(tag)]

    def _table(self, tag: int, count_tag: int) -> tuple[int, int] | None:
        """(file offset, entry count) of a version table, None if absent."""
        if not self.values(tag):
            return None
        count = self._only(count_tag)
        # Each entry takes at least 16 bytes: a larger count is a corrupt file.
        if count > len(self.data) // 16:
            raise ElfError(
                f"{self.where}: dynamic entry {count_tag} counts {count} version "
                "entries, more than the file can hold"
            )
        return self.offset(self._only(tag)), count

    def _record(self, layout: struct.Struct, offset: int, what: str) -> tuple:
        if offset < 0 or offset + layout.size > len(self.data):
            raise ElfError(f"{self.where}: {what} beyond the end of the file")
        return layout.unpack_from(self.data, offset)

    def _chain(self, offset: int, count: int, layout: struct.Struct, what: str):
        """Yields (file offset, record) of `count` records linked by their last
        field (the offset of the next one, 0 after the last), as ld.so walks them."""
        for number in range(count):  # The count bounds the walk: no loop on bad links.
            record = self._record(layout, offset, what)
            yield offset, record
            following = record[-1]
            if following == 0 and number < count - 1:
                raise ElfError(
                    f"{self.where}: {what}: the chain ends after {number + 1} of "
                    f"{count} entries"
                )
            offset += following

    def version_needs(self) -> tuple[VersionNeed, ...]:
        table = self._table(DT_VERNEED, DT_VERNEEDNUM)
        if table is None:
            return ()
        needs = []
        what = "version need (DT_VERNEED)"
        for offset, (_, aux_count, file, aux, _) in self._chain(*table, _VERNEED, what):
            library = self.string(file)
            entries = self._chain(
                offset + aux, aux_count, _VERNAUX, f"{what} of {library}"
            )
            for _, (_, flags, _, name, _) in entries:
                weak = bool(flags & VER_FLG_WEAK)
                needs.append(VersionNeed(library, self.string(name), weak))
        return tuple(needs)

    def version_defs(self) -> tuple[str, ...]:
        table = self._table(DT_VERDEF, DT_VERDEFNUM)
        if table is None:
            return ()
        names = []
        what = "version definition (DT_VERDEF)"
        for offset, record in self._chain(*table, _VERDEF, what):
            _, flags, _, aux_count, _, aux, _ = record
            if aux_count < 1:
                raise ElfError(f"{self.where}: {what} without a name (vd_cnt 0)")
            # The first Verdaux names the version; the others name its parents.
            name, _ = self._record(_VERDAUX, offset + aux, f"{what} name")
            if not flags & VER_FLG_BASE:  # The base entry is the file's own name.
                names.append(self.string(name))
        return tuple(names)


def _segment(data: bytes, offset: int, where: str) -> _Segment:
    if offset + _PROGRAM_HEADER.size > len(data):
        raise ElfError(f"{where}: truncated ELF program header table")
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


def _read(data: bytes, offset: int, size: int, where: str) -> bytes:
    if offset + size > len(data):
        raise ElfError(f"{where}: ELF segment beyond the end of the file")
    return data[offset : offset + size]
