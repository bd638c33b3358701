"""The runner run on tiny layouts (layouts.py), with a fake container for command tests."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import runner
from layouts import APP, BASE, CONFIG, Img, write_image
from rootfs import Platform


@dataclass
class Run:
    code: int
    output: str
    calls: list[tuple[Any, ...]]


class FakeContainer:
    """Stands in for runc: answers each argv from a table of (stdout, stderr, code)."""

    def __init__(
        self,
        answers: dict[tuple[str, ...], tuple[str, str, int]],
        calls: list[tuple[Any, ...]],
    ) -> None:
        self.answers = answers
        self.calls = calls

    def run(
        self, argv: list[str], env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[bytes]:
        self.calls.append(("run", argv, env, timeout))
        if tuple(argv) not in self.answers:
            return subprocess.CompletedProcess(
                argv, 127, b"", f"{argv[0]}: not found\n".encode()
            )
        stdout, stderr, code = self.answers[tuple(argv)]
        return subprocess.CompletedProcess(argv, code, stdout.encode(), stderr.encode())


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """run(yaml_text..., image=Img(...) or a layout Path, answers={argv: (out, err, code)}, args=[...]).

    unavailable: the fake container cannot run this platform (a skip);
    broken: it fails to start (an error).
    """
    counter = iter(range(1000))

    def run_it(*configs: str, image: Img | Path | None = None, answers: dict | None = None, args: list[str] = (),
               unavailable: str = "", broken: str = "") -> Run:  # fmt: skip
        n = next(counter)
        if image is None:
            image = Img(layers=[BASE, APP], config=CONFIG)
        layout = (
            image
            if isinstance(image, Path)
            else write_image(tmp_path / f"layout{n}", image)
        )
        paths = []
        for i, text in enumerate(configs):
            path = tmp_path / f"config{n}_{i}.yaml"
            path.write_text(text)
            paths.append(str(path))
        calls: list[tuple[Any, ...]] = []

        @contextlib.contextmanager
        def opener(
            layout: Path, ref: str, platform: Platform, scratch: Path
        ) -> Iterator[FakeContainer]:
            calls.append(("open", ref, str(platform)))
            if unavailable:
                raise runner.Unavailable(unavailable)
            if broken:
                raise RuntimeError(broken)
            yield FakeContainer(answers or {}, calls)
            calls.append(("close", ref))

        capsys.readouterr()
        code = runner.main(["--image", str(layout), *args, *paths], opener=opener)
        return Run(code, capsys.readouterr().out, calls)

    return run_it
