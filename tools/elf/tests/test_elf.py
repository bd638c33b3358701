"""elf.py on hand-made files (good and broken) and on real ones, checked against readelf.

The real files are the build root's own (its architecture) and libc6 and
libstdc++6 of the images' arm64 packages (ELF_PACKAGES: data tars), so both
architectures of the images are read.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import tarfile
from pathlib import Path

import elf
import pytest
from testing import make_elf

LOADER = "/lib64/ld-linux-x86-64.so.2"


# --- hand-made files -----------------------------------------------------------------


def test_parse_elf_reads_needed_interp_and_runpath() -> None:
    parsed = elf.parse(
        make_elf(("libz.so.1", "libc.so.6"), LOADER, "$ORIGIN/../lib"), "x"
    )
    assert parsed == elf.Elf(
        elf.EM_X86_64, LOADER, ("libz.so.1", "libc.so.6"), ("$ORIGIN/../lib",)
    )


def test_parse_elf_aarch64_and_static() -> None:
    assert elf.parse(make_elf(machine=elf.EM_AARCH64), "x").machine == elf.EM_AARCH64
    static = make_elf()[:64]  # No program headers at all.
    static = static[:56] + struct.pack("<H", 0) + static[58:]
    assert elf.parse(static, "x") == elf.Elf(elf.EM_X86_64, None, (), ())


def test_soname_and_symbol_versions() -> None:
    data = make_elf(
        ("libstdc++.so.6", "libc.so.6"),
        soname="libfoo.so.1",
        version_needs=[
            ("libc.so.6", "GLIBC_2.34"),
            ("libstdc++.so.6", "GLIBCXX_3.4.32"),
            ("libc.so.6", "GLIBC_2.2.5"),
            ("libstdc++.so.6", "CXXABI_1.3.15", True),
        ],
        version_defs=["FOO_1.0", "FOO_1.1"],
    )
    parsed = elf.parse(data, "libfoo.so.1")
    assert parsed.soname == "libfoo.so.1"
    assert parsed.version_needs == (
        elf.VersionNeed("libc.so.6", "GLIBC_2.34"),
        elf.VersionNeed("libc.so.6", "GLIBC_2.2.5"),
        elf.VersionNeed("libstdc++.so.6", "GLIBCXX_3.4.32"),
        elf.VersionNeed("libstdc++.so.6", "CXXABI_1.3.15", weak=True),
    )
    # The base entry (the file's own name) is not a version.
    assert parsed.version_defs == ("FOO_1.0", "FOO_1.1")


def test_identify_names_any_class_byte_order_and_machine() -> None:
    i386 = b"\x7fELF\x01\x01\x01" + bytes(9) + struct.pack("<HH", 3, elf.EM_386)
    identity = elf.identify(i386 + bytes(40), "x")
    assert identity == elf.Identity(elf.ELFCLASS32, elf.ELFDATA2LSB, elf.EM_386)
    assert str(identity) == "ELF 32-bit LSB i386"
    s390x = b"\x7fELF\x02\x02\x01" + bytes(9) + struct.pack(">HH", 3, 22)
    assert str(elf.identify(s390x + bytes(48), "x")) == "ELF 64-bit MSB machine 22"
    aarch64 = elf.identify(make_elf(machine=elf.EM_AARCH64), "x")
    assert str(aarch64) == "ELF 64-bit LSB AArch64"


def test_runpath_dirs_expand_origin() -> None:
    parsed = elf.parse(make_elf(runpath="$ORIGIN/../lib:${ORIGIN}:/opt/x"), "x")
    assert elf.runpath_dirs(parsed, "/app/site-packages/pkg/_ext.so") == [
        "/app/site-packages/pkg/../lib",
        "/app/site-packages/pkg",
        "/opt/x",
    ]


def _verneed_in_the_last_bytes() -> bytes:
    """DT_VERNEED 8 bytes before the end of the file: its record is cut short."""
    needs = [("libc.so.6", "GLIBC_2.34")]
    size = len(make_elf(version_needs=needs, dynamic={elf.DT_VERNEED: 0}))
    return make_elf(version_needs=needs, dynamic={elf.DT_VERNEED: 0x400000 + size - 8})


def _patched(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1
    return data.replace(old, new)


def _dynamic_entry(tag: int, value: int) -> bytes:
    return struct.pack("<qQ", tag, value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"#!/bin/sh\n" + bytes(64), "not an ELF file"),
        (b"\x7fELF", "not an ELF file"),
        (b"\x7fELF\x01\x01" + bytes(64), "only 64-bit little-endian"),
        (make_elf(("libz.so.1",))[:120], "truncated"),
        (make_elf(("libz.so.1",))[:-40], "ELF segment beyond the end of the file"),
        (
            make_elf(dynamic={elf.DT_STRTAB: 0x10}),
            "address 0x10 is in no loadable segment",
        ),
        (
            make_elf(("libz.so.1",), dynamic={elf.DT_NEEDED: 1 << 20}),
            "string table entry beyond the end of the file",
        ),
        (
            make_elf(
                version_needs=[("libc.so.6", "GLIBC_2.34")],
                dynamic={elf.DT_VERNEEDNUM: 2},
            ),
            r"version need \(DT_VERNEED\): the chain ends after 1 of 2 entries",
        ),
        (
            make_elf(
                version_needs=[("libc.so.6", "GLIBC_2.34")],
                dynamic={elf.DT_VERNEED: 0x400000 + 0x10000},
            ),
            "address 0x410000 is in no loadable segment",
        ),
        (
            make_elf(
                version_needs=[("libc.so.6", "GLIBC_2.34")],
                dynamic={elf.DT_VERNEEDNUM: 1 << 40},
            ),
            "more than the file can hold",
        ),
        (
            _verneed_in_the_last_bytes(),
            r"version need \(DT_VERNEED\) beyond the end of the file",
        ),
        (
            make_elf(version_defs=["V1"], dynamic={elf.DT_VERDEFNUM: 7}),
            r"version definition \(DT_VERDEF\): the chain ends after 2 of 7",
        ),
    ],
    ids=[
        "shell script",
        "magic only",
        "32-bit",
        "program headers cut",
        "dynamic segment cut",
        "string table unmapped",
        "string beyond the end",
        "version needs count too high",
        "version needs unmapped",
        "version needs cut",
        "version needs count absurd",
        "version definitions count too high",
    ],
)
def test_broken_files_are_named_with_what_is_wrong(data: bytes, message: str) -> None:
    with pytest.raises(elf.ElfError, match=message) as error:
        elf.parse(data, "/usr/lib/libbroken.so")
    assert str(error.value).startswith("/usr/lib/libbroken.so: ")


def test_two_string_tables_are_an_error() -> None:
    data = make_elf()
    strtab = next(v for t, v in _entries(data) if t == elf.DT_STRTAB)
    broken = _patched(
        data,
        _dynamic_entry(elf.DT_STRTAB, strtab) + _dynamic_entry(elf.DT_NULL, 0),
        _dynamic_entry(elf.DT_STRTAB, strtab) + _dynamic_entry(elf.DT_STRTAB, strtab),
    )
    with pytest.raises(elf.ElfError, match="expected one dynamic entry 5, found 2"):
        elf.parse(broken, "x")


def test_a_version_definition_needs_a_name() -> None:
    data = make_elf(version_defs=["V1"])
    # vd_cnt of the first Verdef (base entry: flags 1, index 1, count 1) becomes 0.
    broken = _patched(
        data, struct.pack("<HHHH", 1, 1, 1, 1), struct.pack("<HHHH", 1, 1, 1, 0)
    )
    with pytest.raises(
        elf.ElfError, match=r"version definition \(DT_VERDEF\) without a name"
    ):
        elf.parse(broken, "x")


def _entries(data: bytes) -> list[tuple[int, int]]:
    """The dynamic entries of a make_elf file (its last segment)."""
    offset = struct.unpack_from("<Q", data, 64 + 56 + 8)[0]  # PT_DYNAMIC's p_offset.
    return list(struct.iter_unpack("<qQ", data[offset:]))


# --- real files, against readelf -----------------------------------------------------


def readelf(path: Path) -> elf.Elf:
    """The same facts as binutils' readelf prints them."""
    tool = shutil.which("readelf")
    if tool is None:
        pytest.skip("readelf not installed (apt-get install binutils)")
    text = subprocess.run(
        [tool, "--wide", "-h", "-l", "-d", "-V", str(path)],
        capture_output=True,
        text=True,
        check=True,
        env={"LC_ALL": "C"},
    ).stdout
    machines = {
        "Advanced Micro Devices X86-64": elf.EM_X86_64,
        "AArch64": elf.EM_AARCH64,
    }
    machine = machines[re.search(r"Machine:\s+(.+)", text)[1].strip()]
    interp = re.search(r"\[Requesting program interpreter: (.+)\]", text)
    soname = re.search(r"\(SONAME\)\s+Library soname: \[(.+)\]", text)
    runpath = re.findall(r"\((?:RUNPATH)\)\s+Library runpath: \[(.+)\]", text)
    needs, library = [], None
    defs = []
    section = ""
    for line in text.splitlines():
        if line.startswith("Version definition section"):
            section = "def"
        elif line.startswith("Version needs section"):
            section = "need"
        elif section == "def" and (m := re.search(r"Flags: (\S+).*Name: (\S+)", line)):
            if m[1] != "BASE":
                defs.append(m[2])
        elif section == "need" and (m := re.search(r"File: (\S+)", line)):
            library = m[1]
        elif section == "need" and (
            m := re.search(r"Name: (\S+)\s+Flags: (\S+)", line)
        ):
            needs.append(elf.VersionNeed(library, m[1], m[2] == "WEAK"))
    return elf.Elf(
        machine=machine,
        interpreter=interp[1] if interp else None,
        needed=tuple(re.findall(r"\(NEEDED\)\s+Shared library: \[(.+)\]", text)),
        search_path=tuple(d for p in runpath for d in p.split(":") if d),
        soname=soname[1] if soname else None,
        version_needs=tuple(needs),
        version_defs=tuple(defs),
    )


