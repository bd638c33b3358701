"""loader.py: ld.so's search order for a DT_NEEDED name, inside a root."""

from __future__ import annotations

import elf
import ld_cache
from loader import Loader, system_dirs
from rootfs import RootFs
from testing import make_elf
from testing import make_root as build

TRIPLET = "x86_64-linux-gnu"
LIB = f"usr/lib/{TRIPLET}"


def root_with(*extra: tuple[str, object]) -> RootFs:
    return build(
        [
            ("lib", "->usr/lib"),
            (f"{LIB}/libc.so.6", make_elf()),
            (f"{LIB}/libz.so.1", make_elf()),
            ("opt/lib/libz.so.1", make_elf()),
            ("opt/arm/libz.so.1", make_elf(machine=elf.EM_AARCH64)),
            ("opt/text/libz.so.1", b"not ELF"),
            *extra,
        ]
    )


def loader(root: RootFs, **kwargs) -> Loader:
    return Loader(root, machine=elf.EM_X86_64, multiarch=TRIPLET, **kwargs)


def test_system_directories_are_debians() -> None:
    assert system_dirs(TRIPLET) == [
        f"/lib/{TRIPLET}",
        f"/usr/lib/{TRIPLET}",
        "/lib",
        "/usr/lib",
    ]
    found = loader(root_with()).find(
        "libc.so.6", elf.parse(make_elf(), "x"), "/usr/bin/x"
    )
    # The first directory that has it, as ld.so names it (through /lib).
    assert found.path == f"/lib/{TRIPLET}/libc.so.6"
    assert found.tried == ("ld.so.cache (none)", f"/lib/{TRIPLET}/libc.so.6")


def test_runpath_with_origin_comes_after_ld_library_path() -> None:
    needing = elf.parse(make_elf(runpath="$ORIGIN/../lib"), "x")
    found = loader(root_with(), library_path="/nowhere").find(
        "libz.so.1", needing, "/opt/bin/tool"
    )
    assert found.path == "/opt/lib/libz.so.1"
    assert found.tried[:2] == (
        "/nowhere/libz.so.1 (LD_LIBRARY_PATH)",
        "/opt/bin/../lib/libz.so.1 (DT_RUNPATH)",
    )


def test_rpath_comes_before_ld_library_path() -> None:
    needing = elf.parse(make_elf(rpath="/opt/lib"), "x")
    assert needing.search_path_is_rpath
    found = loader(root_with(), library_path=f"/{LIB}").find("libz.so.1", needing, "/x")
    assert found.path == "/opt/lib/libz.so.1"
    assert found.tried == ("/opt/lib/libz.so.1 (DT_RPATH)",)


def test_candidates_of_another_machine_or_not_elf_are_passed_over() -> None:
    needing = elf.parse(make_elf(runpath="/opt/arm:/opt/text"), "x")
    found = loader(root_with()).find("libz.so.1", needing, "/x")
    assert found.path == f"/lib/{TRIPLET}/libz.so.1"


def test_the_cache_is_searched_before_the_system_directories() -> None:
    flags = ld_cache.flags_for(elf.EM_X86_64)
    cache = [
        ld_cache.Entry("libz.so.1", "/opt/lib/libz.so.1", flags),
        ld_cache.Entry("libz.so.1", "/opt/gone/libz.so.1", flags),
        ld_cache.Entry(
            "libz.so.1", "/opt/arm-flags/libz.so.1", ld_cache.flags_for(elf.EM_AARCH64)
        ),
    ]
    found = loader(root_with(), cache=cache).find(
        "libz.so.1", elf.parse(make_elf(), "x"), "/x"
    )
    assert found.path == "/opt/lib/libz.so.1"
    # A stale entry is passed over, as ld.so falls back to the directories.
    stale = [ld_cache.Entry("libc.so.6", "/opt/gone/libc.so.6", flags)]
    found = loader(root_with(), cache=stale).find(
        "libc.so.6", elf.parse(make_elf(), "x"), "/x"
    )
    assert found.path == f"/lib/{TRIPLET}/libc.so.6"
    assert found.tried[0] == "/opt/gone/libc.so.6 (ld.so.cache)"


def test_a_name_with_a_slash_is_a_path_and_missing_is_none() -> None:
    root = root_with()
    needing = elf.parse(make_elf(), "x")
    assert (
        loader(root).find("/opt/lib/libz.so.1", needing, "/x").path
        == "/opt/lib/libz.so.1"
    )
    missing = loader(root).find("libyaml-0.so.2", needing, "/x")
    assert missing.path is None
    assert missing.tried[-1] == "/usr/lib/libyaml-0.so.2"
