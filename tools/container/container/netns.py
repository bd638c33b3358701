"""Network namespaces: a fresh one per container, held by a helper process.

The helper made it with unshare(CLONE_NEWNET) and brought its loopback up;
runc joins it through /proc/PID/ns/net, and callers reach the service from
inside it (sockets made by a thread that entered the namespace). Nothing is
mounted for it, so nothing outlives the caller, even a killed one: the helper
exits when its stdin closes. (`ip netns add` would need a writable /run,
which the build root does not have.)
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading

from container.errors import ContainerError
from container.host import decoded, tool


class NetworkNamespace:
    """A fresh network namespace with its loopback up, held by a helper process.

    The helper unshares, brings lo up, says so, then waits for its stdin to
    close: closing it (or the test dying) ends the helper, and the namespace
    goes when its last process (the helper, then the container) is gone.
    """

    _HELPER = (
        "import os, subprocess, sys\n"
        "os.unshare(os.CLONE_NEWNET)\n"
        "subprocess.run([sys.argv[1], 'link', 'set', 'lo', 'up'], check=True)\n"
        "print('ready', flush=True)\n"
        "sys.stdin.read()\n"
    )

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.path = f"/proc/{process.pid}/ns/net"

    @classmethod
    def create(cls) -> NetworkNamespace:
        process = subprocess.Popen(
            [sys.executable, "-I", "-c", cls._HELPER, tool("ip")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        namespace = cls(process)
        assert process.stdout is not None
        if process.stdout.readline() != b"ready\n":
            problems = namespace.close()
            raise ContainerError(
                "cannot make a network namespace: "
                + decoded(process.stderr.read() if process.stderr else b"").strip()
                + "".join(f"; {p}" for p in problems)
            )
        return namespace

    def socket(self, family: int = socket.AF_INET) -> socket.socket:
        """A TCP socket of this namespace (it stays in it whoever uses it later).

        Made by a short-lived thread that enters the namespace: setns() changes
        only the calling thread, and the thread ends right after.
        """
        made: list[socket.socket] = []
        failed: list[BaseException] = []

        def enter_and_make() -> None:
            try:
                with open(self.path, "rb") as namespace:
                    os.setns(namespace.fileno(), os.CLONE_NEWNET)
                made.append(socket.socket(family, socket.SOCK_STREAM))
            except BaseException as err:  # noqa: BLE001 - handed to the caller
                failed.append(err)

        thread = threading.Thread(target=enter_and_make, name="netns")
        thread.start()
        thread.join()
        if failed:
            raise failed[0]
        return made[0]

    def connect(self, host: str, port: int, timeout: float) -> socket.socket:
        """A TCP connection to host:port made inside this namespace."""
        sock = self.socket()
        try:
            sock.settimeout(timeout)
            sock.connect((host, port))
        except BaseException:
            sock.close()
            raise
        return sock

    def close(self) -> list[str]:
        problems: list[str] = []
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            problems.append("the network namespace helper had to be killed")
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return problems


class NamespacedHTTPConnection(http.client.HTTPConnection):
    """HTTP over a connection made inside a network namespace."""

    def __init__(
        self, namespace: NetworkNamespace, host: str, port: int, timeout: float
    ):
        super().__init__(host, port, timeout=timeout)
        self._namespace = namespace

    def connect(self) -> None:
        self.sock = self._namespace.connect(self.host, self.port, self.timeout)
