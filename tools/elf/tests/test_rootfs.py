"""rootfs.py: layers applied in order, as a container runtime unpacks them."""

from __future__ import annotations

import pytest
from rootfs import DIR, FILE, SYMLINK, RootFsError
from testing import make_root as build


def test_symlinks_are_followed_inside_the_root() -> None:
    root = build(
        [
            ("lib", "->usr/lib"),
            ("usr/lib/x86_64-linux-gnu/libz.so.1.3", b"z"),
            ("usr/lib/x86_64-linux-gnu/libz.so.1", "->libz.so.1.3"),
            ("etc/alternatives/z", "->/lib/x86_64-linux-gnu/libz.so.1"),
        ]
    )
    assert (
        root.resolve("/lib/x86_64-linux-gnu/libz.so.1")
        == "usr/lib/x86_64-linux-gnu/libz.so.1.3"
    )
    assert root.read("etc/alternatives/z") == b"z"
    assert root.lookup("lib").kind == SYMLINK
    assert root.is_dir("/lib/x86_64-linux-gnu")
    # usr and usr/lib are never listed, yet they exist once unpacked.
    assert root.is_dir("usr") and root.listdir("/lib") == ["x86_64-linux-gnu"]
    assert root.resolve("/lib/missing.so") is None
    assert root.resolve("usr/lib/x86_64-linux-gnu/libz.so.1.3/below") is None


def test_a_symlink_loop_is_an_error() -> None:
    root = build([("a", "->b"), ("b", "->a")])
    with pytest.raises(RootFsError, match="too many levels of symbolic links"):
        root.resolve("a/x")


def test_whiteouts_and_opaque_directories_remove_lower_layers() -> None:
    root = build(
        [("etc/a", b"1"), ("etc/b", b"2"), ("opt/x/y", b"3"), ("opt/z", b"4")],
        [("etc/.wh.a", b""), ("opt/x/.wh..wh..opq", b""), ("opt/x/new", b"5")],
    )
    assert [path for path, _ in root.files()] == ["etc/b", "opt/x/new", "opt/z"]
    assert root.listdir("opt/x") == ["new"]
    assert root.lookup("opt/x/new").layer == 1


def test_a_later_layer_replaces_a_path_and_what_was_below_it() -> None:
    root = build(
        [("opt/app/lib.so", b"old"), ("opt/app/data", b"d")], [("opt/app", b"a file")]
    )
    assert root.lookup("opt/app").kind == FILE
    assert root.lookup("opt/app/lib.so") is None
    root = build([("opt", None), ("opt/x", b"1")], [("opt", None)])
    assert root.lookup("opt").kind == DIR and root.read("opt/x") == b"1"


def test_hardlinks_get_their_targets_content() -> None:
    root = build([("usr/bin/a", b"elf"), ("usr/bin/b", "=>usr/bin/a")])
    assert root.read("usr/bin/b") == b"elf"


def test_only_kept_contents_are_held() -> None:
    root = build(
        [("big", b"x" * 1000), ("usr/lib/libc.so.6", b"\x7fELF...")],
        keep=lambda path, head: head.startswith(b"\x7fELF"),
    )
    assert root.read("big") is None and root.lookup("big").kind == FILE
    assert root.read("usr/lib/libc.so.6") == b"\x7fELF..."