BUILD_ROOT_FILES = [
    "/usr/bin/python3.13",
    "/usr/lib/{triplet}/libc.so.6",
    "/usr/lib/{triplet}/libstdc++.so.6",
    "/usr/lib/{triplet}/libz.so.1",
    "/usr/lib/{triplet}/libssl.so.3",
    "/usr/lib/{triplet}/libgcc_s.so.1",
]


def _triplet() -> str:
    machine = os.uname().machine
    return {"x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu"}[machine]


@pytest.mark.parametrize("pattern", BUILD_ROOT_FILES)
def test_build_root_files_read_as_readelf_reads_them(pattern: str) -> None:
    path = Path(os.path.realpath(pattern.format(triplet=_triplet())))
    if not path.is_file():
        pytest.skip(f"{path} is not on this machine")
    assert elf.parse(path.read_bytes(), str(path)) == readelf(path)


def _package_files(tmp_path: Path) -> list[Path]:
    """The shared libraries of the ELF_PACKAGES data tars, written out for readelf."""
    found = []
    for tar_path in os.environ.get("ELF_PACKAGES", "").split():
        with tarfile.open(tar_path) as tar:
            for member in tar:
                if member.isfile() and re.search(r"\.so(\.\d+)*$", member.name):
                    out = tmp_path / str(len(found)) / Path(member.name).name
                    out.parent.mkdir()
                    out.write_bytes(tar.extractfile(member).read())
                    found.append(out)
    return found


