"""Cold start: from `runc run` to the first HTTP 200 on /readyz.

Each image is unpacked once (umoci); every run is a fresh hardened container
(//tools/container: read-only root, no capabilities, user 65532, its
own network namespace) of that bundle. The clock starts just before runc is
started and stops when /readyz first answers 200, polled every 5 ms from
inside the container's network namespace. arm64 images run under qemu-user
(binfmt_misc), registered for the duration and removed after.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from container import (
    Container,
    ContainerError,
    EmulationUnavailable,
    emulation_for,
    unpack,
)
from image_platforms import ref
from nested_bazel import remove_tree
from stats import summary

__all__ = ["ContainerError", "EmulationUnavailable", "measure"]

ENV = {"HOST": "0.0.0.0", "PORT": "8080"}
TIMEOUT = {"amd64": 30.0, "arm64": 180.0}
POLL_SECONDS = 0.005


def start_to_200(container: Container, timeout: float) -> float:
    """Start the container; seconds until /readyz answers 200."""
    started = time.monotonic()
    container.start()
    deadline = started + timeout
    while True:
        try:
            status, _, _ = container.exec_http("/readyz", timeout=timeout)
            if status == 200:
                return time.monotonic() - started
        except OSError:
            pass
        if not container.running():
            raise ContainerError(f"the container exited\n{container.describe()}")
        if time.monotonic() > deadline:
            raise ContainerError(
                f"/readyz did not answer 200 within {timeout} s\n"
                f"{container.describe()}"
            )
        time.sleep(POLL_SECONDS)


def measure_one(
    layout: Path, arch: str, work: Path, runs: int, warmups: int
) -> dict[str, Any]:
    bundle = work / f"{layout.name}-{arch}"
    with emulation_for(arch):
        unpack(layout, ref(arch), bundle)
        times = []
        try:
            for number in range(warmups + runs):
                with Container(
                    bundle, env=ENV, remove_bundle=False, name="bench"
                ) as container:
                    seconds = start_to_200(container, TIMEOUT[arch])
                if number >= warmups:
                    times.append(seconds * 1000)
        finally:
            remove_tree(bundle)
    result = summary(times)
    result["unit"] = "ms"
    result["warmups"] = warmups
    return result


def measure(
    layouts: dict[str, Path],
    arches: list[str],
    work: Path,
    runs: int,
    warmups: int,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """{variant: {arch: summary in ms}}."""
    results: dict[str, Any] = {}
    for arch in arches:
        for name, layout in layouts.items():
            result = measure_one(layout, arch, work, runs, warmups)
            results.setdefault(name, {})[arch] = result
            log(
                f"cold start {name} linux/{arch}: median {result['median']:.0f} ms"
                f" (min {result['min']:.0f}, max {result['max']:.0f}, {runs} runs)"
            )
    return results
