"""Layers applied as an extractor applies them: whiteouts, replacement, symlinks, hard links."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from layouts import BASE, E, Img, tar_bytes, write_image, write_index
from rootfs import FileTree, Layout, LayoutError, Platform


def tree(*layers: list[E]) -> FileTree:
    t = FileTree()
    for n, layer in enumerate(layers):
        t.apply_layer(tar_bytes(layer), f"layer {n}")
    return t


def paths(t: FileTree) -> set[str]:
    return set(t.entries)


def test_whiteout_removes_a_file_and_a_directory_with_its_children() -> None:
    t = tree(
        [
            E("a", "dir"),
            E("a/keep"),
            E("a/gone"),
            E("d", "dir"),
            E("d/x", "dir"),
            E("d/x/y"),
        ],
        [E("a/.wh.gone"), E(".wh.d")],
    )
    assert paths(t) == {"/", "/a", "/a/keep"}


def test_opaque_whiteout_hides_lower_children_but_keeps_its_own_layers() -> None:
    # The opaque marker comes after the new entry in the tar: order within a layer does not matter.
    t = tree(
        [E("etc", "dir"), E("etc/old"), E("etc/sub", "dir"), E("etc/sub/deep")],
        [E("etc", "dir"), E("etc/new", data=b"n"), E("etc/.wh..wh..opq")],
    )
    assert paths(t) == {"/", "/etc", "/etc/new"}


def test_a_whited_out_path_can_come_back_in_a_later_layer() -> None:
    t = tree([E("f", data=b"one")], [E(".wh.f")], [E("f", data=b"three")])
    assert t.stat("/f").read() == b"three"
    assert not any(p.startswith("/.wh.") for p in paths(t))


def test_a_file_replaces_a_directory_and_everything_under_it() -> None:
    t = tree([E("x", "dir"), E("x/child")], [E("x", data=b"now a file")])
    assert t.lstat("/x").kind == "-"
    assert t.lstat("/x/child") is None


def test_a_directory_over_a_directory_changes_only_its_metadata() -> None:
    t = tree([E("x", "dir"), E("x/child")], [E("x", "dir", mode=0o700, uid=7)])
    assert (t.lstat("/x").mode, t.lstat("/x").uid) == (0o700, 7)
    assert t.lstat("/x/child") is not None


def test_missing_parents_are_made_root_owned_0755() -> None:
    t = tree([E("a/b/c", data=b"c")])
    assert (t.lstat("/a/b").kind, t.lstat("/a/b").mode, t.lstat("/a/b").uid) == (
        "d",
        0o755,
        0,
    )


def test_parents_resolve_through_symlinks_like_usrmerge() -> None:
    t = tree(
        [E("usr", "dir"), E("usr/lib", "dir"), E("lib", "symlink", link="usr/lib")],
        [E("lib/libx.so", data=b"x")],
    )
    assert t.lstat("/usr/lib/libx.so") is not None
    assert t.lstat("/lib").kind == "l"


def test_lstat_keeps_the_last_symlink_and_stat_follows_it() -> None:
    t = tree(BASE)
    assert t.lstat("/usr/bin/python3").kind == "l"
    assert t.stat("/usr/bin/python3").path == "/usr/bin/python3.13"
    # Through a symlinked parent (/bin -> usr/bin), absolute and relative links alike.
    assert t.lstat("/bin/python3.13").path == "/usr/bin/python3.13"
    assert (
        t.lstat("/bin/../etc/passwd") is None
        or t.lstat("/bin/../etc/passwd").path == "/usr/etc/passwd"
    )


def test_symlinks_resolve_inside_the_root() -> None:
    t = tree([E("etc", "dir"), E("etc/real", data=b"r"), E("up", "symlink", link="../../../etc/real"),
              E("abs", "symlink", link="/etc/real"), E("loop", "symlink", link="loop")])  # fmt: skip
    assert t.stat("/up").read() == b"r"
    assert t.stat("/abs").read() == b"r"
    assert t.stat("/loop") is None
    assert t.lstat("/loop").kind == "l"


def test_hard_links_share_content_and_metadata() -> None:
    t = tree(
        [
            E("bin", "dir"),
            E("bin/a", data=b"binary", mode=0o755),
            E("bin/b", "hardlink", link="bin/a"),
        ]
    )
    assert t.stat("/bin/b").read() == b"binary"
    assert t.stat("/bin/b").mode == 0o755


def test_root_entry_sets_the_root_directory() -> None:
    t = tree([E("./", "dir", mode=0o700)])
    assert t.lstat("/").mode == 0o700


def test_single_image_layout(tmp_path: Path) -> None:
    layout = Layout(
        write_image(tmp_path / "l", Img("linux/arm64/v8", [BASE], {"User": "1"}))
    )
    (ref,) = layout.images()
    assert (str(ref.platform), ref.ref) == ("linux/arm64/v8", "latest")
    image = layout.load(ref)
    assert image.runtime["User"] == "1"
    assert image.tree.lstat("/tmp").mode == 0o1777


def test_index_layout_lists_every_platform_once(tmp_path: Path) -> None:
    layout = Layout(
        write_index(
            tmp_path / "l", [Img("linux/amd64", [BASE]), Img("linux/arm64/v8", [BASE])]
        )
    )
    refs = layout.images()
    assert [(str(r.platform), r.ref) for r in refs] == [
        ("linux/amd64", "latest-linux-amd64"),
        ("linux/arm64/v8", "latest-linux-arm64-v8"),
    ]
    assert refs[1].platform.matches(Platform.parse("linux/arm64"))
    assert not refs[1].platform.matches(Platform.parse("linux/arm64/v7"))


def test_a_corrupt_blob_is_an_error(tmp_path: Path) -> None:
    root = write_image(tmp_path / "l", Img(layers=[BASE]))
    manifest = json.loads((root / "index.json").read_text())["manifests"][0]
    manifest_blob = json.loads(
        (root / "blobs/sha256" / manifest["digest"].split(":")[1]).read_text()
    )
    layer = root / "blobs/sha256" / manifest_blob["layers"][0]["digest"].split(":")[1]
    layer.chmod(0o644)
    data = bytearray(layer.read_bytes())
    data[20] ^= 0xFF
    layer.write_bytes(bytes(data))
    layout = Layout(root)
    with pytest.raises(LayoutError, match="does not match its digest"):
        layout.load(layout.images()[0])


def test_not_a_layout(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="not an OCI image layout"):
        Layout(tmp_path)
