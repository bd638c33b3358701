"""Latency and throughput under wrk, and memory: the containerised service against
the same service run directly on the host, in the same run.

Each image is compared with its baseline on the host (BASELINES), run from this
tool's runfiles (the same sources and waitress) on 127.0.0.1: `host` is
`python -m hello` (our library around hello); `shelf_host` is the Flask app
alone under plain `waitress-serve --call shelf:create_app` (no library, no
container), what a team serves today, so that shelf's ratio is what the image
and the library around the app cost; `notes_host` the same for the Django
project (`waitress-serve notes.wsgi:application`, its database migrated
first, on the host). Each container is a hardened
runc container with its own network namespace; wrk runs inside that namespace
(nsenter --net), so both are measured over loopback. Services are started once;
wrk runs are interleaved round by round (host, then each image), after one
warm-up run each, so that a noisy neighbour affects every target alike.
RSS is read from /proc/PID/status (VmRSS) of the service process: idle, a
second after it is ready, and again after the last load run.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from container import Container, ContainerError, deployed, unpack
from image_platforms import ref
from nested_bazel import remove_tree
from services import facts_of, facts_of_service, service_of
from stats import summary

# Load runs natively, on the amd64 image.
REF = ref("amd64")
PATH = "/"
# Images loaded on another path, and the requests that make it answer 200
# first: items answers GET /items/1 (its model and orjson) once it is created;
# shelf's / renders its Jinja template; notes' / reads the note from SQLite
# and renders its Django template.
PATHS = {"items": "/items/1"}
SEEDS = {
    "items": [("POST", "/items", b'{"name": "bench", "price": "1.00", "tags": ["a"]}')],
    "notes": [("POST", "/api/notes", b'{"text": "bench"}')],
}


@dataclass(frozen=True)
class Host:
    """A host baseline: what it runs after sys.executable, where it is ready,
    and the table's service whose deployment it gets (deploy_env, its jobs
    run first on the host; `env` places its volumes' files under the work
    directory, {work})."""

    argv: tuple[str, ...]
    ready_path: str
    service: str | None = None
    env: tuple[tuple[str, str], ...] = ()


HOSTS = {
    "host": Host(("-m", "hello"), "/readyz"),
    "shelf_host": Host(
        ("-m", "waitress", "--listen=127.0.0.1:{port}", "--call", "shelf:create_app"),
        "/",
    ),
    "notes_host": Host(
        ("-m", "waitress", "--listen=127.0.0.1:{port}", "notes.wsgi:application"),
        "/",
        service="notes",
        env=(("NOTES_DATABASE", "{work}/notes_host.sqlite3"),),
    ),
}
# Image -> the host target its ratios are taken against.
BASELINES = {
    "shelf": "shelf_host",
    "shelf_slim": "shelf_host",
    "notes": "notes_host",
    "notes_slim": "notes_host",
}
DEFAULT_BASELINE = "host"
CONTAINER_PORT = 8080
READY_TIMEOUT = 30.0
SETTLE_SECONDS = 1.0
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
_LATENCY = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)\s*$", re.MULTILINE)
_ERRORS = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
)
_PYTHON_VERSION = "import platform; print(platform.python_version())"
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")


class BenchError(RuntimeError):
    """A measurement could not be made; the text says why."""


@dataclass(frozen=True)
class LoadOptions:
    threads: int
    connections: int
    seconds: int
    warmup_seconds: int
    rounds: int


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    latency_ms: dict[str, float]  # "p50", "p75", "p90", "p99"
    errors: int


def parse_wrk(output: str) -> WrkResult:
    """The figures of `wrk --latency` output."""
    rate = _RATE.search(output)
    latencies = {f"p{p}": float(v) * _UNITS[u] for p, v, u in _LATENCY.findall(output)}
    if rate is None or "p50" not in latencies or "p99" not in latencies:
        raise BenchError(f"cannot read wrk's output:\n{output}")
    socket_errors = _ERRORS.search(output)
    errors = sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    non_2xx = _NON_2XX.search(output)
    errors += int(non_2xx.group(1)) if non_2xx else 0
    return WrkResult(float(rate.group(1)), latencies, errors)


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise BenchError(
            "wrk is not installed: run the benchmarks through ./tools/bazel run"
            " (the build root has it), or apt-get install wrk"
        )
    return path


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchError(f"no VmRSS for pid {pid}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Target:
    """A running service wrk can load: a name, a pid, a command prefix, a URL."""

    def __init__(
        self, name: str, pid: int, prefix: list[str], url: str, python: str
    ) -> None:
        self.name, self.pid, self.prefix, self.url = name, pid, prefix, url
        self.python = python  # the interpreter's version: the builds may differ

    def wrk(self, options: LoadOptions, seconds: int) -> WrkResult:
        argv = [
            *self.prefix,
            wrk_path(),
            f"-t{options.threads}",
            f"-c{options.connections}",
            f"-d{seconds}s",
            "--latency",
            self.url,
        ]
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
        if result.returncode != 0:
            raise BenchError(
                f"wrk against {self.name} failed ({result.returncode}):"
                f" {result.stderr.strip() or result.stdout.strip()}"
            )
        return parse_wrk(result.stdout)


def baseline_of(image: str) -> str:
    return BASELINES.get(image, DEFAULT_BASELINE)


@contextlib.contextmanager
def host_service(work: Path, name: str = DEFAULT_BASELINE) -> Iterator[Target]:
    """A host baseline (HOSTS) on a free 127.0.0.1 port, stopped on exit."""
    host = HOSTS[name]
    port = free_port()
    facts = facts_of_service(host.service) if host.service else {}
    env = {
        **facts.get("deploy_env", {}),
        **{key: value.format(work=work) for key, value in host.env},
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LANG": "C.UTF-8",
    }
    log = work / f"{name}-service.log"
    for job, argv in facts.get("jobs", {}).items():
        done = subprocess.run(
            [sys.executable, "-m", *argv],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            cwd=work,
            timeout=READY_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            raise BenchError(
                f"the host service {name}'s job {job} exited {done.returncode}:"
                f"\n{(done.stdout + done.stderr)[-2000:]}"
            )
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, *(a.format(port=port) for a in host.argv)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=work,
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if process.poll() is not None:
                raise BenchError(
                    f"the host service {name} exited with status {process.returncode}"
                    f" (port {port} busy?):\n{log.read_text()[-2000:]}"
                )
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", host.ready_path)
                if connection.getresponse().status == 200:
                    connection.close()
                    break
                connection.close()
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise BenchError(
                    f"the host service {name} was not ready in {READY_TIMEOUT} s"
                    f":\n{log.read_text()[-2000:]}"
                )
            time.sleep(0.05)
        image = next((i for i, b in BASELINES.items() if b == name), "hello")
        for method, path, body in SEEDS.get(_service(image), []):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request(method, path, body, {"Content-Type": "application/json"})
            reply = connection.getresponse()
            _check_seed(name, method, path, reply.status, reply.read())
            connection.close()
        url = f"http://127.0.0.1:{port}{PATHS.get(_service(image), PATH)}"
        yield Target(name, process.pid, [], url, platform.python_version())
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def container_service(name: str, layout: Path, work: Path) -> Iterator[Target]:
    """An image's amd64 container, ready; removed with its bundle on exit."""
    bundle = work / f"load-{name}"
    unpack(layout, REF, bundle)
    try:
        env = {"HOST": "0.0.0.0", "PORT": str(CONTAINER_PORT)}
        with (
            deployed(
                bundle, facts_of(name), work / f"volumes-{name}", READY_TIMEOUT, env
            ) as deployment,
            Container(
                bundle,
                env=deployment.env,
                name=f"bench-{name}",
                volumes=deployment.volumes,
            ) as container,
        ):
            container.start()
            container.wait_http("/readyz", timeout=READY_TIMEOUT)
            for method, path, body in SEEDS.get(_service(name), []):
                status, _, answer = container.exec_http(
                    path,
                    method=method,
                    headers={"Content-Type": "application/json"},
                    body=body,
                )
                _check_seed(name, method, path, status, answer)
            pid = container.pid
            version = container.exec(
                [container.image.entrypoint[0], "-c", _PYTHON_VERSION], timeout=30
            )
            nsenter = shutil.which("nsenter")
            if nsenter is None:
                raise ContainerError("nsenter (util-linux) is not installed")
            yield Target(
                name,
                pid,
                [nsenter, f"--net=/proc/{pid}/ns/net", "--"],
                f"http://127.0.0.1:{CONTAINER_PORT}{PATHS.get(_service(name), PATH)}",
                version.stdout.strip() or "unknown",
            )
    finally:
        remove_tree(bundle)


