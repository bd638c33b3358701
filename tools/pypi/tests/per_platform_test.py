"""Each image platform gets the wheels locked for it; pure distributions are shared."""

from __future__ import annotations

import json
import os
from pathlib import Path

# ELF e_machine values (elf.h).
EM_X86_64 = 62
EM_AARCH64 = 183


def files(platform: str) -> dict[str, Path]:
    """{runfiles path: file} of what a build for `platform` brings."""
    manifest = json.loads(Path(os.environ[platform]).read_text())
    return {path: Path(short) for path, short in manifest.items()}


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", f"{path} is not an ELF file"
    return int.from_bytes(header[18:20], "little")


def extensions(found: dict[str, Path], package: str) -> dict[str, Path]:
    return {
        path: file
        for path, file in found.items()
        if f"/site-packages/{package}/" in path and ".so" in Path(path).name
    }


def test_compiled_extensions_are_built_for_the_target_cpu() -> None:
    for platform, machine, repo_suffix in (
        ("AMD64", EM_X86_64, "_linux_x86_64"),
        ("ARM64", EM_AARCH64, "_linux_aarch64"),
    ):
        found = files(platform)
        for package in ("orjson", "pydantic_core"):
            so = extensions(found, package)
            assert (
                so
            ), f"{platform}: no compiled extension of {package} in {sorted(found)[:5]}..."
            for path, file in so.items():
                assert path.split("/")[0].endswith(package + repo_suffix), path
                assert elf_machine(file) == machine, f"{platform}: {path}"


def test_pure_distributions_are_the_same_files_on_every_platform() -> None:
    amd64, arm64 = files("AMD64"), files("ARM64")
    for package in ("waitress", "pydantic"):
        a = {p for p in amd64 if f"/site-packages/{package}/" in p}
        b = {p for p in arm64 if f"/site-packages/{package}/" in p}
        assert a and a == b, package
        assert all(p.split("/")[0].endswith("pypi_" + package) for p in a)


def test_dist_info_names_the_distribution_of_each_wheel() -> None:
    for platform in ("AMD64", "ARM64"):
        metadata = [
            file
            for path, file in files(platform).items()
            if path.endswith(".dist-info/METADATA") and "pydantic_core" in path
        ]
        assert len(metadata) == 1, platform
        assert (
            "Name: pydantic_core" in metadata[0].read_text()
            or "Name: pydantic-core" in metadata[0].read_text()
        )
