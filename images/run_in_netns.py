#!/usr/bin/env python3
"""Serve an unpacked image root and call it over HTTP; prints what happened as JSON.

    unshare --net --pid --fork --kill-child -- \\
        python3 run_in_netns.py --rootfs DIR --user 65532:65532 --workdir /app \\
            --env KEY=VALUE... --port 8080 --request "GET /healthz"... -- ENTRYPOINT...

Meant to run as root as PID 1 of fresh network and PID namespaces (so every
process it starts dies with it, and port 8080 is free). It brings the loopback
interface up, starts ENTRYPOINT with `unshare --mount --mount-proc --root DIR`
as the image's user, with only the image's environment (and HOME) in its
working directory, waits until the port accepts connections, sends each
request (and one malformed request line) from inside the namespace, then
SIGTERM, and prints one JSON object: start-up time, every answer (status,
headers, body), the malformed request's status line, the exit status, stdout
and stderr.
"""

from __future__ import annotations

import argparse
import fcntl
import http.client
import json
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
_IFREQ = struct.Struct("16sH22x")


def loopback_up() -> None:
    """`ip link set lo up`, without needing iproute2."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        flags = _IFREQ.unpack(fcntl.ioctl(sock, SIOCGIFFLAGS, _IFREQ.pack(b"lo", 0)))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, _IFREQ.pack(b"lo", flags | IFF_UP))


def wait_for_port(process: subprocess.Popen[bytes], port: int, timeout: float) -> float:
    """Seconds until the port accepts a connection; raises if the process exits."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(
                f"the service exited with status {process.returncode} before listening"
            )
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return time.monotonic() - started
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"nothing listened on port {port} within {timeout} s")


def call(port: int, method: str, path: str) -> dict[str, object]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        body = response.read()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return {
            "status": response.status,
            "headers": headers,
            "body": body.decode("utf-8", "replace"),
        }
    finally:
        connection.close()


def malformed(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"NOT AN HTTP REQUEST\r\n\r\n")
        return sock.recv(4096).partition(b"\r\n")[0].decode("latin-1")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="run_in_netns.py")
    parser.add_argument("--rootfs", required=True)
    parser.add_argument("--user", required=True, help="UID:GID")
    parser.add_argument("--workdir", default="/")
    parser.add_argument("--env", action="append", default=[])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--request", action="append", default=[], help='"METHOD /PATH"')
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("entrypoint", nargs="+")
    args = parser.parse_args(argv)
    uid, _, gid = args.user.partition(":")
    env = dict(item.split("=", 1) for item in args.env)
    loopback_up()
    unshare = shutil.which("unshare") or "/usr/bin/unshare"
    command = [
        unshare,
        "--mount",
        "--mount-proc",
        "--root",
        args.rootfs,
        "--wd",
        args.workdir,
    ]
    command += ["--setgid", gid, "--setuid", uid, "--", *args.entrypoint]
    result: dict[str, object] = {}
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr
        )
        try:
            result["startup_seconds"] = wait_for_port(process, args.port, args.timeout)
            result["responses"] = {
                r: call(args.port, *r.split(" ", 1)) for r in args.request
            }
            result["malformed"] = malformed(args.port)
        except (OSError, RuntimeError, http.client.HTTPException) as e:
            result["error"] = f"{type(e).__name__}: {e}"
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                result["exit_status"] = process.wait(timeout=args.timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                result["exit_status"] = (
                    f"killed: still running {args.timeout} s after SIGTERM"
                )
                process.wait()
        for name, stream in (("stdout", stdout), ("stderr", stderr)):
            stream.seek(0)
            result[name] = stream.read().decode("utf-8", "replace")
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