def test_arm64_package_libraries_read_as_readelf_reads_them(tmp_path: Path) -> None:
    files = _package_files(tmp_path)
    if not files:
        pytest.skip("ELF_PACKAGES names no package data tar (run under Bazel)")
    by_name = {}
    for path in files:
        data = path.read_bytes()
        if not elf.is_elf(data):
            continue  # libc.so is a linker script.
        parsed = elf.parse(data, str(path))
        assert parsed == readelf(path), path
        by_name[path.name] = parsed
    libc = by_name["libc.so.6"]
    [libstdcxx] = [e for n, e in by_name.items() if n.startswith("libstdc++.so.6.")]
    assert libc.machine == elf.EM_AARCH64 and libc.soname == "libc.so.6"
    assert "GLIBC_2.17" in libc.version_defs  # AArch64's first glibc symbol version.
    assert {"GLIBCXX_3.4", "CXXABI_1.3"} <= set(libstdcxx.version_defs)
    assert elf.VersionNeed("libc.so.6", "GLIBC_2.17") in libstdcxx.version_needs


def test_a_real_library_cut_short_is_an_error(tmp_path: Path) -> None:
    path = Path(os.path.realpath(f"/usr/lib/{_triplet()}/libz.so.1"))
    if not path.is_file():
        pytest.skip(f"{path} is not on this machine")
    data = path.read_bytes()
    with pytest.raises(elf.ElfError, match="beyond the end of the file"):
        elf.parse(data[: len(data) // 2], "libz.so.1")


def test_rpath_is_the_search_path_only_without_runpath() -> None:
    rpath = elf.parse(make_elf(rpath="/opt/lib"), "x")
    assert (rpath.search_path, rpath.search_path_is_rpath) == (("/opt/lib",), True)
    both = elf.parse(make_elf(runpath="/run", rpath="/opt/lib"), "x")
    assert (both.search_path, both.search_path_is_rpath) == (("/run",), False)
