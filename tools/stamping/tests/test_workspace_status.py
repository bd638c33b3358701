"""tools/stamping/workspace_status.sh in throwaway git repositories."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = (
    Path(os.environ["TEST_SRCDIR"]) / "_main" / "tools/stamping/workspace_status.sh"
)
COMMIT_EPOCH = 1700000000  # 2023-11-14T22:13:20Z
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_AUTHOR_DATE": f"@{COMMIT_EPOCH} +0000",
    "GIT_COMMITTER_DATE": f"@{COMMIT_EPOCH} +0000",
}


def status(cwd: Path, **env: str) -> dict[str, str]:
    environment = {"PATH": os.environ["PATH"], "HOME": str(cwd), **env}
    result = subprocess.run(
        [str(SCRIPT)], cwd=cwd, env=environment, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    return dict(line.split(" ", 1) for line in result.stdout.splitlines())


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, env={**os.environ, **GIT_ENV, "HOME": str(repo)},
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.fail("git is not installed (the build root has it)")
    git(tmp_path, "init", "-q")
    (tmp_path / "file").write_text("one\n")
    git(tmp_path, "add", "file")
    git(tmp_path, "commit", "-q", "-m", "one")
    return tmp_path


def test_without_git_the_placeholders(tmp_path: Path) -> None:
    assert status(tmp_path) == {
        "STABLE_VERSION": "0.0.0-dev",
        "STABLE_GIT_REVISION": "unknown",
        "STABLE_BUILD_TIME": "1970-01-01T00:00:00Z",
        "STABLE_SOURCE_DATE_EPOCH": "0",
    }


def test_untagged_commit(repo: Path) -> None:
    revision = git(repo, "rev-parse", "HEAD")
    values = status(repo)
    assert values["STABLE_GIT_REVISION"] == revision
    assert values["STABLE_VERSION"] == f"0.0.0-1-g{revision[:7]}"
    # The commit time, not the clock: a rebuild later stamps the same.
    assert values["STABLE_BUILD_TIME"] == "2023-11-14T22:13:20Z"
    assert values["STABLE_SOURCE_DATE_EPOCH"] == str(COMMIT_EPOCH)


def test_tag_gives_the_version_and_edits_make_it_dirty(repo: Path) -> None:
    git(repo, "tag", "v1.2.3")
    assert status(repo)["STABLE_VERSION"] == "1.2.3"
    (repo / "file").write_text("two\n")
    assert status(repo)["STABLE_VERSION"] == "1.2.3-dirty"
    git(repo, "commit", "-q", "-am", "two")
    assert status(repo)["STABLE_VERSION"].startswith("1.2.3-1-g")


def test_overrides_for_a_copy_without_git(tmp_path: Path) -> None:
    values = status(
        tmp_path,
        STAMP_VERSION="2.0.0",
        STAMP_GIT_REVISION="abc",
        STAMP_BUILD_EPOCH=str(COMMIT_EPOCH),
    )
    assert values == {
        "STABLE_VERSION": "2.0.0",
        "STABLE_GIT_REVISION": "abc",
        "STABLE_BUILD_TIME": "2023-11-14T22:13:20Z",
        "STABLE_SOURCE_DATE_EPOCH": str(COMMIT_EPOCH),
    }
