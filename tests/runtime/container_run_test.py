"""The container library (//tools/container) against real runc: run_once and Container on //images:hello_debug.

hello_debug has busybox (/usr/bin/busybox), so a container can report on
itself. Both platforms; arm64 under qemu-user (skipped, with the reason, where
the machine cannot emulate it). Every test also checks that nothing is left
behind: no runc state, no cgroup, no namespace-holding process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from container import Container, ContainerError, run_once, unpack
from image_platforms import PLATFORMS, ref
from skips import emulation_or_skip

BUSYBOX = "/usr/bin/busybox"


@pytest.fixture(scope="module", params=sorted(PLATFORMS))
def bundle(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    architecture = request.param
    with emulation_or_skip(architecture):
        directory = tmp_path_factory.mktemp(architecture)
        yield (
            architecture,
            unpack(Path(os.environ["IMAGE"]), ref(architecture), directory / "bundle"),
        )


def cgroups_named(container_id: str) -> list[Path]:
    root = Path("/sys/fs/cgroup")
    return [
        *root.glob(container_id),
        *root.glob(f"*/{container_id}"),
        *root.glob(f"*/*/{container_id}"),
    ]


def children() -> set[int]:
    own = os.getpid()
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":\t", 1)
                for line in status.read_text().splitlines()
                if ":\t" in line
            )
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(own):
            found.add(int(status.parent.name))
    return found


def test_run_once_runs_as_the_image_user_in_the_image(bundle: tuple[str, Path]) -> None:
    architecture, path = bundle
    result = run_once(
        path, [BUSYBOX, "sh", "-c", "id -u; id -g; uname -m; pwd"], None, timeout=60
    )
    assert result.returncode == 0, result
    assert result.stdout.split() == [
        "65532",
        "65532",
        PLATFORMS[architecture]["cpu"],  # What uname -m says.
        "/app",
    ], result
    assert result.args == [BUSYBOX, "sh", "-c", "id -u; id -g; uname -m; pwd"]


def test_run_once_is_hardened(bundle: tuple[str, Path]) -> None:
    _, path = bundle
    script = (
        "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status;"
        " touch /app/x 2>&1; touch /tmp/x && echo tmp-ok;"
        " stat -c %a /tmp; cat /proc/net/dev | tail -n +3 | cut -d: -f1"
    )
    result = run_once(path, [BUSYBOX, "sh", "-c", script], None, timeout=60)
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines[:6] == [
        ["CapInh:", "0000000000000000"],
        ["CapPrm:", "0000000000000000"],
        ["CapEff:", "0000000000000000"],
        ["CapBnd:", "0000000000000000"],
        ["CapAmb:", "0000000000000000"],
        ["NoNewPrivs:", "1"],
    ], result
    assert "Read-only file system" in result.stdout, result
    # Only a loopback interface: its own network namespace.
    assert lines[-3:] == [["tmp-ok"], ["1777"], ["lo"]], result


def test_run_once_passes_env_and_keeps_the_image_env(bundle: tuple[str, Path]) -> None:
    _, path = bundle
    result = run_once(
        path, [BUSYBOX, "env"], {"GREETING": "hi", "PORT": "9"}, timeout=60
    )
    env = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert env["GREETING"] == "hi"
    assert env["PORT"] == "9"
    assert env["PYTHONPATH"] == "/app:/app/site-packages"
    assert env["HOME"] == "/home/nonroot"
    assert env["PATH"].endswith(":/busybox")


def test_run_once_reports_exit_status_and_stderr(bundle: tuple[str, Path]) -> None:
    _, path = bundle
    result = run_once(
        path, [BUSYBOX, "sh", "-c", "echo out; echo err >&2; exit 3"], None, timeout=60
    )
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")


def test_run_once_without_argv_runs_the_entrypoint(bundle: tuple[str, Path]) -> None:
    _, path = bundle
    # PORT=x is a configuration error: the service says so and exits 2.
    result = run_once(path, None, {"PORT": "x"}, timeout=90)
    assert result.returncode == 2, result
    assert result.stderr.startswith("config error: PORT='x' is not allowed"), result


def test_run_once_kills_what_runs_too_long(bundle: tuple[str, Path]) -> None:
    _, path = bundle
    before = children()
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        run_once(path, [BUSYBOX, "sleep", "60"], None, timeout=2)
    assert time.monotonic() - started < 30
    assert children() <= before
    assert path.exists(), "run_once keeps the bundle"


def test_container_leaves_nothing_behind(
    bundle: tuple[str, Path], tmp_path: Path
) -> None:
    _, path = bundle
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(path), str(copy)], check=True)
    before = children()
    with Container(copy, argv=[BUSYBOX, "sleep", "600"]) as container:
        container.start()
        pid = container.pid
        assert cgroups_named(container.id), "runc made no cgroup where expected"
        assert Path(f"/proc/{pid}").exists()
    assert (
        not Path(f"/proc/{pid}").exists()
        or "zombie" in Path(f"/proc/{pid}/status").read_text()
    )
    assert cgroups_named(container.id) == []
    assert children() <= before
    assert not copy.exists(), "the bundle is removed"


def test_container_exit_status_and_logs(bundle: tuple[str, Path]) -> None:
    _, path = bundle
    script = (
        "echo started; trap 'echo stopping; exit 7' TERM; while :; do sleep 0.1; done"
    )
    with Container(
        path, argv=[BUSYBOX, "sh", "-c", script], remove_bundle=False
    ) as container:
        container.start()
        container.wait_logs(lambda out, _: out == ["started"], timeout=60)
        container.kill(signal.SIGTERM)
        assert container.wait(timeout=30) == 7
    assert container.logs() == (["started", "stopping"], [])


def test_start_failure_says_why(bundle: tuple[str, Path]) -> None:
    _, path = bundle
    container = Container(path, argv=["/no/such/program"], remove_bundle=False)
    with container, pytest.raises(ContainerError) as raised:
        container.start()
        container.wait_http("/", timeout=30)
    assert "/no/such/program" in str(raised.value)
