"""slim_contents: files are grouped by the dpkg md5sums the image carries."""

from __future__ import annotations

import hashlib
import tarfile

import slim_contents


def _file(path: str, content: bytes) -> tuple[str, tuple[tarfile.TarInfo, bytes]]:
    member = tarfile.TarInfo(path)
    member.size = len(content)
    return path, (member, content)


def _md5sums(*paths: str) -> bytes:
    return b"".join(
        f"{hashlib.md5(p.encode()).hexdigest()}  {p}\n".encode() for p in paths
    )


FILES = dict(
    [
        _file("usr/bin/python3.13", b"\x7fELF" + b"x" * 4000),
        _file("usr/lib/x86_64-linux-gnu/libcrypto.so.3", b"\x7fELF" + b"y" * 3000),
        _file("usr/lib/python3.13/__pycache__/ssl.cpython-313.pyc", b"pyc"),
        _file("app/hello/app.py", b"print('hello')\n"),
        _file("etc/ld.so.cache", b"glibc-ld.so.cache1.1"),
        _file(
            "var/lib/dpkg/status.d/python3.13-minimal.md5sums",
            _md5sums("usr/bin/python3.13", "usr/share/man/man1/python3.13.1.gz"),
        ),
        _file(
            "var/lib/dpkg/status.d/libssl3t64.md5sums",
            _md5sums("usr/lib/x86_64-linux-gnu/libcrypto.so.3"),
        ),
    ]
)


def test_each_file_goes_to_its_package_or_what_made_it() -> None:
    owners = slim_contents._owners(FILES)
    groups = {path: slim_contents.group_of(path, owners) for path in FILES}
    assert groups == {
        "usr/bin/python3.13": "python3.13-minimal",
        "usr/lib/x86_64-linux-gnu/libcrypto.so.3": "libssl3t64",
        "usr/lib/python3.13/__pycache__/ssl.cpython-313.pyc": slim_contents.BYTECODE,
        "app/hello/app.py": slim_contents.APP,
        "etc/ld.so.cache": slim_contents.GENERATED,
        "var/lib/dpkg/status.d/python3.13-minimal.md5sums": slim_contents.GENERATED,
        "var/lib/dpkg/status.d/libssl3t64.md5sums": slim_contents.GENERATED,
    }


def test_a_group_is_measured_compressed() -> None:
    binary = slim_contents._compressed_size([FILES["usr/bin/python3.13"]])
    both = slim_contents._compressed_size(
        [FILES["usr/bin/python3.13"], FILES["app/hello/app.py"]]
    )
    # 4,004 repetitive bytes and a tar header compress far below their size.
    assert 0 < binary < 1024 < 4004
    assert binary < both
