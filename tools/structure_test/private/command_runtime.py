"""Where command tests run: a hardened runc container of one platform's image.

An adapter over //tools/container (module `container`), whose API is
    unpack(layout, ref, into) -> bundle directory (umoci)
    run_once(bundle, argv, env, timeout) -> subprocess.CompletedProcess
    emulation_for(architecture) -> context manager: nothing natively,
        arm64_emulation() (qemu-user via binfmt_misc) for arm64 on amd64;
        raises EmulationUnavailable on entering where it cannot be had
The runner only sees `open_container`, so its unit tests pass a fake instead.
"""

from __future__ import annotations

import contextlib
import subprocess
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


def _module() -> Any:
    # Imported when a command test needs it (so unit tests can put a fake in
    # sys.modules). A dependency of runner_lib: missing, it is a failure, not a skip.
    import container  # //tools/container

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
        except runtime.EmulationUnavailable as e:
            raise Unavailable(str(e) or type(e).__name__) from None
        bundle = runtime.unpack(layout, ref, scratch)
        yield _Bundle(runtime, bundle)
