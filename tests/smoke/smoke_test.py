"""HTTP smoke test of one image on one platform, run the way production runs it.

The image layout (IMAGE, a $(rootpath)) is unpacked for PLATFORM (amd64 runs
natively, arm64 under qemu-user) and started with runc, hardened: read-only
root, no capabilities, user 65532, its own network namespace. From inside that
namespace, the service is sent the requests its entry in the table
(images/services.bzl) lists, and must give the answers listed there (SERVICE,
a $(rootpath) of the JSON smoke.bzl writes: module, port, routes, requests);
A service with `volumes` gets a fresh host directory for each, owned by the
image's user and mounted writable (its database's), and its `deploy_env`
(what a deployment's Secret gives it); its `jobs` (a migration) run first,
each in a container of its own on the same volumes, and must exit 0, as a
Kubernetes Job before the Deployment. Then the endpoints every service on
the library has are called, the access
log is checked against the requests made, and SIGTERM must end the service
cleanly within its grace period.

The tests share one container (a module fixture) and run in file order; the
shutdown test comes last because it stops the service.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from container import Container, deployed, read_image_config, unpack
from image_platforms import ref
from skips import emulation_or_skip

PLATFORM = os.environ.get("PLATFORM", "amd64")
# The service's entry in the table: what it is called, where it listens, what
# it answers.
SERVICE = json.loads(Path(os.environ["SERVICE"]).read_text(encoding="utf-8"))
MODULE: str = SERVICE["module"]
# Emulated start-up and requests are slower; the bounds stay finite.
READY_TIMEOUT = {"amd64": 30.0, "arm64": 90.0}[PLATFORM]
REQUEST_TIMEOUT = {"amd64": 5.0, "arm64": 20.0}[PLATFORM]
GRACE_SECONDS = 5
PORT: int = SERVICE["port"]
# The routes the library adds to every service's own.
STANDARD_ROUTES = ("/healthz", "/readyz", "/version", "/metrics")
NONROOT = 65532
# The placeholders an unstamped build reports (wsgi_service/buildinfo.py).
UNSTAMPED_BUILD_TIME = "1970-01-01T00:00:00Z"


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Sent:
    """A request the tests made, to find in the access log and the metrics."""

    method: str
    path: str
    status: int
    request_id: str


@dataclass
class Service:
    container: Container
    image: dict[str, Any]  # the OCI image config
    sent: list[Sent] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=itertools.count)

    def request(
        self,
        path: str,
        method: str = "GET",
        body: bytes | None = None,
        content_type: str | None = None,
        accept: str | None = None,
    ) -> Reply:
        """One request with its own X-Request-ID, recorded in `sent`."""
        request_id = f"smoke-{PLATFORM}-{next(self._ids)}"
        sent_headers = {"X-Request-ID": request_id}
        if content_type is not None:
            sent_headers["Content-Type"] = content_type
        if accept is not None:
            sent_headers["Accept"] = accept
        try:
            status, headers, data = self.container.exec_http(
                path,
                method=method,
                headers=sent_headers,
                body=body,
                timeout=REQUEST_TIMEOUT,
            )
        except OSError as err:
            pytest.fail(
                f"{method} {path}: {type(err).__name__}: {err}\n{self.context()}"
            )
        self.sent.append(Sent(method, path, status, request_id))
        return Reply(status, headers, data)

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON log lines, once the access-log line of every request sent is in.

        Lines reach the log file through runc a moment after the response.
        """
        ids = [f'"request_id":"{sent.request_id}"' for sent in self.sent]
        stdout, _ = self.container.wait_logs(
            lambda out, _: all(any(i in line for line in out) for i in ids),
            timeout=REQUEST_TIMEOUT,
        )
        records = []
        for number, line in enumerate(stdout, 1):
            try:
                record = json.loads(line)
            except ValueError:
                pytest.fail(
                    f"stdout line {number} is not JSON: {line!r}\n{self.context()}"
                )
            assert isinstance(record, dict), f"stdout line {number}: {line!r}"
            records.append(record)
        return records

    def context(self) -> str:
        """What a failure message needs: where, and the container's last log lines."""
        return (
            f"[{os.environ.get('IMAGE')} linux/{PLATFORM}] " + self.container.describe()
        )


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    layout = Path(os.environ["IMAGE"])
    image_ref = ref(PLATFORM)
    image = read_image_config(layout.resolve(), image_ref)
    env = {
        # Its own network namespace: listening everywhere reaches only it.
        "HOST": "0.0.0.0",
        "PORT": str(PORT),
        "SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS),
    }
    work = Path(tempfile.mkdtemp(prefix="smoke-", dir=os.environ.get("TEST_TMPDIR")))
    try:
        with emulation_or_skip(image["architecture"]):
            bundle = unpack(layout, image_ref, work / "bundle")
            # The entry's deploy_env, volumes and jobs (its migration, run first).
            with (
                deployed(
                    bundle, SERVICE, work / "volumes", READY_TIMEOUT, env
                ) as deployment,
                Container(
                    bundle,
                    env=deployment.env,
                    name=f"smoke-{PLATFORM}",
                    volumes=deployment.volumes,
                ) as container,
            ):
                container.start()
                container.wait_http(
                    "/readyz", timeout=READY_TIMEOUT, request_timeout=REQUEST_TIMEOUT
                )
                yield Service(container, image)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def json_reply(service: Service, reply: Reply, status: int) -> Any:
    """The JSON body of a reply that must have `status` and every answer's headers."""
    assert (
        reply.status == status
    ), f"HTTP {reply.status}: {reply.body[:300]!r}\n{service.context()}"
    assert reply.headers["Content-Type"] == "application/json", reply.headers.items()
    if SERVICE["app"] is None:
        # The library's own answers are never cached; a framework's app
        # (SERVICE["app"]) says that for itself.
        assert reply.headers["Cache-Control"] == "no-store", reply.headers.items()
    assert reply.headers["X-Content-Type-Options"] == "nosniff", reply.headers.items()
    assert reply.headers["Content-Length"] == str(
        len(reply.body)
    ), reply.headers.items()
    assert (
        reply.headers["X-Request-ID"] == service.sent[-1].request_id
    ), reply.headers.items()
    return reply.json()


