"""Cold start: from `runc run` to the first HTTP 200 on /readyz.

Each image is unpacked once (umoci); every run is a fresh hardened container
(//tools/container: read-only root, no capabilities, user 65532, its own
network namespace) of that bundle, and the runs go round the images in turn.
The clock starts just before runc is started and stops when /readyz first
answers 200, polled every 5 ms from inside the container's network
namespace. arm64 images run under qemu-user (binfmt_misc), registered for the
duration and removed after. An image whose service needs a deployment (notes:
its deploy_env, a volume, the migrate job) gets it once per bundle, before
the runs (container.deployed): the clock times the Deployment's start, not
the Job's.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from container import (
    Container,
    ContainerError,
    Deployment,
    EmulationUnavailable,
    deployed,
    emulation_for,
    unpack,
)
from image_platforms import ref
from nested_bazel import remove_tree
from services import facts_of
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


def _run_once(bundle: Path, arch: str, deployment: Deployment) -> float:
    with Container(
        bundle,
        env=deployment.env,
        remove_bundle=False,
        name="bench",
        volumes=deployment.volumes,
    ) as container:
        return start_to_200(container, TIMEOUT[arch]) * 1000


def measure_arch(
    layouts: dict[str, Path], arch: str, work: Path, runs: int, warmups: int
) -> dict[str, list[float]]:
    """{variant: ms of each run} for one platform. Every image is unpacked
    first; then each gets its warm-ups, and the runs go round the images in
    turn, so that a change in the machine's load while they are measured
    touches them all alike and the ratios of one run stay comparable."""
    bundles = {name: work / f"{layout.name}-{arch}" for name, layout in layouts.items()}
    with emulation_for(arch), contextlib.ExitStack() as deployments:
        try:
            ready: dict[str, Deployment] = {}
            for name, layout in layouts.items():
                bundle = unpack(layout, ref(arch), bundles[name])
                ready[name] = deployments.enter_context(
                    deployed(
                        bundle,
                        facts_of(name),
                        work / f"volumes-{bundle.name}",
                        TIMEOUT[arch],
                        ENV,
                    )
                )
            for name, deployment in ready.items():
                for _ in range(warmups):
                    _run_once(bundles[name], arch, deployment)
            times: dict[str, list[float]] = {name: [] for name in layouts}
            for _ in range(runs):
                for name, deployment in ready.items():
                    times[name].append(_run_once(bundles[name], arch, deployment))
        finally:
            deployments.close()
            for bundle in bundles.values():
                remove_tree(bundle)
    return times


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
        log(f"cold start linux/{arch}: {len(layouts)} images, {runs} rounds")
        for name, times in measure_arch(layouts, arch, work, runs, warmups).items():
            result = summary(times)
            result["unit"] = "ms"
            result["warmups"] = warmups
            results.setdefault(name, {})[arch] = result
            log(
                f"cold start {name} linux/{arch}: median {result['median']:.0f} ms"
                f" (min {result['min']:.0f}, max {result['max']:.0f}, {runs} runs)"
            )
    return results
