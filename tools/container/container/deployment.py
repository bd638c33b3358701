"""What a deployment gives a service's image before it starts: env, volumes, jobs.

    with deployed(bundle, facts, work / "volumes", timeout=30) as deployment:
        with Container(bundle, env={**deployment.env, "PORT": "8080"},
                       volumes=deployment.volumes) as container:
            ...

`facts` is the service's entry as images/service_table.bzl's service_facts
writes it (the smoke tests' NAME_smoke.json, //images:services_facts):
`deploy_env` is what a Secret or ConfigMap gives it; each of `volumes` gets a
fresh host directory owned by the image's user, mounted writable (the root
stays read-only); each of `jobs` (a migration) runs to its end first, on
those volumes, in a hardened container of its own, as a Kubernetes Job runs
before the Deployment. A job that fails raises ContainerError with its
output. The directories are removed on leaving the block.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from container.bundle import ImageConfig
from container.errors import ContainerError
from container.runc import Container
from container.spec import bundle_user


@dataclass(frozen=True)
class Deployment:
    """The environment and the mounted volumes (container directory -> host)."""

    env: dict[str, str]
    volumes: dict[str, Path]


@contextlib.contextmanager
def deployed(
    bundle: Path,
    facts: Mapping[str, Any],
    where: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> Iterator[Deployment]:
    """The entry's deployment of `bundle`: volumes made under `where`, jobs run.

    `env` is added to the deploy_env for the jobs and the Deployment (PORT,
    HOST, ...); the jobs get the same environment as the service.
    """
    deployment = Deployment(
        env={**facts.get("deploy_env", {}), **(env or {})}, volumes={}
    )
    try:
        uid, gid = bundle_user(bundle)
        for number, directory in enumerate(facts.get("volumes", [])):
            host = where / str(number)
            host.mkdir(parents=True, mode=0o700)
            os.chown(host, uid, gid)
            deployment.volumes[directory] = host
        for name, argv in facts.get("jobs", {}).items():
            _run_job(bundle, name, argv, deployment, timeout)
        yield deployment
    finally:
        for host in deployment.volumes.values():
            shutil.rmtree(host, ignore_errors=True)


def _run_job(
    bundle: Path, name: str, argv: list[str], deployment: Deployment, timeout: float
) -> None:
    """`python -m ARGV...` with the image's Python, to its end; exit 0 or raise."""
    python = ImageConfig.of_bundle(bundle).entrypoint[0]
    with Container(
        bundle,
        argv=[python, "-m", *argv],
        env=deployment.env,
        remove_bundle=False,
        name=f"job-{name}",
        volumes=deployment.volumes,
    ) as job:
        try:
            result = job.run(timeout)
        except subprocess.TimeoutExpired as err:
            raise ContainerError(
                f"job {name} ({' '.join(argv)}) did not end within {timeout} s"
            ) from err
    if result.returncode != 0:
        raise ContainerError(
            f"job {name} ({' '.join(argv)}) exited {result.returncode}:\n"
            f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
