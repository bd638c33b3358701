"""Servers that tools and tests start on 127.0.0.1, and stop whatever happens.

Shared by the remote cache (nginx) and remote execution (BuildGrid, PostgreSQL,
buildbox) helpers: a free port, a child that dies with its parent, and a stop
that always ends with the process gone.
"""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
from pathlib import Path

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
