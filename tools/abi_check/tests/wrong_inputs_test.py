"""The ABI check's program on images with real wrong inputs (see BUILD.bazel):
each fails (exit 1) with the file, its origin, what is missing and the fix."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

PACKAGE = "//tools/abi_check/tests"

EXPECTED = {
    "wrong_architecture": [
        "ABI check of //tools/abi_check/tests:wrong_architecture_image (linux/arm64/v8): "
        "1 file would not load",
        "- /app/site-packages/orjson/orjson.cpython-313-x86_64-linux-gnu.so\n"
        "  from orjson 3.13.0 (Python distribution), layer 2 "
        "(bazel build //tools/abi_check/tests:orjson_layers)\n"
        "  * it is built for ELF 64-bit LSB x86-64, the image is linux/arm64/v8 (AArch64).",
        "Fix: take the build for the image's platform: for a wheel, third-party code "
        "from @pypi in the image's configuration",
    ],
    "missing_library": [
        "- /app/site-packages/pydantic_core/_pydantic_core.cpython-313-x86_64-linux-gnu.so\n"
        "  from pydantic_core 2.50.5 (Python distribution)",
        "* it needs libgcc_s.so.1 (DT_NEEDED), which is nowhere ld.so looks: "
        "ld.so.cache (none), /lib/x86_64-linux-gnu/libgcc_s.so.1, "
        "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1, /lib/libgcc_s.so.1, /usr/lib/libgcc_s.so.1.",
        "Fix: add the Debian package that provides it to the image",
    ],
    "newer_glibc": [
        "- /app/site-packages/toonew/_native.cpython-313-x86_64-linux-gnu.so\n"
        "  from toonew 1.0 (Python distribution)",
        "* it needs symbol version GLIBC_2.99 from libc.so.6, which "
        "/lib/x86_64-linux-gnu/libc.so.6 (Debian package libc6 2.41-",
        "does not define; the newest GLIBC version it defines is GLIBC_2.41.",
        "Fix: it was built against a newer glibc than the image's (2.41): use a wheel "
        "or package built for glibc 2.41 or older (for a wheel, manylinux_2_41 or lower",
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_wrong_input_fails_with_what_is_wrong(name: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            os.environ["ABI_CHECK"],
            "--layout",
            os.environ[name.upper()],
            "--image",
            f"{PACKAGE}:{name}_image",
            "--output",
            str(tmp_path / "report.txt"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    for part in EXPECTED[name]:
        assert part in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "report.txt").exists()