# Endpoints ---------------------------------------------------------------------


def request_line(row: dict[str, Any]) -> str:
    return f"{row['method']} {row['path']}"


@pytest.mark.parametrize("row", SERVICE["requests"], ids=request_line)
def test_answers_as_its_table_entry_says(service: Service, row: dict[str, Any]) -> None:
    body = None if row["body"] is None else row["body"].encode("utf-8")
    reply = service.request(
        row["path"], method=row["method"], body=body, content_type=row["content_type"]
    )
    if row["json"] is None:
        assert (
            reply.status == row["status"]
        ), f"HTTP {reply.status}: {reply.body[:300]!r}\n{service.context()}"
    else:
        assert json_reply(service, reply, row["status"]) == row["json"]
    for name, value in row["headers"].items():
        assert reply.headers[name] == value, reply.headers.items()
    # waitress's neutral ident: no product name or version for scanners.
    assert reply.headers["Server"] == MODULE, reply.headers.items()


def test_healthz(service: Service) -> None:
    assert json_reply(service, service.request("/healthz"), 200) == {"status": "ok"}


def test_readyz(service: Service) -> None:
    assert json_reply(service, service.request("/readyz"), 200) == {"status": "ok"}


def test_version_is_the_unstamped_build(service: Service) -> None:
    labels = service.image["config"]["Labels"]
    assert json_reply(service, service.request("/version"), 200) == {
        "version": labels["org.opencontainers.image.version"],
        "revision": labels["org.opencontainers.image.revision"],
        "build_time": UNSTAMPED_BUILD_TIME,
    }


def test_unknown_path_is_a_json_404(service: Service) -> None:
    reply = service.request("/no/such/path")
    if SERVICE["app"] is not None:
        # A framework's app writes its own 404 (shelf: JSON of its own).
        assert reply.status == 404, service.context()
        return
    assert json_reply(service, reply, 404) == {
        "error": "not_found",
        "detail": "no such path",
    }


def test_head_has_headers_and_no_body(service: Service) -> None:
    reply = service.request("/healthz", method="HEAD")
    assert reply.status == 200, service.context()
    assert reply.body == b""
    assert reply.headers["Content-Length"] == str(len(b'{"status":"ok"}'))


