"""Containers: one hardened runc container of an unpacked bundle, and its lifecycle.

    with Container(bundle, env={"HOST": "0.0.0.0"}) as container:
        container.start()
        status, headers, body = container.wait_http("/readyz", timeout=30)
        container.kill(signal.SIGTERM)
        assert container.wait(10) == 0

    result = run_once(bundle, ["/usr/bin/python3.13", "--version"], None, timeout=30)

config.json comes from spec.py, the network namespace from netns.py; arm64
images need emulation.py's arm64_emulation() around them.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from types import TracebackType
from typing import Any

from container.bundle import ImageConfig
from container.emulation import check_can_run
from container.errors import ContainerError
from container.host import check_root, decoded, tool
from container.netns import NamespacedHTTPConnection, NetworkNamespace
from container.spec import bundle_spec


@dataclass
class _Logs:
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)


class Container:
    """One runc container of an unpacked bundle, removed with all it used on exit.

        with Container(bundle, env={...}) as container:
            container.start()
            ...

    `argv` replaces the image's Entrypoint+Cmd, `env` is added to (and
    overrides) the image's Env, `volumes` (container directory -> host
    directory) are mounted writable, `port` is where exec_http connects (default:
    the PORT the process gets, else the image's lowest exposed TCP port).
    Leaving the block kills and deletes the container, ends its network
    namespace, removes its state and, unless remove_bundle=False, the bundle.
    """

    def __init__(
        self,
        bundle: Path,
        *,
        argv: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        remove_bundle: bool = True,
        name: str = "test",
        volumes: Mapping[str, Path] | None = None,
    ) -> None:
        self.bundle = Path(bundle)
        self.argv = list(argv) if argv is not None else None
        self.env = dict(env or {})
        self.volumes = {d: str(Path(h).resolve()) for d, h in (volumes or {}).items()}
        self.image = ImageConfig.of_bundle(self.bundle)
        self.remove_bundle = remove_bundle
        self.id = f"{name}-{os.getpid()}-{secrets.token_hex(4)}"
        if port is None:
            merged = dict(e.partition("=")[::2] for e in self.image.env) | self.env
            port_text = merged.get("PORT", "")
            port = int(port_text) if port_text.isdigit() else self.image.tcp_port
        self.port = port
        self._state_dir: Path | None = None
        self._netns: NetworkNamespace | None = None
        self._runc: subprocess.Popen[bytes] | None = None
        self._logs: _Logs | None = None  # kept when the state dir is removed
        self._interrupts = _TermAsInterrupt()

    # Set-up and clean-up ------------------------------------------------------

    def __enter__(self) -> Container:
        self._interrupts.__enter__()
        try:
            check_root()
            check_can_run(self.image.architecture)
            self._state_dir = Path(tempfile.mkdtemp(prefix=f"{self.id}-"))
            (self._state_dir / "runc").mkdir()
            self._netns = NetworkNamespace.create()
            spec = bundle_spec(
                self.bundle,
                argv=self.argv,
                env=self.env,
                netns=self._netns.path,
                hostname=self.id[:63],
                volumes=self.volumes,
            )
            (self._state_dir / "config.json").write_text(json.dumps(spec, indent=2))
        except BaseException:
            self._cleanup()
            self._interrupts.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            problems = self._cleanup()
        finally:
            self._interrupts.__exit__(None, None, None)
        if problems:
            message = f"cleaning up container {self.id}: " + "; ".join(problems)
            if exc is not None:
                exc.add_note(message)
            else:
                raise ContainerError(message)

    def _cleanup(self) -> list[str]:
        """Remove everything; return what could not be removed (normally nothing)."""
        problems: list[str] = []
        if self._runc is not None and self._runc.poll() is None:
            # Killing its init ends the whole pid namespace; runc run then
            # removes the container itself.
            self._runc_command("kill", self.id, "KILL", check=False)
            try:
                self._runc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._runc.kill()
                self._runc.wait()
                problems.append("runc run did not exit after SIGKILL to the container")
        if self._state_dir is not None and (self._state_dir / "runc").exists():
            # Whatever is left (a container runc run could not remove): gone,
            # with its cgroups.
            deleted = self._runc_command("delete", "--force", self.id, check=False)
            if deleted.returncode != 0 and self._exists():
                problems.append(
                    f"runc delete --force failed: {decoded(deleted.stderr).strip()}"
                )
        if self._netns is not None:
            problems += self._netns.close()
            self._netns = None
        if self._state_dir is not None:
            if self._logs is None:
                self._logs = self._read_logs()
            if not problems:
                shutil.rmtree(self._state_dir, ignore_errors=True)
            else:
                problems.append(f"state left in {self._state_dir}")
            self._state_dir = None
        if self.remove_bundle and self.bundle.exists():
            shutil.rmtree(self.bundle, ignore_errors=True)
        return problems

    # Running ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the container in the background; its output goes to files (logs()).

        runc runs in the foreground of a child process (the way `docker run`
        attaches), so that wait() gets the container's exit status.
        """
        state = self._require_state()
        if self._runc is not None:
            raise ContainerError(f"container {self.id} was already started")
        with (
            open(state / "stdout.log", "wb") as stdout,
            open(state / "stderr.log", "wb") as stderr,
        ):
            self._runc = subprocess.Popen(
                self._runc_argv("run", "--bundle", str(state), self.id),
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
            )
        # Wait until runc has made the container (or failed), so that state(),
        # kill() and exec() have something to act on.
        deadline = time.monotonic() + 30
        while not self._exists():
            if self._runc.poll() is not None:
                raise ContainerError(
                    f"runc run exited with status {self._runc.returncode} before the"
                    f" container started\n{self.describe()}"
                )
            if time.monotonic() > deadline:
                raise ContainerError(
                    f"the container did not start in 30 s\n{self.describe()}"
                )
            time.sleep(0.02)

    def run(self, timeout: float) -> subprocess.CompletedProcess[str]:
        """Run the container in the foreground to its end; its output, decoded as UTF-8.

        On timeout the container is killed and subprocess.TimeoutExpired raised.
        """
        state = self._require_state()
        argv = self.argv if self.argv is not None else self.image.argv
        self._runc = subprocess.Popen(
            self._runc_argv("run", "--bundle", str(state), self.id),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            stdout, stderr = self._runc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._runc_command("kill", self.id, "KILL", check=False)
            stdout, stderr = self._runc.communicate(timeout=30)
            raise subprocess.TimeoutExpired(argv, timeout, stdout, stderr) from None
        return subprocess.CompletedProcess(
            argv, self._runc.returncode, decoded(stdout), decoded(stderr)
        )

    def state(self) -> dict[str, Any]:
        """`runc state`: id, pid (of the container's init, on the host), status, ..."""
        result = self._runc_command("state", self.id, check=True)
        state: dict[str, Any] = json.loads(result.stdout)
        return state

    @property
    def pid(self) -> int:
        """The host pid of the container's init process."""
        return int(self.state()["pid"])

    def running(self) -> bool:
        return self._runc is not None and self._runc.poll() is None

    def kill(self, sig: int = signal.SIGTERM) -> None:
        """Send a signal to the container's init process (runc kill)."""
        self._runc_command("kill", self.id, str(int(sig)), check=True)

    def wait(self, timeout: float) -> int:
        """The container's exit status (128+N if signal N killed it).

        Raises subprocess.TimeoutExpired if it is still running after `timeout` s.
        """
        if self._runc is None:
            raise ContainerError(f"container {self.id} was never started")
        return self._runc.wait(timeout=timeout)

    def exec(
        self, argv: Sequence[str], timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in the running container (runc exec): same user, capabilities,
        namespaces and root as its init process. Output decoded as UTF-8."""
        result = self._runc_command(
            "exec", self.id, *argv, check=False, timeout=timeout
        )
        return subprocess.CompletedProcess(
            list(argv),
            result.returncode,
            decoded(result.stdout),
            decoded(result.stderr),
        )

    # HTTP from inside the network namespace -----------------------------------------

    def exec_http(
        self,
        path: str,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 5,
    ) -> tuple[int, Message, bytes]:
        """One HTTP/1.1 request to 127.0.0.1:port in the container's network namespace.

        Returns (status, headers, body); headers is case-insensitive
        (headers["allow"] == headers["Allow"]). Raises OSError (for example
        ConnectionRefusedError) if nothing answers.
        """
        connection = NamespacedHTTPConnection(
            self._require_netns(), "127.0.0.1", self._require_port(), timeout=timeout
        )
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    def connect(self, timeout: float = 5) -> socket.socket:
        """A TCP connection to 127.0.0.1:port in the container's network namespace,
        for what HTTP clients will not send (a malformed request, half a request).
        Raises OSError (for example ConnectionRefusedError) if nothing listens."""
        return self._require_netns().connect("127.0.0.1", self._require_port(), timeout)

    def _require_netns(self) -> NetworkNamespace:
        if self._netns is None:
            raise ContainerError(
                f"container {self.id} is not set up (use it in a with block)"
            )
        return self._netns

    def _require_port(self) -> int:
        if self.port is None:
            raise ContainerError("no port: give Container(port=...)")
        return self.port

    def wait_http(
        self,
        path: str = "/readyz",
        status: int = 200,
        timeout: float = 30,
        request_timeout: float = 5,
    ) -> tuple[int, Message, bytes]:
        """Poll `path` until it answers `status`; its last answer.

        Fails early, with the logs, if the container exits; after `timeout` s
        with the last answer or error and the logs.
        """
        deadline = time.monotonic() + timeout
        last = "no attempt"
        while True:
            if self._runc is not None and self._runc.poll() is not None:
                raise ContainerError(
                    f"the container exited with status {self._runc.returncode} while"
                    f" waiting for {path}\n{self.describe()}"
                )
            try:
                answer = self.exec_http(path, timeout=request_timeout)
            except OSError as err:
                last = f"{type(err).__name__}: {err}"
            else:
                if answer[0] == status:
                    return answer
                last = f"HTTP {answer[0]}: {answer[2][:200]!r}"
            if time.monotonic() > deadline:
                raise ContainerError(
                    f"{path} did not answer {status} within {timeout} s"
                    f" (last: {last})\n"
                    f"{self.describe()}"
                )
            time.sleep(0.1)

    # Logs and diagnostics ------------------------------------------------------------

    def logs(self) -> tuple[list[str], list[str]]:
        """(stdout lines, stderr lines) of the container so far (also after exit).

        While it runs, output reaches the files through runc's copying, a
        moment after the process wrote it: use wait_logs to expect a line.
        """
        logs = self._logs if self._logs is not None else self._read_logs()
        return list(logs.stdout), list(logs.stderr)

    def wait_logs(
        self,
        condition: Callable[[list[str], list[str]], bool],
        timeout: float = 10,
    ) -> tuple[list[str], list[str]]:
        """The logs once condition(stdout, stderr) holds, or after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            stdout, stderr = self.logs()
            if condition(stdout, stderr) or time.monotonic() > deadline:
                return stdout, stderr
            time.sleep(0.05)

    def describe(self, lines: int = 20) -> str:
        """The last log lines, for failure messages."""
        stdout, stderr = self.logs()
        parts = [
            f"container {self.id} (image {self.image.architecture}, {self.bundle})"
        ]
        for label, text in (("stdout", stdout), ("stderr", stderr)):
            shown = text[-lines:]
            skipped = (
                f" (last {len(shown)} of {len(text)})" if len(text) > len(shown) else ""
            )
            parts.append(
                f"--- {label}{skipped}:" + "".join(f"\n  {line}" for line in shown)
            )
        return "\n".join(parts)

    def _read_logs(self) -> _Logs:
        if self._state_dir is None:
            return _Logs()
        return _Logs(
            *(
                (
                    decoded((self._state_dir / name).read_bytes()).splitlines()
                    if (self._state_dir / name).exists()
                    else []
                )
                for name in ("stdout.log", "stderr.log")
            )
        )

    # runc ------------------------------------------------------------------------

    def _require_state(self) -> Path:
        if self._state_dir is None:
            raise ContainerError(
                f"container {self.id} is not set up (use it in a with block)"
            )
        return self._state_dir

    def _runc_argv(self, *args: str) -> list[str]:
        return [tool("runc"), "--root", str(self._require_state() / "runc"), *args]

    def _runc_command(
        self, *args: str, check: bool, timeout: float = 60
    ) -> subprocess.CompletedProcess[bytes]:
        result = subprocess.run(  # noqa: PLW1510 - the status is checked below
            self._runc_argv(*args),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise ContainerError(
                f"runc {' '.join(args)} failed ({result.returncode}):"
                f" {decoded(result.stderr).strip()}"
            )
        return result

    def _exists(self) -> bool:
        return (self._require_state() / "runc" / self.id / "state.json").exists()


def run_once(
    bundle: Path,
    argv: list[str] | None,
    env: Mapping[str, str] | None,
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    """Run one short-lived command in a hardened container of `bundle`, to its end.

    argv None runs the image's Entrypoint+Cmd; env is added to the image's Env.
    Returns its exit status and output (decoded as UTF-8); the bundle is kept,
    so it can be used again. Raises subprocess.TimeoutExpired (after killing
    it) if it runs longer than `timeout` s.
    """
    with Container(
        bundle, argv=argv, env=env, remove_bundle=False, name="run"
    ) as container:
        return container.run(timeout)


class _TermAsInterrupt:
    """While a container exists, SIGTERM raises KeyboardInterrupt in the main thread.

    Bazel ends a test that times out with SIGTERM: with this, the with blocks
    unwind and every container is removed, instead of the process just dying.
    Nested uses share one handler; the previous one is restored at the end.
    """

    _depth = 0
    _previous: Any = None

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        cls = type(self)
        if cls._depth == 0 and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            cls._previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        cls._depth += 1

    def __exit__(self, *exc: object) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        cls = type(self)
        cls._depth -= 1
        if cls._depth == 0 and cls._previous is not None:
            signal.signal(signal.SIGTERM, cls._previous)
            cls._previous = None


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")
