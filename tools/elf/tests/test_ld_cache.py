"""ld_cache.py: the order ld.so's binary search needs, and bytes it can read.

glibc's own reader (`ldconfig -p -C FILE`) reads what write() makes in
//tools/ldconfig/private:ldconfig_test; here the format is checked by hand.
"""

from __future__ import annotations

import struct

import ld_cache
import pytest
from elf import EM_AARCH64, EM_X86_64
from ld_cache import Entry, libcmp

X86 = ld_cache.flags_for(EM_X86_64)


@pytest.mark.parametrize(
    ("left", "right", "sign"),
    [
        ("libc.so.6", "libc.so.6", 0),
        ("libz.so.10", "libz.so.9", 1),  # Numbers as numbers, not as text.
        ("libz.so.1", "libz.so.1.3", -1),
        ("liba.so", "libb.so", -1),
        ("lib2.so", "libx.so", 1),  # A digit after anything else.
        ("libx.so", "lib2.so", -1),
    ],
)
def test_libcmp_compares_numbers_as_numbers(left: str, right: str, sign: int) -> None:
    result = libcmp(left, right)
    assert (result > 0) - (result < 0) == sign


def test_entries_are_sorted_by_name_descending_keeping_the_order_added() -> None:
    entries = [
        Entry("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", X86),
        Entry("libz.so.1", "/usr/local/lib/libz.so.1", X86),
        Entry("libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1", X86),
        Entry("libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6", X86),
    ]
    assert [e.value for e in ld_cache.sort_entries(entries)] == [
        "/usr/local/lib/libz.so.1",
        "/lib/x86_64-linux-gnu/libz.so.1",
        "/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/lib/x86_64-linux-gnu/libc.so.6",
    ]


def test_write_then_read_round_trips_in_ldconfig_order() -> None:
    entries = [
        Entry(
            "libc.so.6",
            "/lib/aarch64-linux-gnu/libc.so.6",
            ld_cache.flags_for(EM_AARCH64),
        ),
        Entry(
            "libz.so.1",
            "/lib/aarch64-linux-gnu/libz.so.1",
            ld_cache.flags_for(EM_AARCH64),
        ),
    ]
    data = ld_cache.write(entries)
    assert data.startswith(b"glibc-ld.so.cache1.1")
    count, strings, endian, extension = struct.unpack_from("<IIB3xI", data, 20)
    assert (count, endian, extension) == (2, 2, 0)  # Little endian, no extension.
    assert len(data) == 48 + 24 * 2 + strings
    assert ld_cache.read(data) == list(reversed(entries))
    # A key is the tail of its path: each path is stored once.
    assert data.count(b"libc.so.6") == 1
    assert ld_cache.write(list(reversed(entries))) == data


def test_bad_input_is_named() -> None:
    with pytest.raises(ld_cache.LdCacheError, match="not an ld.so.cache"):
        ld_cache.read(b"ld.so-1.7.0" + bytes(40))
    with pytest.raises(ld_cache.LdCacheError, match="do not fit"):
        ld_cache.read(struct.pack("<20sIIB3xI12x", ld_cache.MAGIC, 99, 0, 2, 0))
    with pytest.raises(ld_cache.LdCacheError, match="key must be its file name"):
        ld_cache.write([Entry("libc.so.6", "/lib/libm.so.6", X86)])
    with pytest.raises(ld_cache.LdCacheError, match="ELF machine 3"):
        ld_cache.flags_for(3)
