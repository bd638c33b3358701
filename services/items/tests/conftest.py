"""Fixtures shared by the test modules; the helpers live in service_testing."""

from __future__ import annotations

import pytest
from service_testing import Harness, make_harness, no_proxy_for_loopback

from items.app import create_app

__all__ = ["harness", "no_proxy_for_loopback"]


@pytest.fixture
def harness() -> Harness:
    return make_harness(create_app, "items")
