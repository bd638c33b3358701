"""Where command tests run: a hardened runc container of one platform's image.

An adapter over //tests/runtime:container (module `container`), whose API is
    unpack(layout, ref, into) -> bundle directory (umoci)
    run_once(bundle, argv, env, timeout) -> subprocess.CompletedProcess
    emulation_for(architecture) -> context manager: nothing natively,
        arm64_emulation() (qemu-user via binfmt_misc) for arm64 on amd64;
        raises EmulationUnavailable (a unittest.SkipTest) where it cannot be had
The runner only sees `open_container`, so its unit tests pass a fake instead.
"""

from __future__ import annotations

import contextlib
import subprocess
import unittest
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, ContextManager, Protocol

from rootfs import Platform


class Unavailable(Exception):
    """This host cannot run the platform's containers (e.g. no qemu for arm64): its command tests are skipped."""


class Container(Protocol):
    def run(
        self, argv: list[str], env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[bytes]: ...


# (layout, ref, platform, scratch directory) -> a container to run commands in.
Opener = Callable[[Path, str, Platform, Path], ContextManager[Container]]


def _is_skip(error: BaseException) -> bool:
    # container.EmulationUnavailable is a unittest.SkipTest.
    return isinstance(error, unittest.SkipTest)


def _module() -> Any:
    # A dependency of //tools/structure_test/private:runner_lib: missing, it is a failure, not a skip.
    import container  # //tests/runtime:container

    return container


class _Bundle:
    def __init__(self, runtime: Any, bundle: Path) -> None:
        self.runtime = runtime
        self.bundle = bundle

    def run(
        self, argv: list[str], env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[bytes]:
        return self.runtime.run_once(self.bundle, argv, env, timeout)


@contextlib.contextmanager
def open_container(
    layout: Path, ref: str, platform: Platform, scratch: Path
) -> Iterator[Container]:
    """Unpacks `ref` of `layout` into `scratch` (which must not exist) and runs
    commands in it, under emulation (arm64_emulation) for another architecture."""
    runtime = _module()
    with contextlib.ExitStack() as stack:
        try:
            # Nothing natively; qemu-user through binfmt_misc for arm64 on amd64.
            stack.enter_context(runtime.emulation_for(platform.architecture))
        except BaseException as e:
            if _is_skip(e):
                raise Unavailable(str(e) or type(e).__name__) from None
            raise
        bundle = runtime.unpack(layout, ref, scratch)
        yield _Bundle(runtime, bundle)
