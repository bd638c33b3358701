"""update_lock: the whole updater, with a stand-in for uv that answers from files.

The stand-in replaces only the network: it writes the outputs uv would write
for the two runs (pinned requirements, then pylock.toml) and logs its argv.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import update_lock

REQUIREMENTS_IN = "waitress==3.0.2\norjson\n"
PINNED = """\
orjson==3.13.0
    # via -r requirements.in
waitress==3.0.2
    # via -r requirements.in
colorama==0.4.6 ; sys_platform == 'win32'
    # via waitress
"""
FILES = "https://files.example/packages/"


def pylock(orjson_wheels: list[str], orjson_sdist: bool = True) -> str:
    wheels = ", ".join(
        f'{{ url = "{FILES}{name}", hashes = {{ sha256 = "{i + 1:064x}" }} }}'
        for i, name in enumerate(orjson_wheels)
    )
    sdist = f'sdist = {{ url = "{FILES}orjson-3.13.0.tar.gz", hashes = {{ sha256 = "{"e" * 64}" }} }}'
    return f"""\
lock-version = "1.0"
[[packages]]
name = "colorama"
version = "0.4.6"
marker = "sys_platform == 'win32'"
wheels = [{{ url = "{FILES}colorama-0.4.6-py2.py3-none-any.whl", hashes = {{ sha256 = "{"c" * 64}" }} }}]
[[packages]]
name = "orjson"
version = "3.13.0"
{sdist if orjson_sdist else ""}
wheels = [{wheels}]
[[packages]]
name = "waitress"
version = "3.0.2"
wheels = [{{ url = "{FILES}waitress-3.0.2-py3-none-any.whl", hashes = {{ sha256 = "{"a" * 64}" }} }}]
"""


FAKE_UV = """\
import json, os, sys
from pathlib import Path
here = Path(os.environ["FAKE_UV_DIR"])
out = Path(sys.argv[sys.argv.index("--output-file") + 1])
pylock = "pylock.toml" in sys.argv
with open(here / "calls.jsonl", "a") as log:
    seed = out.read_text() if out.exists() else None
    log.write(json.dumps({"argv": sys.argv[1:], "seed": seed}) + "\\n")
