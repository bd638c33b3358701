"""The ABI check fails the build: a nested Bazel builds the three wrong images
(checked, tools/abi_check/tests:*_image) and must fail, naming each problem.

The images themselves build (their *_unchecked layouts are this test's data):
what fails is the check's validation action, which Bazel runs because the
checked target was asked for.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from checkout import workspace_dir
from nested_bazel import NestedBazel, copy_checkout
from nested_bazel_testing import scratch_dir, terminate_cleanly  # noqa: F401

PACKAGE = "//tools/abi_check/tests"
WRONG = ["wrong_architecture", "missing_library", "newer_glibc"]


@pytest.fixture(scope="module")
def bazel() -> Iterator[NestedBazel]:
    with scratch_dir("abi_check") as tmp:
        checkout = tmp / "checkout"
        copy_checkout(workspace_dir(), checkout)
        with NestedBazel(checkout, tmp, "abi") as nested:
            yield nested


def test_each_wrong_image_fails_the_build_with_its_problem(bazel: NestedBazel) -> None:
    targets = [f"{PACKAGE}:{name}_image" for name in WRONG]
    result = bazel.run("build", "--keep_going", *targets, timeout=1200)
    assert result.returncode != 0, result.stderr[-3000:]
    stderr = result.stderr
    for name in WRONG:
        assert f"ABI check of {PACKAGE}:{name}_image (" in stderr, stderr[-5000:]
    assert "orjson.cpython-313-x86_64-linux-gnu.so" in stderr
    assert "the image is linux/arm64/v8 (AArch64)" in stderr
    assert "it needs libgcc_s.so.1 (DT_NEEDED)" in stderr
    assert "it needs symbol version GLIBC_2.99 from libc.so.6" in stderr
    assert "FAILED: Build did NOT complete successfully" in stderr or "ERROR:" in stderr


def test_the_same_layouts_without_the_check_build(bazel: NestedBazel) -> None:
    targets = [f"{PACKAGE}:{name}_unchecked" for name in WRONG]
    result = bazel.run("build", *targets, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
