"""Reproducibility: one index built from two checkouts at different paths, in two
output bases, with no disk or remote cache, gives the same digest and the same blobs;
so does its tar+zstd twin (compression = "zstd"), and the build setting
--//tools/oci:compression=zstd makes the same bytes as the attribute.

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

# The gzip index (TARGET) and the same images with tar+zstd layers (ZSTD_TARGET).
TARGET = os.environ.get("TARGET", "//tools/oci/tests:reproducible_index")
ZSTD_TARGET = os.environ.get("ZSTD_TARGET", "//tools/oci/tests:reproducible_zstd_index")
BUILD_TIMEOUT = 600  # seconds, each; a cold build with fetching takes about a minute.


@pytest.fixture
def work() -> Iterator[Path]:
    with scratch_dir("reproducible") as path:
        yield path


def _layout(bin_dir: Path, target: str) -> dict[str, object]:
    package, _, name = target.removeprefix("//").partition(":")
    return {
        "digest": (bin_dir / package / f"{name}.digest").read_text(),
        "files": files_by_hash(bin_dir / package / name),
    }


def test_two_checkouts_two_output_bases_same_blobs(work: Path) -> None:
    source = workspace_dir()
    outputs = []
    flagged = {}
    # Different lengths and depths, so no path can hide in an equal-length field.
    for index, checkout in enumerate(
        [work / "a" / "checkout", work / "bb" / "deeper" / "other-checkout"]
    ):
        copy_checkout(source, checkout)
        with NestedBazel(checkout, work, f"ob{index + 1}") as nested:
            result = nested.build(
                [TARGET, ZSTD_TARGET],
                flags=["--output_groups=+digest"],
                timeout=BUILD_TIMEOUT,
            )
            # No cache of outputs: the actions really ran, in each output base.
            print(f"{checkout}: {result.summary.line}")
            assert result.summary.cache_hits == 0, result.summary.line
            assert result.summary.local > 0, result.summary.line
            outputs.append(
                {t: _layout(result.bin_dir, t) for t in (TARGET, ZSTD_TARGET)}
            )
            if index == 1:  # The build setting instead of the attribute, once.
                result = nested.build(
                    [TARGET],
                    flags=["--output_groups=+digest", "--//tools/oci:compression=zstd"],
                    timeout=BUILD_TIMEOUT,
                )
                flagged = _layout(result.bin_dir, TARGET)
    first, second = outputs
    for target, outer in ((TARGET, "OUTER_LAYOUT"), (ZSTD_TARGET, "OUTER_ZSTD_LAYOUT")):
        a, b = first[target], second[target]
        assert a["digest"].startswith("sha256:")
        assert a["digest"] == b["digest"], target
        differing = sorted(
            path
            for path in a["files"].keys() | b["files"].keys()
            if a["files"].get(path) != b["files"].get(path)
        )
        assert (
            not differing
        ), f"files of {target} that differ between the two builds: {differing}"
        # The build that ran this test (a third checkout path and output base,
        # perhaps from a cache) made the same bytes.
        assert files_by_hash(runfile(outer)) == a["files"], target
        assert "index.json" in a["files"] and len(a["files"]) > 5
    # Other bytes than gzip's, and the same whether asked by attribute or flag.
    assert first[ZSTD_TARGET]["digest"] != first[TARGET]["digest"]
    assert flagged == first[ZSTD_TARGET]