out.write_text((here / ("pylock.toml" if pylock else "pinned.txt")).read_text())
"""

ARGS = [
    "--requirements-in", "requirements.in", "--lock", "requirements_lock.txt",
    "--python-version", "3.13", "--glibc", "2.41",
    "--platform", "linux_x86_64", "--platform", "linux_aarch64",
    "--command", "bazel run //:requirements.update",
]  # fmt: skip

BOTH = [
    "orjson-3.13.0-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "orjson-3.13.0-cp313-cp313-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
    "orjson-3.13.0-cp313-cp313-win_amd64.whl",
]


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    uv_dir = tmp_path / "uv"
    uv_dir.mkdir()
    uv = uv_dir / "uv"
    uv.write_text(f"#!{sys.executable}\n" + FAKE_UV)
    uv.chmod(0o755)
    (uv_dir / "pinned.txt").write_text(PINNED)
    (uv_dir / "pylock.toml").write_text(pylock(BOTH))
    work = tmp_path / "workspace"
    work.mkdir()
    (work / "requirements.in").write_text(REQUIREMENTS_IN)
    monkeypatch.setenv("FAKE_UV_DIR", str(uv_dir))
    monkeypatch.setenv("BUILD_WORKSPACE_DIRECTORY", str(work))
    return work


def run(workspace: Path, *extra: str) -> int:
    return update_lock.main(
        [
            *ARGS,
            "--uv",
            str(workspace.parent / "uv/uvx"),
            str(workspace.parent / "uv/uv"),
            *extra,
        ]
    )


def calls(workspace: Path) -> list[dict]:
    log = workspace.parent / "uv/calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_writes_a_wheel_per_target_and_drops_what_no_target_needs(
    workspace: Path,
) -> None:
    assert run(workspace) == 0
    lock = (workspace / "requirements_lock.txt").read_text()
    assert "colorama" not in lock
    assert "# wheel linux_x86_64: " + FILES + BOTH[0] + "#sha256=" + f"{1:064x}" in lock
    assert (
        "# wheel linux_aarch64: " + FILES + BOTH[1] + "#sha256=" + f"{2:064x}" in lock
    )
    assert "win_amd64" not in lock
    assert (
        "# wheel any: " + FILES + "waitress-3.0.2-py3-none-any.whl#sha256=" + "a" * 64
        in lock
    )
    assert (
        "waitress==3.0.2 \\\n    --hash=sha256:"
        + "a" * 64
        + "\n    # via -r requirements.in\n"
        in lock
    )
    assert "  linux_aarch64: CPython 3.13, manylinux aarch64, glibc <= 2.41" in lock
    first, second = calls(workspace)
    assert first["argv"][:3] == ["pip", "compile", str(workspace / "requirements.in")]
    assert "--universal" in first["argv"] and "--system-certs" in first["argv"]
    assert ["--format", "pylock.toml"] == second["argv"][
        second["argv"].index("--format") :
    ][:2]
    assert "--no-deps" in second["argv"]


def test_the_current_lock_is_uvs_previous_output_and_flags_pass_through(
    workspace: Path,
) -> None:
    (workspace / "requirements_lock.txt").write_text("waitress==3.0.1\n")
    assert run(workspace, "--upgrade-package", "orjson") == 0
    first = calls(workspace)[0]
    assert first["seed"] == "waitress==3.0.1\n"
    assert first["argv"][-2:] == ["--upgrade-package", "orjson"]


def test_check_passes_when_up_to_date_and_names_the_drift_otherwise(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(workspace) == 0
    assert run(workspace, "--check") == 0
    lock = workspace / "requirements_lock.txt"
    lock.write_text(lock.read_text().replace("waitress==3.0.2", "waitress==3.0.1"))
    capsys.readouterr()
    assert run(workspace, "--check") == 1
    err = capsys.readouterr().err
    assert "requirements_lock.txt is out of date:" in err
    assert "waitress: the lock pins 3.0.1, the resolution gives 3.0.2" in err
    assert "Run `bazel run //:requirements.update` to regenerate it." in err
    assert lock.read_text().count("waitress==3.0.1") == 1, "--check must not write"


def test_check_offline_compares_requirements_in_with_the_lock(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(workspace) == 0
    assert update_lock.main([*ARGS, "--check", "--offline"]) == 0
    (workspace / "requirements.in").write_text(REQUIREMENTS_IN + "prometheus-client\n")
    capsys.readouterr()
    assert update_lock.main([*ARGS, "--check", "--offline"]) == 1
    assert "prometheus-client: requirements.in names it" in capsys.readouterr().err


def test_a_distribution_with_only_an_sdist_is_named_and_nothing_is_written(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workspace.parent / "uv/pylock.toml").write_text(pylock([]))
    assert run(workspace) == 1
    err = capsys.readouterr().err
    assert (
        "orjson 3.13.0 publishes only a source distribution (orjson-3.13.0.tar.gz)"
        in err
    )
    assert not (workspace / "requirements_lock.txt").exists()


def test_no_wheel_for_a_target_platform_is_named(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workspace.parent / "uv/pylock.toml").write_text(pylock([BOTH[0], BOTH[2]]))
    assert run(workspace) == 1
    assert "orjson 3.13.0 has no wheel for linux_aarch64" in capsys.readouterr().err


def test_uv_failing_is_reported_with_its_message(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uv = workspace.parent / "uv/uv"
    uv.write_text(
        f"#!{sys.executable}\nimport sys\nsys.exit('error: No solution found')\n"
    )
    assert run(workspace) == 1
    err = capsys.readouterr().err
    assert (
        "uv failed resolving requirements.in (exit 1)" in err
        and "No solution found" in err
    )
