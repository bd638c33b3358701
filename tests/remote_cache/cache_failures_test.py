"""--config=remote-cache when something is wrong: no endpoint stops the build at
once with a message naming what to set; a cache that is down, answers errors or
refuses uploads costs the cache, never the build: Bazel warns and runs the
actions here, and the image is the one a build without a cache makes.

Each build is a clean one (`bazel clean` before it, no disk cache); one Bazel
server makes them all, so its start, fetching and analysis are paid once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cache_server import CacheServer, free_port
from checkout import workspace_dir
from nested_bazel import NestedBazel, copy_checkout
from nested_bazel_testing import scratch_dir, terminate_cleanly  # noqa: F401

TARGET = os.environ.get("TARGET", "//tests/remote_cache:payload_image")
BUILD_TIMEOUT = 600  # seconds, each


def expected_digest() -> str:
    """The outer build's digest of the same image (made with or without a cache)."""
    return Path(os.environ["PAYLOAD_DIGEST"]).read_text().strip()


@pytest.fixture(scope="module")
def bazel() -> Iterator[NestedBazel]:
    with scratch_dir("cache-failures") as work:
        copy_checkout(workspace_dir(), work / "checkout")
        with NestedBazel(work / "checkout", work, "nested") as nested:
            yield nested


def clean_with_endpoint(bazel: NestedBazel, url: str | None) -> NestedBazel:
    """The endpoint as a user names it (None: none), and nothing built yet."""
    bazel.set_rc_lines(
        [f"common:remote-cache-endpoint --remote_cache={url}"] if url else []
    )
    bazel.clean()
    return bazel


def build_with_cache(bazel: NestedBazel, name: str, url: str) -> tuple[str, str]:
    """A clean build of TARGET with --config=remote-cache pointing at url.

    Returns Bazel's stderr and the digest it built; fails if the build failed.
    """
    clean_with_endpoint(bazel, url)
    result = bazel.build(
        [TARGET], flags=["--config=remote-cache"], timeout=BUILD_TIMEOUT
    )
    print(f"{name}: {result.summary.line}")
    for line in result.stderr.splitlines():
        if line.startswith("WARNING: Remote Cache"):
            print(f"  {line}")
    # The fallback: nothing came from the cache, the image's actions ran here.
    assert result.summary.cache_hits == 0, result.summary.line
    assert result.summary.local >= 2, result.summary.line
    package, _, target = TARGET.removeprefix("//").partition(":")
    digest = (result.bin_dir / package / f"{target}.digest").read_text().strip()
    return result.stderr, digest


def remote_cache_warnings(stderr: str) -> list[str]:
    return re.findall(r"^WARNING: Remote Cache: .*$", stderr, re.MULTILINE)


def test_no_endpoint_stops_at_once_naming_it(bazel: NestedBazel) -> None:
    clean_with_endpoint(bazel, None)
    result = bazel.run("build", "--config=remote-cache", TARGET, timeout=BUILD_TIMEOUT)
    assert result.returncode == 2, result.stderr[-3000:]
    assert (
        "Config value 'remote-cache-endpoint' is not defined in any .rc file"
        in result.stderr
    ), result.stderr[-3000:]
    assert "INFO: Build completed" not in result.stderr


def test_cache_down_builds_locally_and_says_so(bazel: NestedBazel) -> None:
    port = free_port()  # Nothing listens there.
    url = f"http://127.0.0.1:{port}"
    stderr, digest = build_with_cache(bazel, "closed-port", url)
    warnings = remote_cache_warnings(stderr)
    assert warnings, stderr[-3000:]
    assert any("Connection refused" in w or f"127.0.0.1:{port}" in w for w in warnings)
    assert digest == expected_digest()


def test_cache_answering_500_builds_locally_and_says_so(bazel: NestedBazel) -> None:
    with CacheServer(mode="error") as server:
        stderr, digest = build_with_cache(bazel, "error-500", server.url)
    traffic = server.traffic()
    assert traffic.errors > 0 and traffic.hits == 0 and traffic.uploads == 0, traffic
    warnings = remote_cache_warnings(stderr)
    assert "WARNING: Remote Cache: 500 Internal Server Error" in warnings, warnings
    assert "cache server in error mode" in stderr, stderr[-3000:]
    assert digest == expected_digest()


def test_read_only_cache_builds_locally_and_says_so(bazel: NestedBazel) -> None:
    with CacheServer(mode="read-only") as server:
        stderr, digest = build_with_cache(bazel, "read-only", server.url)
    traffic = server.traffic()
    # Every lookup was asked and missed; every upload was refused.
    assert traffic.misses > 0 and traffic.errors > 0 and traffic.uploads == 0, traffic
    # Bazel's warning quotes the status and the server's answer.
    assert remote_cache_warnings(stderr), stderr[-3000:]
    assert "HttpException: 403 Forbidden" in stderr, stderr[-3000:]
    assert "read-only cache: uploads are refused" in stderr, stderr[-3000:]
    assert digest == expected_digest()
