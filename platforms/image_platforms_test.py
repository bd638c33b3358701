"""The Python view of platforms.bzl: what the rules write, named the same way."""

from __future__ import annotations

import platform

import pytest
from image_platforms import ARCHITECTURES, PLATFORMS, host_architecture, ref


def test_the_table_names_both_platforms_as_the_images_do() -> None:
    assert ARCHITECTURES == ("amd64", "arm64")
    assert PLATFORMS["amd64"]["platform"] == "linux/amd64"
    assert PLATFORMS["arm64"]["platform"] == "linux/arm64/v8"
    assert ref("amd64") == "latest-linux-amd64"
    assert ref("arm64") == "latest-linux-arm64-v8"
    assert PLATFORMS["arm64"]["label"] == "//platforms:linux_arm64"
    assert PLATFORMS["arm64"]["multiarch"] == "aarch64-linux-gnu"
    assert PLATFORMS["amd64"]["elf_machine"] == 62


@pytest.mark.parametrize(
    ("machine", "architecture"),
    [("x86_64", "amd64"), ("aarch64", "arm64"), ("riscv64", "riscv64")],
)
def test_host_architecture(
    monkeypatch: pytest.MonkeyPatch, machine: str, architecture: str
) -> None:
    monkeypatch.setattr(platform, "machine", lambda: machine)
    assert host_architecture() == architecture
