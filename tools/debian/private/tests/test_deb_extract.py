"""deb_extract.py on .deb files built here: ar and tar from the standard
library, each compression a .deb may use, and broken inputs."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import shutil
import subprocess
import tarfile
from pathlib import Path

import deb_extract
import pytest

CONTROL = b"Package: hello\nVersion: 1.0-1\nArchitecture: amd64\nDescription: hi\n"
MD5SUMS = b"5d41402abc4b2a76b9719d911017c592  usr/share/hello/greeting\n"


def tar_bytes(files: dict[str, bytes]) -> bytes:
    """A tar as dpkg-deb writes it: ./-prefixed names, directories first."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        directories = sorted({str(Path(n).parent) for n in files} - {"."})
        for name in ["."] + [f"./{d}" for d in directories]:
            info = tarfile.TarInfo(name + "/")
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(info)
        for name, content in files.items():
            info = tarfile.TarInfo(f"./{name}")
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def compress(data: bytes, compression: str) -> bytes:
    if compression == "xz":
        return lzma.compress(data)
    if compression == "gz":
        return gzip.compress(data, mtime=0)
    if compression == "bz2":
        return bz2.compress(data)
    if compression == "zst":
        return subprocess.run(
            ["zstd", "-q", "-c"], input=data, capture_output=True, check=True
        ).stdout
    return data


def ar_bytes(members: list[tuple[str, bytes]]) -> bytes:
    out = bytearray(b"!<arch>\n")
    for name, content in members:
        header = f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(content):<10}`\n"
        out += header.encode("ascii") + content
        if len(content) % 2:
            out += b"\n"
    return bytes(out)


DATA_FILES = {
    "usr/share/hello/greeting": b"hello\n",
    "usr/bin/hello": b"#!binary\x00odd",
}


def build_deb(
    path: Path,
    compression: str,
    control_files: dict[str, bytes] | None = None,
) -> Path:
    ext = f".{compression}" if compression else ""
    control_files = (
        {"control": CONTROL, "md5sums": MD5SUMS}
        if control_files is None
        else control_files
    )
    path.write_bytes(
        ar_bytes(
            [
                ("debian-binary", b"2.0\n"),
                (f"control.tar{ext}", compress(tar_bytes(control_files), compression)),
                (f"data.tar{ext}", compress(tar_bytes(DATA_FILES), compression)),
            ]
        )
    )
    return path


def extract(tmp_path: Path, deb: Path, *extra: str) -> int:
    return deb_extract.main(
        [
            "--deb",
            str(deb),
            "--data-out",
            str(tmp_path / "data.tar"),
            "--control-out",
            str(tmp_path / "control"),
            "--md5sums-out",
            str(tmp_path / "md5sums"),
            *extra,
        ]
    )


COMPRESSIONS = [
    "xz",
    "gz",
    "bz2",
    "",
    pytest.param(
        "zst",
        marks=pytest.mark.skipif(
            shutil.which("zstd") is None, reason="zstd is not installed"
        ),
    ),
]


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_extracts_data_and_control(tmp_path: Path, compression: str) -> None:
    deb = build_deb(tmp_path / "hello.deb", compression)
    assert extract(tmp_path, deb) == 0
    # The data tar is the package's own, byte for byte, uncompressed.
    assert (tmp_path / "data.tar").read_bytes() == tar_bytes(DATA_FILES)
    assert (tmp_path / "control").read_bytes() == CONTROL
    assert (tmp_path / "md5sums").read_bytes() == MD5SUMS
    with tarfile.open(tmp_path / "data.tar") as archive:
        assert "./usr/bin/hello" in archive.getnames()


def test_missing_md5sums_gives_an_empty_file(tmp_path: Path) -> None:
    deb = build_deb(tmp_path / "hello.deb", "xz", {"control": CONTROL})
    assert extract(tmp_path, deb) == 0
    assert (tmp_path / "md5sums").read_bytes() == b""


@pytest.mark.skipif(
    shutil.which("dpkg-deb") is None, reason="dpkg-deb is not installed"
)
@pytest.mark.parametrize("compressor", ["xz", "gzip", "none"])
def test_reads_what_dpkg_deb_builds(tmp_path: Path, compressor: str) -> None:
    root = tmp_path / "root"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_bytes(
        CONTROL.replace(b"Description", b"Maintainer: t <t@t>\nDescription")
    )
    (root / "usr/share/hello").mkdir(parents=True)
    (root / "usr/share/hello/greeting").write_bytes(b"hello\n")
    deb = tmp_path / "hello.deb"
    subprocess.run(
        [
            "dpkg-deb",
            "--root-owner-group",
            f"-Z{compressor}",
            "--build",
            str(root),
            str(deb),
        ],
        check=True,
        capture_output=True,
    )
    assert extract(tmp_path, deb) == 0
    expected = subprocess.run(
        ["dpkg-deb", "--fsys-tarfile", str(deb)], check=True, capture_output=True
    ).stdout
    assert (tmp_path / "data.tar").read_bytes() == expected
    assert (tmp_path / "control").read_bytes().startswith(b"Package: hello\n")


def test_not_a_deb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deb = tmp_path / "bogus.deb"
    deb.write_bytes(b"<html>404</html>")
    assert extract(tmp_path, deb) == 1
    assert f"{deb}: not a .deb" in capsys.readouterr().err


def test_missing_data_member(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deb = tmp_path / "nodata.deb"
    deb.write_bytes(
        ar_bytes(
            [
                ("debian-binary", b"2.0\n"),
                ("control.tar.xz", lzma.compress(tar_bytes({"control": CONTROL}))),
            ]
        )
    )
    assert extract(tmp_path, deb) == 1
    assert f"{deb}: expected one data.tar" in capsys.readouterr().err


def test_corrupt_member(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deb = tmp_path / "corrupt.deb"
    deb.write_bytes(
        ar_bytes(
            [
                ("debian-binary", b"2.0\n"),
                ("control.tar.xz", lzma.compress(tar_bytes({"control": CONTROL}))),
                ("data.tar.xz", b"not xz at all"),
            ]
        )
    )
    assert extract(tmp_path, deb) == 1
    assert f"{deb}: cannot decompress" in capsys.readouterr().err


def test_zstd_missing_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    deb = tmp_path / "hello.deb"
    deb.write_bytes(
        ar_bytes(
            [
                ("debian-binary", b"2.0\n"),
                ("control.tar.xz", lzma.compress(tar_bytes({"control": CONTROL}))),
                ("data.tar.zst", b"(pretend zstd)"),
            ]
        )
    )
    monkeypatch.setattr(deb_extract.shutil, "which", lambda name: None)
    assert extract(tmp_path, deb) == 1
    error = capsys.readouterr().err
    assert f"{deb}: data.tar.zst is zstd-compressed" in error
    assert "no zstd program" in error
