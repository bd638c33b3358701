"""What the container library needs from the host: root, and tools on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess

from container.errors import ContainerError

# Where tools live when the caller's PATH is the strict action PATH (no sbin).
TOOL_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def check_root() -> None:
    if os.geteuid() != 0:
        raise ContainerError(
            "containers need root (runc, umoci); run the test unsandboxed"
            ' (tags = ["no-sandbox"])'
        )


def tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path=TOOL_PATH)
    if path is None:
        raise ContainerError(
            f"{name} is not installed (looked on PATH and in {TOOL_PATH})"
        )
    return path


def run(
    argv: list[str], what: str, timeout: float
) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(  # noqa: PLW1510 - the status is checked below
        argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout
    )
    if result.returncode != 0:
        raise ContainerError(
            f"{what} failed with status {result.returncode}:\n"
            + decoded(result.stderr).strip()
        )
    return result


def decoded(data: bytes | None) -> str:
    """Output of a program, as text: UTF-8, undecodable bytes replaced."""
    return (data or b"").decode("utf-8", errors="replace")