def route_of(path: str) -> str:
    """The route a path is counted under: a route of the entry or a standard
    one, where a template's {name} (or a Flask rule's <converter:name>)
    stands for one path segment (<path:name> for one or more), or
    "unmatched"."""
    for route in (*SERVICE["routes"], *STANDARD_ROUTES):
        pattern = "/".join(
            ".+" if part.startswith("<path:") and part.endswith(">")
            else "[^/]+" if part[:1] + part[-1:] in ("{}", "<>")
            else re.escape(part)
            for part in route.split("/")
        )  # fmt: skip
        if re.fullmatch(pattern, path):
            return route
    return "unmatched"


def test_metrics_count_the_requests_made(service: Service) -> None:
    for _ in range(3):
        service.request("/healthz")
    made = list(service.sent)  # everything the tests sent before this page
    reply = service.request("/metrics")
    assert reply.status == 200, service.context()
    assert reply.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    page = reply.body.decode("utf-8")
    assert "# TYPE http_requests_total counter" in page, page
    assert "# TYPE http_request_duration_seconds histogram" in page, page
    labels = service.image["config"]["Labels"]
    # prometheus_client writes labels sorted by name and values as floats.
    build_info = (
        f'{MODULE}_build_info{{revision="{labels["org.opencontainers.image.revision"]}",'
        f'version="{labels["org.opencontainers.image.version"]}"}} 1.0'
    )
    assert build_info in page.splitlines(), page
    counted = {
        (route, status): int(float(value))
        for route, status, value in re.findall(
            r'^http_requests_total\{route="([^"]*)",status="(\d+)"\} ([0-9.]+)$',
            page,
            re.MULTILINE,
        )
    }
    expected: dict[tuple[str, str], int] = {}
    for sent in made:
        key = (route_of(sent.path.partition("?")[0]), str(sent.status))
        expected[key] = expected.get(key, 0) + 1
    # The start-up wait polled /readyz too: at least one more 200 there.
    readyz = ("/readyz", "200")
    assert counted.get(readyz, 0) >= expected.get(readyz, 0) + 1, page
    counted.pop(readyz, None)
    expected.pop(readyz, None)
    assert counted == expected, f"http_requests_total lines:\n{page}"


# What Prometheus 3 sends by default (its scrape_protocols, in order).
PROMETHEUS_3_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
    "application/openmetrics-text;version=0.0.1;q=0.5,"
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)


def test_metrics_answer_prometheus_3_in_openmetrics(service: Service) -> None:
    # The scrape path a slim image must hold too: the probe sends no Accept.
    reply = service.request("/metrics", accept=PROMETHEUS_3_ACCEPT)
    assert reply.status == 200, service.context()
    assert reply.headers["Content-Type"] == (
        "application/openmetrics-text; version=1.0.0; charset=utf-8;"
        " escaping=allow-utf-8"
    )
    page = reply.body.decode("utf-8")
    assert page.endswith("# EOF\n"), page[-200:]
    assert "# TYPE http_requests counter" in page, page
    assert "# TYPE process_cpu_seconds counter" in page, page


# How it runs ---------------------------------------------------------------------


def proc_status(pid: int) -> dict[str, str]:
    text = Path(f"/proc/{pid}/status").read_text()
    return {
        key: value.strip()
        for key, _, value in (line.partition(":") for line in text.splitlines())
    }


def test_runs_as_nonroot_without_capabilities(service: Service) -> None:
    pid = service.container.pid
    status = proc_status(pid)
    assert status["Uid"].split() == [str(NONROOT)] * 4, status["Uid"]
    assert status["Gid"].split() == [str(NONROOT)] * 4, status["Gid"]
    for capabilities in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert (
            int(status[capabilities], 16) == 0
        ), f"{capabilities}: {status[capabilities]}"
    assert status["NoNewPrivs"] == "1"
    # Its own network namespace: not the one the test runs in.
    assert os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net")


