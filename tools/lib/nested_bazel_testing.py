"""pytest support for tests that run Bazel on copies of the checkout.

    from nested_bazel_testing import bazel_on_a_copy, scratch_dir, terminate_cleanly  # noqa: F401

`terminate_cleanly` is an autouse fixture: importing it into a test module
turns Bazel's SIGTERM on a test timeout into SystemExit, so the `finally`
blocks and context managers that stop nested Bazel servers, registries and
caches still run. The checkout itself is checkout.workspace_dir().
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from checkout import workspace_dir
from nested_bazel import NestedBazel, copy_checkout, remove_tree


@contextmanager
def scratch_dir(name: str) -> Iterator[Path]:
    """$TEST_TMPDIR/name, empty at the start and removed at the end.

    Removed with remove_tree: nested output bases hold read-only directories
    that Bazel's own clean-up of TEST_TMPDIR would stumble on.
    """
    path = Path(os.environ.get("TEST_TMPDIR", "/tmp")) / name
    remove_tree(path)
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        remove_tree(path)


@contextmanager
def bazel_on_a_copy(name: str) -> Iterator[NestedBazel]:
    """A Bazel server on a copy of the checkout (scratch_dir(name)/checkout),
    shut down and removed at the end: for tests that edit what they build."""
    with scratch_dir(name) as tmp:
        checkout = tmp / "checkout"
        copy_checkout(workspace_dir(), checkout)
        with NestedBazel(checkout, tmp, name) as nested:
            yield nested


@pytest.fixture(autouse=True)
def terminate_cleanly() -> Iterator[None]:
    """On a test timeout (SIGTERM), leave through the finallys that stop servers."""
    previous = signal.signal(
        signal.SIGTERM, lambda *_: sys.exit("SIGTERM: test timed out")
    )
    yield
    signal.signal(signal.SIGTERM, previous)
