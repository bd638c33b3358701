"""A real OCI registry for tests: Debian's docker-registry on 127.0.0.1, with throwaway storage."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ACCEPT = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json"


def free_port() -> int:
    """A port nothing listens on right now (the kernel's pick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def registry(start_timeout: float = 15) -> Iterator[str]:
    """Starts docker-registry on a free 127.0.0.1 port; yields "127.0.0.1:PORT"; stops it and removes its storage."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise RuntimeError(
            "docker-registry is not installed (Debian package docker-registry)"
        )
    with tempfile.TemporaryDirectory(prefix="registry-") as tmp:
        port = free_port()
        config = Path(tmp) / "registry.yml"
        config.write_text(
            "version: 0.1\n"
            "log: {level: error}\n"
            f"storage: {{filesystem: {{rootdirectory: {tmp}/storage}}}}\n"
            f"http: {{addr: 127.0.0.1:{port}}}\n"
        )
        # Its log goes to a file, never to a pipe nobody reads: it logs every
        # HEAD of a manifest not pushed yet as an error, and pushing a few images
        # writes more than a pipe holds (64 KB), which would block the registry.
        log = Path(tmp) / "registry.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                [binary, "serve", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        try:
            deadline = time.monotonic() + start_timeout
            while True:
                try:
                    urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/v2/", timeout=1
                    ).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        tail = log.read_text(errors="replace")[-2000:]
                        raise RuntimeError(
                            f"docker-registry did not start; its log:\n{tail}"
                        ) from None
                    time.sleep(0.1)
            yield f"127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


def remote_digest(registry: str, name: str, reference: str) -> str:
    """The digest the registry serves for NAME:REFERENCE (a tag or a digest)."""
    request = urllib.request.Request(
        f"http://{registry}/v2/{name}/manifests/{reference}", method="HEAD"
    )
    request.add_header("Accept", ACCEPT)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["Docker-Content-Digest"]
