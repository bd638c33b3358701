"""/etc/ld.so.cache, in the format glibc's ldconfig writes and ld.so reads.

    data = write([Entry("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", flags_for(EM_X86_64))])
    read(data)  # [Entry("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", 0x303)]

The "new" format of glibc 2.32 and later (glibc-ld.so.cache1.1, little
endian), without the old libc5 header in front:

    header   magic "glibc-ld.so.cache" "1.1", nlibs, len_strings, flags (2:
             little endian), 3 bytes padding, extension_offset, 3 unused words
    entries  nlibs x {int32 flags, uint32 key, uint32 value, uint32 osversion,
             uint64 hwcap}; key (the SONAME) and value (the path) are offsets
             of NUL-terminated strings, counted from the start of the file
    strings  the paths, each once; a key is the tail of its path

Entries are sorted as ldconfig sorts them, because ld.so finds a name by
binary search: by name in descending order, numbers compared as numbers
(_dl_cache_libcmp), entries of one name in the order they were added. No
extension section is written (ldconfig's names the glibc that wrote it,
which would make the bytes depend on the build machine); ld.so needs none.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cmp_to_key

from elf import EM_AARCH64, EM_X86_64

MAGIC = b"glibc-ld.so.cache1.1"
_HEADER = struct.Struct("<20sIIB3xI12x")
_ENTRY = struct.Struct("<iIIIQ")
_ENDIAN_LITTLE = 2

# sysdeps/generic/ldconfig.h: a glibc (libc6) library, and its ABI.
FLAG_ELF_LIBC6 = 0x0003
FLAG_X8664_LIB64 = 0x0300
FLAG_AARCH64_LIB64 = 0x0A00
# e_machine -> the flags ld.so of that architecture accepts (_dl_cache_check_flags).
FLAGS = {
    EM_X86_64: FLAG_ELF_LIBC6 | FLAG_X8664_LIB64,
    EM_AARCH64: FLAG_ELF_LIBC6 | FLAG_AARCH64_LIB64,
}
# How `ldconfig -p` names them (and what ctypes.util.find_library looks for).
FLAG_NAMES = {
    FLAG_ELF_LIBC6 | FLAG_X8664_LIB64: "libc6,x86-64",
    FLAG_ELF_LIBC6 | FLAG_AARCH64_LIB64: "libc6,AArch64",
}


class LdCacheError(Exception):
    """Bytes that are not an ld.so.cache of this format; the message says why."""


@dataclass(frozen=True)
class Entry:
    key: str  # The name looked up: a SONAME, e.g. libc.so.6.
    value: str  # The absolute path ld.so opens.
    flags: int


def flags_for(machine: int) -> int:
    if machine not in FLAGS:
        raise LdCacheError(f"no ld.so.cache flags known for ELF machine {machine}")
    return FLAGS[machine]


def libcmp(left: str, right: str) -> int:
    """_dl_cache_libcmp: runs of digits compare as numbers, a digit sorts after
    anything else, other characters by their byte values."""
    a, b = left.encode(), right.encode()
    i = j = 0
    while i < len(a):
        if a[i : i + 1].isdigit():
            if j >= len(b) or not b[j : j + 1].isdigit():
                return 1
            start_i, start_j = i, j
            while i < len(a) and a[i : i + 1].isdigit():
                i += 1
            while j < len(b) and b[j : j + 1].isdigit():
                j += 1
            difference = int(a[start_i:i]) - int(b[start_j:j])
            if difference:
                return difference
        elif j < len(b) and b[j : j + 1].isdigit():
            return -1
        elif j >= len(b) or a[i] != b[j]:
            return a[i] - (b[j] if j < len(b) else 0)
        else:
            i += 1
            j += 1
    return 0 - (b[j] if j < len(b) else 0)


def _compare(e1: Entry, e2: Entry) -> int:
    """ldconfig's order: names descending, then flags descending."""
    by_name = libcmp(e2.key, e1.key)
    if by_name:
        return by_name
    return (e1.flags < e2.flags) - (e1.flags > e2.flags)


def sort_entries(entries: list[Entry]) -> list[Entry]:
    """Stable: entries that compare equal keep the order they were added in."""
    return sorted(entries, key=cmp_to_key(_compare))


def write(entries: list[Entry]) -> bytes:
    """The cache file holding `entries` (sorted here)."""
    ordered = sort_entries(entries)
    strings = bytearray()
    offsets: dict[str, int] = {}
    base = _HEADER.size + _ENTRY.size * len(ordered)
    for entry in ordered:
        if entry.value not in offsets:
            offsets[entry.value] = base + len(strings)
            strings += entry.value.encode("utf-8", "surrogateescape") + b"\0"
    records = bytearray()
    for entry in ordered:
        value = offsets[entry.value]
        if not entry.value.endswith("/" + entry.key):
            raise LdCacheError(
                f"{entry.value} is not a path to {entry.key}: the key must be its file name"
            )
        key = value + len(entry.value.encode()) - len(entry.key.encode())
        records += _ENTRY.pack(entry.flags, key, value, 0, 0)
    header = _HEADER.pack(MAGIC, len(ordered), len(strings), _ENDIAN_LITTLE, 0)
    return header + bytes(records) + bytes(strings)


def read(data: bytes) -> list[Entry]:
    """The entries of a cache file of the new format, in file order."""
    if len(data) < _HEADER.size or not data.startswith(MAGIC):
        raise LdCacheError("not an ld.so.cache of the glibc-ld.so.cache1.1 format")
    _, count, strings_size, endian, _ = _HEADER.unpack_from(data)
    if endian != _ENDIAN_LITTLE:
        raise LdCacheError(f"not a little-endian ld.so.cache (flags {endian})")
    if _HEADER.size + count * _ENTRY.size > len(data):
        raise LdCacheError(f"{count} entries do not fit in {len(data)} bytes")
    entries = []
    for number in range(count):
        flags, key, value, _, _ = _ENTRY.unpack_from(
            data, _HEADER.size + number * _ENTRY.size
        )
        entries.append(Entry(_string(data, key), _string(data, value), flags))
    return entries


def _string(data: bytes, offset: int) -> str:
    end = data.find(b"\0", offset)
    if offset >= len(data) or end < 0:
        raise LdCacheError(f"string offset {offset} is outside the file")
    return data[offset:end].decode("utf-8", "surrogateescape")