def _service(image: str) -> str:
    """The table's service of an image (PATHS and SEEDS are by service)."""
    return service_of(image) or image


def _check_seed(name: str, method: str, path: str, status: int, answer: bytes) -> None:
    if status >= 300:
        raise BenchError(f"{name}: {method} {path} answered {status}: {answer[:500]!r}")


def measure(
    layouts: dict[str, Path],
    work: Path,
    options: LoadOptions,
    log: Callable[[str], None],
) -> dict[str, Any]:
    wrk_path()
    with contextlib.ExitStack() as stack:
        hosts = sorted({DEFAULT_BASELINE, *(baseline_of(n) for n in layouts)})
        targets = [stack.enter_context(host_service(work, h)) for h in hosts]
        for name, layout in layouts.items():
            targets.append(stack.enter_context(container_service(name, layout, work)))
        time.sleep(SETTLE_SECONDS)
        idle = {t.name: rss_kib(t.pid) for t in targets}
        if options.warmup_seconds > 0:  # --quick has none
            for target in targets:
                target.wrk(options, options.warmup_seconds)
        runs: dict[str, list[WrkResult]] = {t.name: [] for t in targets}
        for round_number in range(options.rounds):
            for target in targets:
                runs[target.name].append(target.wrk(options, options.seconds))
            log(
                f"load round {round_number + 1}/{options.rounds}: "
                + ", ".join(
                    f"{name} {r[-1].requests_per_second:.0f} req/s"
                    for name, r in runs.items()
                )
            )
        loaded = {t.name: rss_kib(t.pid) for t in targets}
    results: dict[str, Any] = {}
    for name, measured in runs.items():
        results[name] = {
            "requests_per_second": summary([r.requests_per_second for r in measured]),
            "latency_p50_ms": summary([r.latency_ms["p50"] for r in measured]),
            "latency_p99_ms": summary([r.latency_ms["p99"] for r in measured]),
            "errors": sum(r.errors for r in measured),
            "rss_idle_mib": idle[name] / 1024,
            "rss_after_load_mib": loaded[name] / 1024,
            "python": next(t.python for t in targets if t.name == name),
        }
    for name, result in results.items():
        baseline = name if name in HOSTS else baseline_of(name)
        host = results[baseline]
        result["baseline"] = baseline
        result["ratio_to_host"] = {
            key: result[key]["median"] / host[key]["median"]
            for key in ("requests_per_second", "latency_p50_ms", "latency_p99_ms")
        }
    return {
        "method": (
            f"wrk -t{options.threads} -c{options.connections} -d{options.seconds}s"
            f" --latency GET {PATH} ("
            + ", ".join(f"{name}: GET {path}" for name, path in PATHS.items())
            + "; ratios to each image's host baseline: "
            + ", ".join(f"{image}: {host}" for image, host in BASELINES.items())
            + f", others: {DEFAULT_BASELINE}"
            + f"); {options.rounds} rounds, interleaved, after one"
            f" {options.warmup_seconds} s warm-up per target; medians over rounds"
        ),
        "targets": results,
    }
