"""A remote execution grid on 127.0.0.1: BuildGrid and buildbox workers.

    with Grid(workers=2, properties=build_root_key.properties(KEY)) as grid:
        flag = f"--remote_executor={grid.url}"

One BuildGrid server (configs/buildgrid.yml: CAS, ByteStream, action cache,
execution and bots services) on a free port, its scheduler's state in a
throwaway PostgreSQL cluster (postgres.py), and N workers. A worker is a
buildbox-casd (its local CAS, a proxy of BuildGrid's) and a buildbox-worker
that takes one action at a time from BuildGrid and runs it with
buildbox-run-bubblewrap: in a fresh mount namespace holding the action's
inputs, this build root's system directories read-only, and nothing else (no
checkout, no output base, no caches), so an action that reaches for an
undeclared file fails here as it would on any remote service.

Each worker advertises the given platform properties (build_root_key.py:
`build-root=KEY` and the OS and ISA); BuildGrid only gives it actions whose
platform asks for no more than those. Everything lives in one
temporary directory, removed by stop(); every process gets SIGTERM if the one
that started it dies. Used by //tools/remote_exec:serve, :measure and the tests.
"""

from __future__ import annotations

import os
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from postgres import Postgres, PostgresError
from processes import (
    LocalServer,
    check_port_free,
    free_port,
    parent_death_signal,
    stop_process,
)

_CONFIG = Path(__file__).resolve().parent / "configs" / "buildgrid.yml"
BUILDBOX = ("buildbox-casd", "buildbox-worker", "buildbox-run-bubblewrap")
# What an action sees of this root, read-only: its programs and libraries (the
# merged-/usr links as binds: the runner makes no symlinks) and /etc.
SYSTEM_DIRS = {
    "/usr": "/usr",
    "/usr/bin": "/bin",
    "/usr/sbin": "/sbin",
    "/usr/lib": "/lib",
    "/usr/lib64": "/lib64",
    "/etc": "/etc",
}


class GridError(RuntimeError):
    """A part of the grid is missing, did not start, or stopped."""


def find_buildbox() -> dict[str, str]:
    found = {name: shutil.which(name) for name in BUILDBOX}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        raise GridError(
            f"{', '.join(missing)} not found: the workers need Debian's buildbox "
            "package, which the build root has (tools/buildroot/packages.txt). "
            "Run this through ./tools/bazel run."
        )
    return {name: str(path) for name, path in found.items()}


def buildgrid_config(*, port: int, sql_url: str, cas_dir: Path, keepalive: int) -> str:
    return string.Template(_CONFIG.read_text()).substitute(
        port=port, sql_url=sql_url, cas_dir=cas_dir, keepalive_seconds=keepalive
    )


@dataclass
class Worker:
    name: str
    directory: Path
    casd: subprocess.Popen[bytes]
    bot: subprocess.Popen[bytes]

    @property
    def running(self) -> bool:
        return self.bot.poll() is None and self.casd.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        return _tail(self.directory / "worker.log", lines)