def mounts_of(pid: int) -> dict[str, tuple[str, str, str]]:
    """Mount point -> (mount options, filesystem type, super options) of a process."""
    mounts = {}
    for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines():
        before, _, after = line.partition(" - ")
        fields, (fstype, _source, super_options) = before.split(), after.split(" ", 2)
        mounts[fields[4]] = (fields[5], fstype, super_options)
    return mounts


def test_root_is_read_only_and_tmp_is_a_private_tmpfs(service: Service) -> None:
    pid = service.container.pid
    mounts = mounts_of(pid)
    assert "ro" in mounts["/"][0].split(","), mounts["/"]
    options, fstype, _ = mounts["/tmp"]
    assert fstype == "tmpfs", mounts["/tmp"]
    assert {"rw", "nosuid", "nodev", "noexec"} <= set(options.split(",")), mounts[
        "/tmp"
    ]
    # Seen through the process's own root.
    assert os.stat(f"/proc/{pid}/root/tmp").st_mode & 0o7777 == 0o1777


PROBE = """\
import errno, json, os
try:
    open("/app/probe", "w")
    root = "writable"
except OSError as err:
    root = errno.errorcode[err.errno]
with open("/tmp/probe", "w") as f:
    f.write("ok")
print(json.dumps({"root": root, "tmp": "writable", "uid": os.getuid(),
                  "gid": os.getgid(), "machine": os.uname().machine}))
"""


@pytest.fixture(scope="module")
def probe(service: Service) -> dict[str, Any]:
    """What a process in the container sees, asked with the image's own Python
    (runc exec: the same user, capabilities and namespaces; no shell needed)."""
    python = service.image["config"]["Entrypoint"][0]
    result = service.container.exec([python, "-c", PROBE], timeout=READY_TIMEOUT)
    assert result.returncode == 0, f"{result}\n{service.context()}"
    seen: dict[str, Any] = json.loads(result.stdout)
    return seen


def test_the_process_cannot_write_its_root(probe: dict[str, Any]) -> None:
    assert probe["root"] == "EROFS", probe
    assert probe["tmp"] == "writable", probe
    assert (probe["uid"], probe["gid"]) == (NONROOT, NONROOT), probe


def test_runs_the_platform_image(service: Service, probe: dict[str, Any]) -> None:
    assert service.image["architecture"] == PLATFORM
    assert probe["machine"] == {"amd64": "x86_64", "arm64": "aarch64"}[PLATFORM], probe


def test_access_log_has_one_line_per_request(service: Service) -> None:
    service.request("/?name=Log")
    service.request("/missing")
    records = service.log_records()
    for record in records:
        assert {"time", "level", "msg"} <= record.keys(), record
    assert not [
        r for r in records if r["level"] in ("warning", "error")
    ], service.context()
    by_id: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if record["msg"] == "request":
            by_id.setdefault(record["request_id"], []).append(record)
    for sent in service.sent:
        lines = by_id.get(sent.request_id, [])
        assert (
            len(lines) == 1
        ), f"{len(lines)} access-log lines for {sent}\n{service.context()}"
        line = lines[0]
        assert (line["method"], line["path"], line["status"]) == (
            sent.method,
            sent.path.partition("?")[0],
            sent.status,
        ), line
        assert (
            isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0
        ), line
        assert line["remote"] == "127.0.0.1", line
    _, stderr = service.container.logs()
    assert stderr == [], service.context()


def test_sigterm_shuts_down_cleanly_within_the_grace_period(service: Service) -> None:
    """Last: this stops the service."""
    container = service.container
    started = time.monotonic()
    container.kill(signal.SIGTERM)
    try:
        status = container.wait(timeout=GRACE_SECONDS + 30)
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"still running {GRACE_SECONDS + 30} s after SIGTERM\n{service.context()}"
        )
    elapsed = time.monotonic() - started
    assert status == 0, f"exit status {status}\n{service.context()}"
    assert elapsed <= GRACE_SECONDS, f"took {elapsed:.1f} s\n{service.context()}"
    records = service.log_records()
    messages = [r["msg"] for r in records]
    assert "shutdown started" in messages, service.context()
    started_record = records[messages.index("shutdown started")]
    assert started_record["reason"] == "SIGTERM", started_record
    assert started_record["grace_seconds"] == GRACE_SECONDS, started_record
    assert messages[-1] == "shutdown complete", service.context()
