"""dpkg_status.py writes the status.d files distroless images carry."""

from __future__ import annotations

from pathlib import Path

import dpkg_status
import pytest

LIBC6 = """\
Package: libc6
Source: glibc
Version: 2.41-12+deb13u5
Architecture: amd64
Multi-Arch: same
Depends: libgcc-s1
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_status_file_per_package(tmp_path: Path) -> None:
    libc6 = write(tmp_path, "libc6.control", LIBC6)
    tzdata = write(
        tmp_path,
        "tzdata.control",
        "Package: tzdata\nVersion: 2026a\nArchitecture: all\n",
    )
    md5sums = write(
        tmp_path, "libc6.md5sums", "abc  usr/lib/x86_64-linux-gnu/libc.so.6\n"
    )
    out = tmp_path / "out"
    code = dpkg_status.main(
        [
            "--control",
            str(libc6),
            "--control",
            str(tzdata),
            "--md5sums",
            f"libc6={md5sums}",
            "--output-dir",
            str(out),
        ]
    )
    assert code == 0
    status_d = out / "var/lib/dpkg/status.d"
    assert sorted(p.name for p in status_d.iterdir()) == [
        "libc6",
        "libc6.md5sums",
        "tzdata",
    ]
    # Named by the package alone, even for Multi-Arch: same; Status second.
    lines = (status_d / "libc6").read_text().splitlines()
    assert lines[:3] == [
        "Package: libc6",
        "Status: install ok installed",
        "Source: glibc",
    ]
    assert (status_d / "libc6").read_text() == LIBC6.replace(
        "Package: libc6\n", "Package: libc6\nStatus: install ok installed\n"
    )
    assert (status_d / "libc6.md5sums").read_text() == md5sums.read_text()


def test_existing_status_is_replaced(tmp_path: Path) -> None:
    name, text = dpkg_status.status_entry(
        "Package: a1\nStatus: deinstall ok config-files\nVersion: 1\n\n", Path("c")
    )
    assert name == "a1"
    assert text == "Package: a1\nStatus: install ok installed\nVersion: 1\n"


@pytest.mark.parametrize(
    ("control", "message"),
    [
        ("Version: 1\n", "no Package field"),
        ("Package: ../../etc\nVersion: 1\n", "invalid package name"),
        ("Package: a1\n\nPackage: b1\n", "exactly one control paragraph"),
        ("", "exactly one control paragraph"),
    ],
)
def test_bad_control(tmp_path: Path, control: str, message: str) -> None:
    with pytest.raises(dpkg_status.StatusError, match=message):
        dpkg_status.status_entry(control, tmp_path / "control")


def test_duplicates_and_stray_md5sums_are_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    control = write(tmp_path, "a.control", "Package: a1\nVersion: 1\n")
    again = write(tmp_path, "b.control", "Package: a1\nVersion: 2\n")
    out = str(tmp_path / "out")
    assert (
        dpkg_status.main(
            ["--control", str(control), "--control", str(again), "--output-dir", out]
        )
        == 1
    )
    assert "package a1 is listed twice" in capsys.readouterr().err
    assert (
        dpkg_status.main(
            [
                "--control",
                str(control),
                "--md5sums",
                f"zz={control}",
                "--output-dir",
                out,
            ]
        )
        == 1
    )
    assert "--md5sums for packages without --control: zz" in capsys.readouterr().err
    assert (
        dpkg_status.main(
            ["--control", str(control), "--md5sums", "nonsense", "--output-dir", out]
        )
        == 1
    )
    assert "expected PACKAGE=FILE" in capsys.readouterr().err


def test_kept_md5sums_lists_only_the_files_an_image_keeps() -> None:
    md5sums = "aaaa  usr/lib/libfoo.so.1\nbbbb  usr/share/doc/foo/README\ncccc  a  b\n"
    kept = {"usr/lib/libfoo.so.1", "a  b"}
    assert dpkg_status.kept_md5sums(md5sums, kept.__contains__) == (
        "aaaa  usr/lib/libfoo.so.1\ncccc  a  b\n"
    )
    assert dpkg_status.kept_md5sums(md5sums, lambda path: False) == ""


def test_excluded_files_are_dropped_from_the_md5sums(tmp_path: Path) -> None:
    """--exclude takes the layer's globs: what it leaves out is not listed."""
    libc6 = write(tmp_path, "libc6.control", LIBC6)
    md5sums = write(
        tmp_path,
        "libc6.md5sums",
        "a1  usr/lib/x86_64-linux-gnu/libc.so.6\n"
        "b2  usr/lib/x86_64-linux-gnu/gconv/BIG5.so\n"
        "c3  usr/share/doc/libc6/NEWS.gz\n"
        "d4  usr/share/doc/libc6/copyright\n",
    )
    out = tmp_path / "out"
    args = ["--control", str(libc6), "--md5sums", f"libc6={md5sums}"]
    excludes = ["--exclude", "usr/lib/*/gconv", "--exclude", "usr/share/doc/*/[!c]*"]
    assert dpkg_status.main([*args, *excludes, "--output-dir", str(out)]) == 0
    assert (out / "var/lib/dpkg/status.d/libc6.md5sums").read_text() == (
        "a1  usr/lib/x86_64-linux-gnu/libc.so.6\n" "d4  usr/share/doc/libc6/copyright\n"
    )
