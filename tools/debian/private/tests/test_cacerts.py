"""cacerts.py builds the bundle update-ca-certificates would."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import cacerts
import pytest


def pem(name: str) -> bytes:
    return f"-----BEGIN CERTIFICATE-----\n{name}\n-----END CERTIFICATE-----\n".encode()


def data_tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return path


def test_bundle_of_mozilla_certificates_in_bytewise_order(tmp_path: Path) -> None:
    tar = data_tar(
        tmp_path / "data.tar",
        {
            "./usr/share/ca-certificates/mozilla/b_lower.crt": pem("b_lower"),
            "./usr/share/ca-certificates/mozilla/ACCVRAIZ1.crt": pem("ACCVRAIZ1"),
            "./usr/share/ca-certificates/mozilla/AC_RAIZ.crt": pem("AC_RAIZ"),
            # No final newline: one is added, as update-ca-certificates does.
            "./usr/share/ca-certificates/mozilla/Actalis.crt": pem("Actalis").rstrip(
                b"\n"
            ),
            "./usr/share/ca-certificates/mozilla/ANF.crt": pem("ANF"),
            # Not enabled by default, or not certificates at all.
            "./usr/share/ca-certificates/other/Extra.crt": pem("other"),
            "./usr/share/ca-certificates/mozilla/sub/Nested.crt": pem("nested"),
            "./usr/share/ca-certificates/mozilla/README": b"readme\n",
            "./usr/sbin/update-ca-certificates": b"#!/bin/sh\n",
        },
    )
    extra = tmp_path / "corporate.crt"
    extra.write_bytes(pem("corporate").rstrip(b"\n"))
    out = tmp_path / "ca-certificates.crt"
    assert (
        cacerts.main(
            ["--data-tar", str(tar), "--output", str(out), "--extra-cert", str(extra)]
        )
        == 0
    )
    # C-locale sort: uppercase before lowercase, '.' and 'C' before '_'.
    expected = [
        pem(n)
        for n in ["ACCVRAIZ1", "AC_RAIZ", "ANF", "Actalis", "b_lower", "corporate"]
    ]
    assert out.read_bytes() == b"".join(expected)


def test_same_inputs_same_bytes(tmp_path: Path) -> None:
    files = {
        f"usr/share/ca-certificates/mozilla/{n}.crt": pem(n) for n in ["z", "a", "m"]
    }
    first = cacerts.bundle(
        cacerts.mozilla_certificates(data_tar(tmp_path / "1.tar", files)), []
    )
    reordered = dict(reversed(list(files.items())))
    second = cacerts.bundle(
        cacerts.mozilla_certificates(data_tar(tmp_path / "2.tar", reordered)), []
    )
    assert first == second == pem("a") + pem("m") + pem("z")


def test_wrong_tar_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tar = data_tar(tmp_path / "tzdata.tar", {"./usr/share/zoneinfo/UTC": b"TZif"})
    assert (
        cacerts.main(["--data-tar", str(tar), "--output", str(tmp_path / "out")]) == 1
    )
    assert (
        f"{tar}: no usr/share/ca-certificates/mozilla/*.crt" in capsys.readouterr().err
    )
    compressed = tmp_path / "data.tar.xz"
    compressed.write_bytes(b"\xfd7zXZ\x00garbage")
    assert (
        cacerts.main(["--data-tar", str(compressed), "--output", str(tmp_path / "out")])
        == 1
    )
    assert "not an uncompressed tar" in capsys.readouterr().err