def _tail(path: Path, lines: int) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class Grid(LocalServer):
    """BuildGrid with N buildbox workers; a context manager."""

    def __init__(
        self,
        *,
        properties: dict[str, str],
        workers: int = 2,
        port: int | None = None,
        keepalive_seconds: int = 10,
        start_timeout: float = 90,
    ) -> None:
        if workers < 0:
            raise GridError(f"workers must be 0 or more, not {workers}")
        self.properties = dict(properties)
        self.worker_count = workers
        self._requested_port = port
        self._keepalive = keepalive_seconds
        self._start_timeout = start_timeout
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.directory = Path()
        self.port = 0
        self._postgres: Postgres | None = None
        self._server: subprocess.Popen[bytes] | None = None
        self.workers: list[Worker] = []

    @property
    def url(self) -> str:
        return f"grpc://127.0.0.1:{self.port}"

    def start(self) -> None:
        tools = find_buildbox()
        check_port_free(self._requested_port, GridError)
        self._tmp = tempfile.TemporaryDirectory(prefix="remote-exec-")
        self.directory = Path(self._tmp.name)
        # PostgreSQL runs as `postgres` when we are root: it must reach its
        # directory inside (traverse, not list).
        self.directory.chmod(0o711)
        try:
            self._start_database()
            self._start_server()
            for index in range(self.worker_count):
                self.workers.append(self._start_worker(index + 1, tools))
        except BaseException:
            self.stop()
            raise

    def _start_database(self) -> None:
        self._postgres = Postgres(self.directory / "postgres")
        try:
            self._postgres.start()
        except PostgresError as error:
            raise GridError(str(error)) from error
        migrate = self._bgd("migrate", "apply", self._postgres.url)
        result = subprocess.run(
            migrate,
            capture_output=True,
            text=True,
            env=self._environment(),
            check=False,
        )
        if result.returncode != 0:
            raise GridError(
                f"bgd migrate apply failed (exit {result.returncode}):\n"
                f"{result.stdout[-2000:]}{result.stderr[-3000:]}"
            )

    def _bgd(self, *args: str) -> list[str]:
        """BuildGrid's `bgd` command, run by this Python with this process's sys.path."""
        return [sys.executable, "-c", "import sys; from buildgrid.server.app import cli; "
                "sys.argv[0] = 'bgd'; sys.exit(cli())", *args]  # fmt: skip

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        return env

    def _start_server(self) -> None:
        assert self._postgres is not None
        cas = self.directory / "cas"
        cas.mkdir()
        self.port = self._requested_port or free_port()
        config = self.directory / "buildgrid.yml"
        config.write_text(
            buildgrid_config(
                port=self.port, sql_url=self._postgres.url, cas_dir=cas,
                keepalive=self._keepalive,
            )
        )  # fmt: skip
        log = (self.directory / "buildgrid.log").open("ab")
        self._server = subprocess.Popen(
            self._bgd("server", "start", str(config)),
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=self._environment(),
            start_new_session=True, preexec_fn=parent_death_signal,
        )  # fmt: skip
        log.close()
        self._wait_for_server()

    def _wait_for_server(self) -> None:
        import grpc
        from buildgrid._protos.build.bazel.remote.execution.v2 import (
            remote_execution_pb2 as re_pb2,
        )
        from buildgrid._protos.build.bazel.remote.execution.v2 import (
            remote_execution_pb2_grpc as re_grpc,
        )

        deadline = time.monotonic() + self._start_timeout
        with grpc.insecure_channel(f"127.0.0.1:{self.port}") as channel:
            capabilities = re_grpc.CapabilitiesStub(channel)
            while True:
                assert self._server is not None
                if self._server.poll() is not None:
                    raise GridError(f"BuildGrid exited at start:\n{self.server_log()}")
                try:
                    capabilities.GetCapabilities(
                        re_pb2.GetCapabilitiesRequest(instance_name=""), timeout=2
                    )
                    return
                except grpc.RpcError:
                    pass
                if time.monotonic() > deadline:
                    raise GridError(
                        f"BuildGrid did not answer on {self.url} within "
                        f"{self._start_timeout:.0f} s:\n{self.server_log()}"
                    )
                time.sleep(0.2)

    def server_log(self, lines: int = 30) -> str:
        return _tail(self.directory / "buildgrid.log", lines)

    def _start_worker(self, number: int, tools: dict[str, str]) -> Worker:
        name = f"worker-{number}"
        directory = self.directory / name
        (directory / "cache").mkdir(parents=True)
        socket = f"unix:{directory}/casd.sock"
        log = (directory / "worker.log").open("ab")
        casd = subprocess.Popen(
            [tools["buildbox-casd"], f"--cas-remote=http://127.0.0.1:{self.port}",
             f"--bind={socket}", "--log-level=warning", str(directory / "cache")],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True, preexec_fn=parent_death_signal,
        )  # fmt: skip
        deadline = time.monotonic() + self._start_timeout
        while not (directory / "casd.sock").exists():
            if casd.poll() is not None or time.monotonic() > deadline:
                log.close()
                stop_process(casd)
                raise GridError(f"buildbox-casd of {name} did not start:\n"
                                f"{_tail(directory / 'worker.log', 15)}")  # fmt: skip
            time.sleep(0.05)
        runner_args = [f"--ro-bind-mount={host}:{inside}"
                       for host, inside in SYSTEM_DIRS.items()]  # fmt: skip
        properties = [f"--platform={key}={value}"
                      for key, value in self.properties.items()]  # fmt: skip
        bot = subprocess.Popen(
            [tools["buildbox-worker"], f"--bots-remote=http://127.0.0.1:{self.port}",
             f"--cas-remote={socket}", f"--buildbox-run={tools['buildbox-run-bubblewrap']}",
             *[f"--runner-arg={arg}" for arg in runner_args], *properties,
             # Short polls: a killed worker is noticed within the keepalive timeout.
             "--max-wait-time=2", "--log-level=warning", name],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=directory,
            # Its own process group: kill_worker() takes the running action with it.
            start_new_session=True, preexec_fn=parent_death_signal,
        )  # fmt: skip
        log.close()
        return Worker(name=name, directory=directory, casd=casd, bot=bot)

    def kill_worker(self, index: int) -> None:
        """SIGKILL worker `index` (0-based) and the action it runs, as a crash would."""
        worker = self.workers[index]
        try:
            os.killpg(worker.bot.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        worker.bot.wait()

    @property
    def server_running(self) -> bool:
        return self._server is not None and self._server.poll() is None

    def stop(self) -> None:
        """Stop the workers, BuildGrid and PostgreSQL; remove the directory."""
        for worker in self.workers:
            stop_process(worker.bot)
            stop_process(worker.casd)
        self.workers = []
        server, self._server = self._server, None
        stop_process(server, first_signal="SIGINT")
        if self._postgres is not None:
            self._postgres.stop()
            self._postgres = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
