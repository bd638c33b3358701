"""Which umoci can unpack tar+zstd layers: 0.5 and later (0.4.7, Debian 12's, cannot)."""

from __future__ import annotations

from pathlib import Path

import pytest
from container import ContainerError
from container.bundle import check_umoci_reads_zstd, umoci_version


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("umoci version 0.6.0+ds-1+b1\nimage spec: 1.1.1\n", (0, 6, 0)),
        ("umoci version 0.4.7\n", (0, 4, 7)),
        ("umoci version 1.0\n", (1, 0, 0)),
        ("something else\n", None),
    ],
)
def test_umoci_version(text: str, version: tuple[int, ...] | None) -> None:
    assert umoci_version(text) == version


def fake_umoci(tmp_path: Path, output: str) -> str:
    script = tmp_path / "umoci"
    script.write_text(f"#!/bin/sh\nprintf '{output}'\n")
    script.chmod(0o755)
    return str(script)


def test_a_umoci_that_reads_zstd_passes(tmp_path: Path) -> None:
    check_umoci_reads_zstd(fake_umoci(tmp_path, "umoci version 0.5.0\\n"), "x:latest")


@pytest.mark.parametrize("output", ["umoci version 0.4.7\\n", "no version\\n"])
def test_an_older_umoci_is_refused_with_the_way_out(
    tmp_path: Path, output: str
) -> None:
    with pytest.raises(ContainerError) as caught:
        check_umoci_reads_zstd(fake_umoci(tmp_path, output), "hello:latest-linux-amd64")
    message = str(caught.value)
    assert "hello:latest-linux-amd64 has tar+zstd layers" in message
    assert "umoci reads zstd since 0.5.0" in message
    assert "--//tools/oci:compression" in message
