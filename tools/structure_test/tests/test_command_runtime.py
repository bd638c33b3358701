"""The adapter over //tools/container: unpack once, emulate other architectures, skip where it cannot."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import command_runtime
import pytest
from rootfs import Platform


class Unavailable(Exception):
    """Stands in for container.EmulationUnavailable."""


def fake_runtime(calls: list[Any], skip: str = "") -> types.ModuleType:
    module = types.ModuleType("container")

    @contextlib.contextmanager
    def emulation_for(architecture: str) -> Iterator[None]:
        calls.append(("emulation", architecture))
        if skip:
            raise Unavailable(skip)
        yield
        calls.append(("emulation done", architecture))

    def unpack(layout: Path, ref: str, into: Path) -> Path:
        calls.append(("unpack", layout, ref, into))
        return into

    def run_once(
        bundle: Path, argv: list[str], env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        calls.append(("run_once", bundle, argv, env, timeout))
        return subprocess.CompletedProcess(argv, 0, "out", "")

    module.emulation_for, module.unpack, module.run_once = (
        emulation_for,
        unpack,
        run_once,
    )
    module.EmulationUnavailable = Unavailable
    return module


def test_unpacks_under_emulation_and_runs_each_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[Any] = []
    monkeypatch.setitem(sys.modules, "container", fake_runtime(calls))
    platform = Platform.parse("linux/arm64/v8")
    with command_runtime.open_container(
        tmp_path, "latest-linux-arm64-v8", platform, tmp_path / "b"
    ) as container:
        assert container.run(["true"], {"A": "1"}, 5).stdout == "out"
    assert calls == [
        ("emulation", "arm64"),
        ("unpack", tmp_path, "latest-linux-arm64-v8", tmp_path / "b"),
        ("run_once", tmp_path / "b", ["true"], {"A": "1"}, 5),
        ("emulation done", "arm64"),
    ]


def test_a_skip_from_the_runtime_is_unavailable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[Any] = []
    monkeypatch.setitem(
        sys.modules, "container", fake_runtime(calls, skip="no qemu-aarch64")
    )
    with pytest.raises(command_runtime.Unavailable, match="no qemu-aarch64"):
        with command_runtime.open_container(
            tmp_path, "r", Platform.parse("linux/arm64"), tmp_path / "b"
        ):
            pass
    assert [c[0] for c in calls] == ["emulation"]
