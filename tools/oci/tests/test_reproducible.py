"""Reproducibility: one index built from two checkouts at different paths, in two
output bases, with no disk or remote cache, gives the same digest and the same blobs.

The checkout is found through the real path of //:MODULE.bazel (a data dependency)
and copied file by file (`git ls-files`, including new files not yet committed).
Bazel runs as tools/bazel runs it inside the build root (same rc files, minus the
cache rc), with HOME in a temporary directory. Only downloads are shared: Bazel's
repository cache and pip's cache under $TOOLS_BAZEL_CACHE, both checked by hash.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from checkout import workspace_dir
from nested_bazel import (
    NestedBazel,
    copy_checkout,
    files_by_hash,
)
from nested_bazel_testing import scratch_dir, terminate_cleanly  # noqa: F401
from oci_layout import runfile

TARGET = os.environ.get("TARGET", "//tools/oci/tests:reproducible_index")
BUILD_TIMEOUT = 600  # seconds, each; a cold build with fetching takes about a minute.


@pytest.fixture
def work() -> Iterator[Path]:
    with scratch_dir("reproducible") as path:
        yield path


def test_two_checkouts_two_output_bases_same_blobs(work: Path) -> None:
    source = workspace_dir()
    package, _, name = TARGET.removeprefix("//").partition(":")
    outputs = []
    # Different lengths and depths, so no path can hide in an equal-length field.
    for index, checkout in enumerate(
        [work / "a" / "checkout", work / "bb" / "deeper" / "other-checkout"]
    ):
        copy_checkout(source, checkout)
        with NestedBazel(checkout, work, f"ob{index + 1}") as nested:
            result = nested.build(
                [TARGET], flags=["--output_groups=+digest"], timeout=BUILD_TIMEOUT
            )
        # No cache of outputs: the actions really ran, in each output base.
        print(f"{checkout}: {result.summary.line}")
        assert result.summary.cache_hits == 0, result.summary.line
        assert result.summary.local > 0, result.summary.line
        bin_dir = result.bin_dir
        outputs.append(
            {
                "digest": (bin_dir / package / f"{name}.digest").read_text(),
                "files": files_by_hash(bin_dir / package / name),
            }
        )
    first, second = outputs
    assert first["digest"].startswith("sha256:")
    assert first["digest"] == second["digest"]
    differing = sorted(
        path
        for path in first["files"].keys() | second["files"].keys()
        if first["files"].get(path) != second["files"].get(path)
    )
    assert (
        not differing
    ), f"files of {TARGET} that differ between the two builds: {differing}"
    # The build that ran this test (a third checkout path and output base,
    # perhaps from a cache) made the same bytes.
    assert files_by_hash(runfile("OUTER_LAYOUT")) == first["files"]
    assert "index.json" in first["files"] and len(first["files"]) > 5
