"""skips.py: an unavailable emulation is a skip with its reason; nothing else is."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from container import ContainerError, EmulationUnavailable
from skips import emulation_or_skip, skip_if_unavailable


@contextlib.contextmanager
def unavailable() -> Iterator[None]:
    raise EmulationUnavailable("cannot run arm64 images: no qemu-aarch64")
    yield


def test_unavailable_on_entering_is_a_skip_with_the_reason() -> None:
    ran = []
    with pytest.raises(pytest.skip.Exception, match="cannot run arm64 images: no qemu"):
        with skip_if_unavailable(unavailable()):
            ran.append(True)
    assert ran == []


def test_the_same_error_inside_the_block_is_not_a_skip() -> None:
    with pytest.raises(EmulationUnavailable):
        with skip_if_unavailable(contextlib.nullcontext()):
            raise EmulationUnavailable("raised by the test itself")


def test_other_container_errors_are_failures() -> None:
    @contextlib.contextmanager
    def broken() -> Iterator[None]:
        raise ContainerError("runc failed")
        yield

    with pytest.raises(ContainerError, match="runc failed"):
        with skip_if_unavailable(broken()):
            pass


def test_the_manager_is_entered_and_left() -> None:
    calls = []

    @contextlib.contextmanager
    def recorded() -> Iterator[None]:
        calls.append("enter")
        yield
        calls.append("exit")

    with skip_if_unavailable(recorded()):
        calls.append("body")
    assert calls == ["enter", "body", "exit"]


def test_an_architecture_nobody_emulates_is_a_skip() -> None:
    with pytest.raises(pytest.skip.Exception, match="cannot run s390x images"):
        with emulation_or_skip("s390x"):
            pass
