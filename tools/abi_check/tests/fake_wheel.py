#!/usr/bin/env python3
"""Write a tar holding an installed wheel whose extension module needs a newer glibc.

    fake_wheel.py --output toonew.tar

/app/site-packages/toonew/_native.cpython-313-x86_64-linux-gnu.so needs
GLIBC_2.17 and GLIBC_2.99 from libc.so.6, as a wheel tagged manylinux_2_99
would; toonew-1.0.dist-info names it. No wheel on PyPI needs a glibc newer
than Debian 13's today, so the test makes one (a tiny ELF, //tools/elf:testing).
"""

from __future__ import annotations

import argparse
import io
import sys
import tarfile

from testing import make_elf

SITE = "app/site-packages"
MODULE = "toonew/_native.cpython-313-x86_64-linux-gnu.so"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    native = make_elf(
        ("libc.so.6",),
        soname="_native.cpython-313-x86_64-linux-gnu.so",
        version_needs=[("libc.so.6", "GLIBC_2.17"), ("libc.so.6", "GLIBC_2.99")],
    )
    files = {
        f"{SITE}/{MODULE}": native,
        f"{SITE}/toonew/__init__.py": b"from toonew._native import *\n",
        f"{SITE}/toonew-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: toonew\nVersion: 1.0\n",
        f"{SITE}/toonew-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nTag: cp313-cp313-manylinux_2_99_x86_64\n",
    }
    record = "".join(f"{path[len(SITE) + 1:]},,\n" for path in files)
    files[f"{SITE}/toonew-1.0.dist-info/RECORD"] = record.encode()
    with tarfile.open(args.output, "w", format=tarfile.USTAR_FORMAT) as tar:
        for path, data in sorted(files.items()):
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))


if __name__ == "__main__":
    main(sys.argv[1:])
