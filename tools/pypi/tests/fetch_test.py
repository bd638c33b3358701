"""The `pip` extension in a Bazel of its own, on a copy of the checkout.

- A target fetches the wheels it uses, nothing else of the lock.
- A platform the lock has no wheels for fails, naming the distribution.
- A wheel whose sha256 is not the locked one fails, naming it and the lock.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from checkout import workspace_dir
from nested_bazel import NestedBazel, copy_checkout
from nested_bazel_testing import scratch_dir, terminate_cleanly  # noqa: F401

LOCK = "requirements_lock.txt"


@pytest.fixture(scope="module")
def bazel() -> Iterator[NestedBazel]:
    with scratch_dir("pypi_fetch") as tmp:
        checkout = tmp / "checkout"
        copy_checkout(workspace_dir(), checkout)
        with NestedBazel(checkout, tmp, "fetch") as nested:
            yield nested


def pypi_repositories(bazel: NestedBazel) -> set[str]:
    """The pip extension's repositories fetched so far: `pypi`, `pypi_waitress`, ..."""
    return {
        marker.name.removeprefix("@_main~pip~").removesuffix(".marker")
        for marker in (bazel.output_base / "external").glob("@_main~pip~*.marker")
    }


def test_a_target_fetches_only_the_wheels_it_uses(bazel: NestedBazel) -> None:
    bazel.build(["//services/hello:hello"], flags=["--nobuild"], timeout=600)
    # hello ships waitress and prometheus_client (the service library's).
    hello = {"pypi", "pypi_waitress", "pypi_prometheus_client"}
    assert pypi_repositories(bazel) == hello
    bazel.build(
        ["@pypi//pydantic"],
        flags=["--nobuild", "--platforms=//platforms:linux_arm64"],
        timeout=600,
    )
    assert pypi_repositories(bazel) - hello == {
        "pypi_annotated_types",
        "pypi_pydantic",
        "pypi_pydantic_core_linux_aarch64",
        "pypi_typing_extensions",
        "pypi_typing_inspection",
    }


def test_a_platform_without_wheels_names_the_distribution(bazel: NestedBazel) -> None:
    result = bazel.run(
        "cquery",
        "@pypi//orjson",
        "--platforms=//tools/pypi/tests:linux_riscv64",
        timeout=600,
    )
    assert result.returncode != 0
    assert (
        "orjson 3.13.0 has no wheel in requirements_lock.txt for this target platform: "
        "it has wheels for linux_aarch64, linux_x86_64" in result.stderr
    ), result.stderr[-3000:]


def test_a_wheel_with_another_sha256_names_the_distribution_and_the_lock(
    bazel: NestedBazel,
) -> None:
    lock = bazel.checkout / LOCK
    original = lock.read_text()
    match = re.search(
        r"# wheel any: (https://\S+/(waitress-[^/#]+\.whl))#sha256=([0-9a-f]{64})",
        original,
    )
    assert match, "waitress's wheel line"
    url, filename, real = match.groups()
    # The lock pins bytes the repository cache does not hold (it is keyed by
    # sha256), and the URL serves others, as a tampered mirror would.
    locked = hashlib.sha256(b"the wheel that was locked").hexdigest()
    served = bazel.checkout.parent / filename
    served.write_bytes(b"not the wheel that was locked")
    lock.write_text(original.replace(url, served.as_uri()).replace(real, locked))
    try:
        result = bazel.run("build", "--nobuild", "//services/hello:hello", timeout=600)
    finally:
        lock.write_text(original)
    assert result.returncode != 0
    got = hashlib.sha256(served.read_bytes()).hexdigest()
    assert (
        f"hash mismatch for waitress 3.0.2 ({filename}): {LOCK} pins {served.as_uri()} "
        f"at sha256 {locked}, but the file downloaded has sha256 {got}" in result.stderr
    ), result.stderr[-3000:]
    assert "regenerate the lock" in result.stderr
