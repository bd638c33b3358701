"""What tests make of the container library's errors: a machine that cannot
emulate an architecture is a skip, with the library's reason, never a failure.

    from skips import emulation_or_skip

    with emulation_or_skip("arm64"):
        ...  # runs under qemu-user, or the test is skipped, saying why
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import ContextManager

import pytest
from container import EmulationUnavailable, emulation_for


@contextlib.contextmanager
def skip_if_unavailable(manager: ContextManager[None]) -> Iterator[None]:
    """Enter `manager`; EmulationUnavailable on entering skips the test.

    Only entering is a skip: the same error from inside the block (a test
    that asked for one architecture and ran another) stays a failure.
    """
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(manager)
        except EmulationUnavailable as err:
            pytest.skip(str(err))
        yield


def emulation_or_skip(architecture: str) -> ContextManager[None]:
    """container.emulation_for(architecture), or a skip where it cannot be had."""
    return skip_if_unavailable(emulation_for(architecture))
