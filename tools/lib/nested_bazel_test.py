"""The parts of nested_bazel that need no Bazel: summaries, copies, trees."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from nested_bazel import (
    NestedBazelError,
    copy_checkout,
    files_by_hash,
    process_summary,
    remove_tree,
)


def test_summary_of_a_local_build() -> None:
    summary = process_summary(
        "INFO: Analyzed 3 targets.\n"
        "INFO: 44 processes: 25 internal, 19 linux-sandbox.\n"
        "INFO: Build completed successfully, 44 total actions\n"
    )
    assert summary.total == 44
    assert summary.by_kind == {"internal": 25, "linux-sandbox": 19}
    assert summary.local == 19
    assert summary.cache_hits == 0


def test_summary_of_a_cached_build_uses_the_last_line() -> None:
    summary = process_summary(
        "INFO: 2 processes: 2 internal.\n"
        "INFO: 30 processes: 27 remote cache hit, 2 internal, 1 linux-sandbox.\n"
    )
    assert summary.total == 30
    assert summary.cache_hits == 27
    assert summary.local == 1


def test_summary_of_a_single_process_and_of_nothing() -> None:
    assert process_summary("INFO: 1 process: 1 internal.\n").by_kind == {"internal": 1}
    assert process_summary("INFO: 0 processes.\n").total == 0
    with pytest.raises(NestedBazelError, match="no 'INFO: N processes'"):
        process_summary("ERROR: something else\n")


def test_copy_checkout_takes_tracked_and_new_files_but_not_ignored(
    tmp_path: Path,
) -> None:
    source = tmp_path / "source"
    source.mkdir()
    git = ["git", "-C", str(source), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (source / ".gitignore").write_text("ignored.txt\n")
    (source / "tracked.txt").write_text("tracked\n")
    (source / "gone.txt").write_text("gone\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    (source / "gone.txt").unlink()
    (source / "dir").mkdir()
    (source / "dir" / "new.txt").write_text("new\n")
    (source / "ignored.txt").write_text("ignored\n")
    destination = tmp_path / "copy"
    copy_checkout(source, destination)
    assert sorted(files_by_hash(destination)) == [
        ".gitignore",
        "dir/new.txt",
        "tracked.txt",
    ]


def test_remove_tree_removes_read_only_directories(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "ro").mkdir(parents=True)
    (tree / "ro" / "file").write_text("x")
    os.chmod(tree / "ro", 0o555)
    remove_tree(tree)
    assert not tree.exists()
    remove_tree(tree)  # Absent is fine.
