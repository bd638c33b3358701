"""Fixtures shared by the test modules; the helpers live in support.py."""

from __future__ import annotations

import pytest
from support import Harness, make_harness


@pytest.fixture
def harness() -> Harness:
    return make_harness()


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests honours HTTP(S)_PROXY from the environment; test traffic must go
    # straight to the server on 127.0.0.1.
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
