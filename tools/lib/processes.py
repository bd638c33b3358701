"""Servers that tools and tests start on 127.0.0.1, and stop whatever happens.

Shared by the remote cache (nginx) and remote execution (BuildGrid, PostgreSQL,
buildbox) helpers: a free port, a child that dies with its parent, a stop
that always ends with the process gone, the context manager every such server
is, and the foreground loop of their `serve` commands.
"""

from __future__ import annotations

import argparse
import ctypes
import signal
import socket
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A 127.0.0.1 port nothing listens on right now (the kernel's pick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_busy(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


class _PortNumber(argparse.Action):
    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        port = int(str(values)) if str(values).isdigit() else 0
        if not 1 <= port <= 65535:
            parser.error(f"{option_string} {values} is not a port number (1-65535)")
        setattr(namespace, self.dest, port)


def add_port_option(parser: argparse.ArgumentParser) -> None:
    """--port N of a `serve` command: where on 127.0.0.1 (default: a free port)."""
    parser.add_argument(
        "--port",
        action=_PortNumber,
        help="127.0.0.1 port to listen on (default: a free one)",
    )


def check_port_free(port: int | None, error: type[Exception]) -> None:
    """Raise `error` if the port asked for (None: any free one) is taken."""
    if port is not None and port_is_busy(port):
        raise error(
            f"port {port} on 127.0.0.1 is already in use; pick another with"
            " --port, or leave --port out for a free one"
        )


class LocalServer:
    """A server started on 127.0.0.1 by start() and ended by stop(), which
    subclasses define; as a context manager it is stopped however the block
    ends."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.stop()


def stop_signals() -> threading.Event:
    """An event that Ctrl-C, SIGTERM and SIGHUP set instead of ending the
    process: installed before anything starts, a signal during start-up still
    lets what was started be stopped."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def serve_until(stop: threading.Event, check: Callable[[], str | None]) -> str | None:
    """Wait for `stop`, calling `check` every second: the first message it
    returns (something died) ends the wait and is returned; None means `stop`
    was set."""
    while not stop.wait(1):
        if (problem := check()) is not None:
            return problem
    return None


def parent_pid(pid: int) -> int | None:
    """The parent of process `pid`, or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    return int(stat.rpartition(")")[2].split()[1])


def parent_death_signal() -> None:
    """A Popen preexec_fn: the child gets SIGTERM if the process that started it dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def stop_process(
    process: subprocess.Popen[bytes] | None,
    *,
    first_signal: str = "SIGTERM",
    timeout: float = 10,
) -> None:
    """Signal a process, wait up to `timeout`, then SIGKILL it; reap it either way."""
    if process is None:
        return
    if process.poll() is None:
        process.send_signal(getattr(signal, first_signal))
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()
