"""The README check: every command in README.md's ```sh blocks, run verbatim from the host.

    tools/e2e/readme_check [--here] [--keep]

A user lives outside the build root: they type the README's commands into a
plain shell. So does this check, on a fresh clone of HEAD in a new 0700
directory (--here: in this checkout instead), in the README's order, and then
checks what each command promised: the services answer on $PORT (items
runs its compiled pydantic-core and orjson) and stop cleanly on Ctrl-C and
SIGTERM; the image is in podman and runs with the
README's flags; the pushed digests are the built ones; the release is signed;
the benchmark's report is where --out said. The only rewrite: a command that
names the README's example registry (registry.example.com) gets a
docker-registry this check starts on 127.0.0.1. A README command the check
does not know fails it: teach COMMANDS below what the command promises.

After the README, the launcher's own promises (the user's environment and
working directory, the variables it drops, signals and exit codes), images
with tar+zstd layers (--//tools/oci:compression=zstd: pushed, pulled and run
by podman, loaded from oci_load's tarball) and the clear errors of bad input
(a registry that is down, a wrong key password, an unknown engine) are checked
the same way, from the host. (With --here, bazel-bin/images then holds the
zstd build.)

Run by .ci/run after the README's test command; tools/e2e/readme_check (the
wrapper) installs what it needs from Debian first (podman, runc,
docker-registry, skopeo). Standard library only: it runs on the host's Python.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

EXAMPLE_REGISTRY = "registry.example.com"
HOST_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}[os.uname().machine]
BUILD_TIMEOUT = 3600  # a cold build root and cache take minutes; a loop never hangs
READY_TIMEOUT = 600


class CheckFailed(Exception):
    pass


def say(message: str) -> None:
    print(message, flush=True)


def ok(message: str) -> None:
    say(f"   ok: {message}")


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


# ---------------------------------------------------------------------------
# The README's commands.


def readme_commands(readme: Path) -> list[str]:
    """The lines of every ```sh block, continuation lines joined, comments kept."""
    commands, block, pending = [], False, ""
    for line in readme.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            block = stripped == "```sh" if not block else False
            continue
        if not block or not stripped or (stripped.startswith("#") and not pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        commands.append(pending + stripped)
        pending = ""
    return commands


@dataclass
class World:
    """What the check set up, and what earlier commands left for later ones."""

    checkout: Path
    scratch: Path
    env: dict[str, str]
    registry: str = ""

    def rewrite(self, command: str) -> str:
        return command.replace(EXAMPLE_REGISTRY, self.registry)


def run(world: World, command: str, *, timeout: float = BUILD_TIMEOUT, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """`bash -c COMMAND` as a user's shell would run it; output shown and returned."""
    result = subprocess.run(
        ["bash", "-c", command], cwd=cwd or world.checkout, env=env or world.env,
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    return result


def tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.splitlines()[-lines:])


def run_ok(world: World, command: str, **kwargs) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    result = run(world, command, **kwargs)
    expect(
        result.returncode == 0,
        f"exit status {result.returncode}:\n{tail(result.stdout)}\n{tail(result.stderr)}",
    )
    return result


class Served:
    """A long-running README command: started in its own process group, as a
    terminal's foreground job is, so Ctrl-C can be sent to the whole group."""

    def __init__(self, world: World, command: str, log: Path) -> None:
        self.log = log
        self.stream = log.open("w")
        self.process = subprocess.Popen(
            ["bash", "-c", command], cwd=world.checkout, env=world.env,
            stdin=subprocess.DEVNULL, stdout=self.stream, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def get(self, url: str, timeout: float = READY_TIMEOUT) -> tuple[int, bytes]:
        deadline = time.monotonic() + timeout
        while True:
            expect(
                self.process.poll() is None,
                f"exited with status {self.process.returncode} before answering "
                f"{url}:\n{tail(self.log.read_text())}",
            )
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as err:
                return err.code, err.read()
            except (urllib.error.URLError, ConnectionError, socket.timeout):
                expect(
                    time.monotonic() < deadline,
                    f"no answer from {url} in {timeout:.0f} s",
                )
                time.sleep(0.5)

    def stop(self, how: str, timeout: float = 60) -> int:
        """Ctrl-C (SIGINT to the process group) or SIGTERM to the command's own process."""
        if how == "ctrl-c":
            os.killpg(self.process.pid, signal.SIGINT)
        else:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise CheckFailed(f"still running {timeout:.0f} s after {how}")
        finally:
            self.stream.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.stream.close()


def greeting(world: World, command: str, port: int, stops: tuple[str, ...]) -> None:
    """A README command that serves hello on `port`: it answers, then stops cleanly."""
    for how in stops:
        served = Served(world, command, world.scratch / f"served-{port}.log")
        try:
            status, body = served.get(f"http://127.0.0.1:{port}/?name=you")
            expect(status == 200, f"GET /?name=you answered {status}: {body[:200]!r}")
            expect(
                json.loads(body) == {"message": "Hello, you!"},
                f"unexpected greeting {body[:200]!r}",
            )
            ok(f"answered on port {port}: {body.decode().strip()}")
            status = served.stop(how)
        finally:
            served.kill()
        expect(
            status == 0, f"exit status {status} after {how} (expected 0: a clean drain)"
        )
        ok(f"{how} stopped it cleanly, exit status 0")


def local_index(world: World, image: str) -> dict:
    """The index of bazel-bin/images/IMAGE: its digest and its platforms' manifests."""
    layout = world.checkout / "bazel-bin" / "images" / image
    entries = json.loads((layout / "index.json").read_text())["manifests"]
    (nested,) = [e for e in entries if e["mediaType"].endswith("image.index.v1+json")]
    blob = layout / "blobs" / nested["digest"].replace(":", "/")
    manifests = json.loads(blob.read_text())["manifests"]
    platforms = {m["platform"]["architecture"]: m for m in manifests}
    return {"digest": nested["digest"], "platforms": platforms, "layout": layout}


def config_digest(world: World, image: str, arch: str) -> str:
    index = local_index(world, image)
    manifest = index["platforms"][arch]["digest"].replace(":", "/")
    body = json.loads((index["layout"] / "blobs" / manifest).read_text())
    return body["config"]["digest"]


def check_build(world: World, command: str) -> None:
    result = run_ok(world, command)
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    expect(not warnings, "the build printed warnings:\n" + "\n".join(warnings))
    ok("exit status 0, no warnings")
    platforms = sorted(local_index(world, "hello")["platforms"])
    expect(platforms == ["amd64", "arm64"], f"hello's index holds {platforms}")
    ok("bazel-bin/images/hello is an index for linux/amd64 and linux/arm64")


def check_test(world: World, command: str) -> None:
    result = run_ok(world, command)
    summary = [line for line in result.stdout.splitlines() if "tests pass" in line]
    ok(summary[-1].strip() if summary else "exit status 0")


def check_service(world: World, command: str) -> None:
    port = int(re.match(r"PORT=(\d+) ", command).group(1))  # type: ignore[union-attr]
    greeting(world, command, port, ("ctrl-c", "sigterm"))


def check_items(world: World, command: str) -> None:
    """items serves on $PORT: a valid POST is stored (201), an invalid one is
    pydantic's 422, the item reads back; Ctrl-C drains it, exit status 0."""
    port = int(re.match(r"PORT=(\d+) ", command).group(1))  # type: ignore[union-attr]
    served = Served(world, command, world.scratch / f"served-{port}.log")
    base = f"http://127.0.0.1:{port}/items"
    try:
        served.get(f"http://127.0.0.1:{port}/readyz")
        lamp = {"name": "lamp", "price": "19.99"}
        status, body = post_json(base, lamp)
        expect(status == 201, f"POST /items answered {status}: {body[:300]!r}")
        item = json.loads(body)
        expect(item == {"id": 1, "tags": [], **lamp}, f"POST /items stored {item}")
        ok(f"POST /items: 201 {body.decode().strip()}")
        status, body = post_json(base, {"name": "", "price": "-1"})
        errors = json.loads(body).get("errors", []) if status == 422 else []
        kinds = sorted(e["type"] for e in errors)
        expect(
            kinds == ["greater_than_equal", "string_too_short"],
            f"an invalid POST answered {status}: {body[:300]!r}",
        )
        ok(f"an invalid POST: 422, pydantic's {', '.join(kinds)}")
        status, body = served.get(f"{base}/1")
        expect(status == 200 and json.loads(body) == item, f"GET /items/1: {status} {body[:300]!r}")  # fmt: skip
        ok("GET /items/1 answers the stored item")
        status = served.stop("ctrl-c")
    finally:
        served.kill()
    expect(status == 0, f"exit status {status} after Ctrl-C (expected 0)")
    ok("ctrl-c stopped it cleanly, exit status 0")


def check_shelf(world: World, command: str) -> None:
    """shelf (a Flask app) serves on $PORT: its template renders, its static
    file and JSON API answer, and the library's endpoints are there too, with
    Flask's rule as the route label; Ctrl-C drains it, exit status 0."""
    port = int(re.match(r"PORT=(\d+) ", command).group(1))  # type: ignore[union-attr]
    served = Served(world, command, world.scratch / f"served-{port}.log")
    base = f"http://127.0.0.1:{port}"
    try:
        served.get(f"{base}/readyz")
        status, body = served.get(f"{base}/")
        expect(status == 200 and b"<title>Shelf</title>" in body, f"GET /: {status} {body[:300]!r}")  # fmt: skip
        ok("GET / renders the Jinja template")
        status, body = served.get(f"{base}/static/style.css")
        expect(status == 200 and b"font-family" in body, f"GET /static/style.css: {status}")  # fmt: skip
        status, body = served.get(f"{base}/api/books/3")
        expect(status == 200 and json.loads(body)["year"] == 1943, f"GET /api/books/3: {status} {body[:300]!r}")  # fmt: skip
        ok("the static file and the JSON API answer")
        status, body = served.get(f"{base}/metrics")
        line = 'http_requests_total{route="/api/books/<int:book_id>",status="200"} 1.0'
        expect(status == 200 and line in body.decode(), f"/metrics lacks {line}")
        ok("/metrics counts the request under Flask's rule")
        status = served.stop("ctrl-c")
    finally:
        served.kill()
    expect(status == 0, f"exit status {status} after Ctrl-C (expected 0)")
    ok("ctrl-c stopped it cleanly, exit status 0")


def check_export(world: World, command: str) -> None:
    """`export NAME=VALUE ...`: what the user's shell keeps for the next commands."""
    result = run_ok(world, command + " && env -0")
    exported = dict(
        item.split("=", 1) for item in result.stdout.split("\0") if "=" in item
    )
    names = re.findall(r"\b([A-Z_]+)=", command)
    expect(names and all(exported.get(n) for n in names), f"{names} not exported")
    world.env.update({name: exported[name] for name in names})
    ok(f"exported {', '.join(names)} for the next commands")


def check_notes_migrate(world: World, command: str) -> None:
    """notes' manage.py migrates its database (NOTES_DATABASE, default under /tmp)."""
    result = run_ok(world, command)
    expect(
        "Applying board.0001_initial... OK" in result.stdout
        or "No migrations to apply." in result.stdout,
        f"migrate did not say what it did:\n{tail(result.stdout)}",
    )
    ok(tail(result.stdout, 1).strip())


def check_notes(world: World, command: str) -> None:
    """notes (a Django project) serves on $PORT from the migrated database: a
    note is stored (201) and read back, the template renders it, WhiteNoise
    serves the collected stylesheet, the admin's login page renders, and
    /metrics labels requests with Django's route; Ctrl-C drains it, exit 0."""
    port = int(re.match(r"PORT=(\d+) ", command).group(1))  # type: ignore[union-attr]
    served = Served(world, command, world.scratch / f"served-{port}.log")
    base = f"http://127.0.0.1:{port}"
    text = f"from the README check {os.getpid()}"
    try:
        served.get(f"{base}/readyz")
        status, body = post_json(f"{base}/api/notes", {"text": text})
        expect(status == 201, f"POST /api/notes answered {status}: {body[:300]!r}")
        note = json.loads(body)
        status, body = served.get(f"{base}/api/notes/{note['id']}")
        expect(status == 200 and json.loads(body) == note, f"GET /api/notes/{note['id']}: {status} {body[:300]!r}")  # fmt: skip
        ok(f"POST /api/notes: 201 {note}, read back from the database")
        status, body = served.get(f"{base}/")
        expect(status == 200 and f"<li>{text}</li>".encode() in body, f"GET /: {status} {body[:300]!r}")  # fmt: skip
        ok("GET / renders the note with the Django template")
        status, body = served.get(f"{base}/static/board/style.css")
        expect(status == 200 and b"font-family" in body, f"GET /static/board/style.css: {status}")  # fmt: skip
        status, body = served.get(f"{base}/admin/login/")
        expect(status == 200 and b"Django" in body, f"GET /admin/login/: {status}")
        ok("WhiteNoise serves the collected stylesheet; the admin renders")
        status, body = served.get(f"{base}/metrics")
        line = 'http_requests_total{route="/api/notes/<int:note_id>",status="200"} 1.0'
        expect(status == 200 and line in body.decode(), f"/metrics lacks {line}")
        ok("/metrics counts the request under Django's route")
        status = served.stop("ctrl-c")
    finally:
        served.kill()
    expect(status == 0, f"exit status {status} after Ctrl-C (expected 0)")
    ok("ctrl-c stopped it cleanly, exit status 0")


def post_json(url: str, body: object) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def check_load(world: World, command: str) -> None:
    result = run_ok(world, command)
    ok(tail(result.stdout, 1))
    image_id = podman(world, "image", "inspect", "--format", "{{.Id}}", "hello:latest")
    want = config_digest(world, "hello", HOST_ARCH).split(":")[1]
    expect(
        image_id == want, f"podman's hello:latest is {image_id}, the build's is {want}"
    )
    ok(
        f"podman has hello:latest, ID {want[:12]} (the linux/{HOST_ARCH} image's config)"
    )


def check_podman_run(world: World, command: str) -> None:
    port = int(re.search(r"-p (\d+):", command).group(1))  # type: ignore[union-attr]
    greeting(world, command, port, ("ctrl-c",))


def check_tarball_build(world: World, command: str) -> None:
    run_ok(world, command)
    tarballs = world.checkout / "bazel-bin/images/hello_load_tarballs"
    names = sorted(p.name for p in tarballs.iterdir())
    expect(names == ["linux-amd64.tar", "linux-arm64-v8.tar"], f"tarballs: {names}")
    ok(f"{tarballs.relative_to(world.checkout)}: {', '.join(names)}")


def check_engine_load(world: World, command: str) -> None:
    podman(world, "rmi", "--force", "hello:latest")
    result = run_ok(world, command)
    expect("hello:latest" in result.stdout + result.stderr, tail(result.stdout))
    ok("podman load read the tarball: " + tail(result.stdout, 1))


def pushed_lines(output: str) -> dict[str, str]:
    return dict(re.findall(r"^(\S+)@(sha256:[0-9a-f]{64})$", output, re.MULTILINE))


def check_push(world: World, command: str) -> dict[str, str]:
    """The push's REPOSITORY@DIGEST lines: each the built index, each tag on it."""
    result = run_ok(world, world.rewrite(command))
    pushed = pushed_lines(result.stdout)
    expect(pushed, f"push printed no REPOSITORY@DIGEST lines:\n{tail(result.stdout)}")
    tags = re.findall(r"--tag (\S+)", command)
    for repository, digest in sorted(pushed.items()):
        image = repository.rsplit("/", 1)[1]
        expect(
            digest == local_index(world, image)["digest"],
            f"{repository}@{digest} is not bazel-bin/images/{image}",
        )
        for reference in [f"{repository}@{digest}"] + [f"{repository}:{t}" for t in tags]:  # fmt: skip
            remote = skopeo_digest(world, reference)
            expect(remote == digest, f"{reference} is {remote}, pushed {digest}")
    ok(f"{len(pushed)} images ({', '.join(sorted(pushed))}): the digests skopeo reads back equal the built indexes; tags: {', '.join(tags) or 'none'}")  # fmt: skip
    return pushed


def check_keygen(world: World, command: str) -> None:
    run_ok(world, command)
    for name in ("cosign.key", "cosign.pub"):
        expect((world.checkout / name).is_file(), f"no {name} in the checkout")
    expect(
        b"ENCRYPTED" in (world.checkout / "cosign.key").read_bytes(),
        "cosign.key is not encrypted",
    )
    ok("cosign.key (encrypted) and cosign.pub written where the command was typed")


def check_release(world: World, command: str) -> None:
    result = run_ok(world, world.rewrite(command))
    manifests = sorted(world.checkout.glob("dist/*/release-manifest.json"))
    expect(manifests, f"no dist/*/release-manifest.json:\n{tail(result.stdout)}")
    released = json.loads(manifests[-1].read_text())
    for image in released["images"]:
        repository, digest = image["repository"], image["index_digest"]
        for tag in image["tags"]:
            remote = skopeo_digest(world, f"{repository}:{tag}")
            expect(
                remote == digest, f"{repository}:{tag} is {remote}, released {digest}"
            )
        # cosign's signature and SBOM attestation, as OCI referrers (the
        # registry has no referrers API: the sha256-DIGEST fallback tag).
        fallback = f"{repository}:{digest.replace(':', '-')}"
        referrers = json.loads(
            skopeo(world, "inspect", "--raw", f"docker://{fallback}")
        )
        attached = {m["digest"] for m in referrers.get("manifests", [])}
        expect(len(attached) >= 2, f"{fallback} lists {len(attached)} referrers, not a signature and an attestation")  # fmt: skip
        for reference in attached:
            skopeo_digest(world, f"{repository}@{reference}")
    names = ", ".join(image["image"] for image in released["images"])
    ok(f"released {names} as {released['version']}: tags point at the released digests, each with a signature and an SBOM attestation in the registry")  # fmt: skip


def check_bench(world: World, command: str) -> None:
    out = Path(re.search(r"--out (\S+)", command).group(1))  # type: ignore[union-attr]
    shutil.rmtree(out, ignore_errors=True)
    run_ok(world, command)
    for name in ("report.md", "results.json"):
        expect((out / name).is_file(), f"no {out / name} on the host after the run")
    ok(f"{out}/report.md and results.json are on the host")


# README command (a regular expression on the verbatim line) -> what it promises.
COMMANDS: list[tuple[str, Callable[[World, str], None]]] = [
    (r"^\./tools/bazel build //images:all\b", check_build),
    (r"^\./tools/bazel test //\.\.\.", check_test),
    (r"^PORT=\d+ \./tools/bazel run //services/hello\b", check_service),
    (r"^PORT=\d+ \./tools/bazel run //services/items\b", check_items),
    (r"^PORT=\d+ \./tools/bazel run //services/shelf\b", check_shelf),
    (r"^export SECRET_KEY=", check_export),
    (r"^\./tools/bazel run //services/notes:manage -- migrate\b", check_notes_migrate),
    (r"^PORT=\d+ \./tools/bazel run //services/notes\s", check_notes),
    (r"^\./tools/bazel run //images:hello_load\s*$", check_load),
    (r"^podman run --rm --read-only -p \d+:8080 hello:latest\b", check_podman_run),
    (r"^\./tools/bazel build //images:hello_load --output_groups=tarball", check_tarball_build),  # fmt: skip
    (r"^podman load -i bazel-bin/images/hello_load_tarballs/", check_engine_load),
    (r"^(IMAGE_REPOSITORY_PREFIX=\S+ )?\./tools/bazel run //images:push\b", check_push),
    (r"^COSIGN_PASSWORD=\S+ \./tools/bazel run //tools/release:keygen\b", check_keygen),
    (r"^COSIGN_PASSWORD=\S+ \./tools/bazel run //tools/release --", check_release),
    (r"^\./tools/bazel run //tools/bench -- .*--out /", check_bench),
]


# ---------------------------------------------------------------------------
# The launcher's promises and the errors of bad input, from the host.


def check_launcher(world: World) -> None:
    say(
        "\n$ (launcher) a bazel run program sees the user's environment and working directory"
    )
    services = world.checkout / "services"
    env = {**world.env, "FOO": "bar baz", "LD_PRELOAD": "/nonexistent.so", "PYTHONPATH": "/nonexistent", "JAVA_HOME": "/nonexistent"}  # fmt: skip
    (world.scratch / "host-file").write_text("on the host\n")
    result = run_ok(world, f"../tools/bazel run //tools/e2e:env_probe -- {world.scratch}/host-file", cwd=services, env=env)  # fmt: skip
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    seen = probe["env"]
    expect(seen.get("FOO") == "bar baz", f"FOO did not arrive: {seen.get('FOO')!r}")
    expect(seen.get("BUILD_WORKING_DIRECTORY") == str(services.resolve()), f"BUILD_WORKING_DIRECTORY is {seen.get('BUILD_WORKING_DIRECTORY')}")  # fmt: skip
    expect(probe["file"] == "on the host\n", f"the host's {world.scratch} is not visible: {probe['file']!r}")  # fmt: skip
    for dropped in ("LD_PRELOAD", "JAVA_HOME"):
        expect(dropped not in seen, f"{dropped} reached the program")
    expect("/nonexistent" not in seen.get("PYTHONPATH", ""), "the user's PYTHONPATH reached the program")  # fmt: skip
    expect(seen.get("TOOLS_BAZEL_HOST_PATH") == world.env["PATH"], "TOOLS_BAZEL_HOST_PATH is not the user's PATH")  # fmt: skip
    expect(seen.get("HOME") == world.env.get("HOME"), f"HOME is {seen.get('HOME')}")
    ok("FOO passed, HOME kept, BUILD_WORKING_DIRECTORY is services/, a file under the scratch directory is readable")  # fmt: skip
    ok("LD_PRELOAD, JAVA_HOME and the user's PYTHONPATH dropped; PATH kept in TOOLS_BAZEL_HOST_PATH")  # fmt: skip

    say("\n$ (launcher) signals reach the program and its exit code comes back")
    for how, want in (("sigterm", 40 + signal.SIGTERM), ("ctrl-c", 40 + signal.SIGINT)):
        served = Served(world, "./tools/bazel run //tools/e2e:signal_probe", world.scratch / "signal.log")  # fmt: skip
        try:
            deadline = time.monotonic() + READY_TIMEOUT
            while "ready" not in served.log.read_text():
                expect(served.process.poll() is None and time.monotonic() < deadline, tail(served.log.read_text()))  # fmt: skip
                time.sleep(0.2)
            status = served.stop(how)
        finally:
            served.kill()
        expect(status == want, f"{how}: exit status {status}, the program's is {want}")
        ok(f"{how}: the program got it once and the launcher exited {status}, the program's own status")  # fmt: skip


ZSTD_LAYER = "application/vnd.oci.image.layer.v1.tar+zstd"
ZSTD_FLAG = "--//tools/oci:compression=zstd"


def layer_types(world: World, image: str) -> set[str]:
    """The media types of every layer of bazel-bin/images/IMAGE, on every platform."""
    index = local_index(world, image)
    types = set()
    for manifest in index["platforms"].values():
        blob = index["layout"] / "blobs" / manifest["digest"].replace(":", "/")
        types |= {layer["mediaType"] for layer in json.loads(blob.read_text())["layers"]}  # fmt: skip
    return types


def check_zstd(world: World) -> None:
    """Images with tar+zstd layers: pushed and read back unchanged, pulled and
    run by podman, and loaded by podman from oci_load's tarball."""
    command = f"./tools/bazel run //images:push {ZSTD_FLAG} -- --repository-prefix {EXAMPLE_REGISTRY}/zstd --tag v1-zstd"  # fmt: skip
    say(f"\n$ (zstd layers) {command}")
    pushed = check_push(world, command)
    for repository in sorted(pushed):
        image = repository.rsplit("/", 1)[1]
        types = layer_types(world, image)
        expect(types == {ZSTD_LAYER}, f"bazel-bin/images/{image} has layers {types}")
    ok("every layer of every pushed image is tar+zstd")

    hello = next(r for r in pushed if r.endswith("/hello"))
    reference, port = f"{hello}:v1-zstd", free_port()
    served = f"podman run --rm --read-only --cap-drop=ALL --tls-verify=false -p 127.0.0.1:{port}:8080 {reference}"  # fmt: skip
    say(f"$ (zstd layers) {served}")
    try:
        greeting(world, served, port, ("ctrl-c",))
        # Not .Digest: the gzip and zstd images have one config, so one image
        # ID in podman's store, and .Digest stays the first one podman saw
        # (the README's gzip image). RepoDigests has what each pull fetched.
        repo_digests = json.loads(
            podman(world, "image", "inspect", "--format", "{{json .RepoDigests}}", reference)
        )  # fmt: skip
        pulled = {d.split("@", 1)[1] for d in repo_digests if d.startswith(hello + "@")}
        index = local_index(world, "hello")
        built = {index["digest"], index["platforms"][HOST_ARCH]["digest"]}
        expect(pulled & built, f"podman pulled {sorted(pulled)} from {hello}, none of {sorted(built)}")  # fmt: skip
        ok(f"podman pulled {reference} ({sorted(pulled & built)[0][:19]}...), the zstd build, and ran it")  # fmt: skip
    finally:
        podman(world, "rmi", "--force", reference)

    tarball = "bazel-bin/images/hello_load_tarballs/linux-" + HOST_ARCH + ("-v8" if HOST_ARCH == "arm64" else "") + ".tar"  # fmt: skip
    say(f"$ (zstd layers) ./tools/bazel build //images:hello_load --output_groups=tarball {ZSTD_FLAG} && podman load -i {tarball}")  # fmt: skip
    run_ok(world, f"./tools/bazel build //images:hello_load --output_groups=tarball {ZSTD_FLAG}")  # fmt: skip
    podman(world, "rmi", "--force", "hello:latest")
    try:
        run_ok(world, f"podman load -i {tarball}")
        image_id = podman(world, "image", "inspect", "--format", "{{.Id}}", "hello:latest")  # fmt: skip
        want = config_digest(world, "hello", HOST_ARCH).split(":")[1]
        expect(image_id == want, f"podman loaded {image_id}, the build's is {want}")
        ok(f"podman loaded the tar+zstd tarball as hello:latest, ID {want[:12]}")
    finally:
        podman(world, "rmi", "--force", "hello:latest")


def check_bad_input(world: World) -> None:
    say("\n$ (bad input) clear errors")
    closed = free_port()
    result = run(world, f"./tools/bazel run //images:push -- --repository-prefix 127.0.0.1:{closed}/team")  # fmt: skip
    expect(result.returncode != 0 and f"127.0.0.1:{closed}" in result.stderr, f"push to a closed port: {result.returncode}\n{tail(result.stderr)}")  # fmt: skip
    ok(f"push to a registry that is down: exit {result.returncode}, names 127.0.0.1:{closed}: {tail(result.stderr, 1)}")  # fmt: skip
    # docker, as this host has it: not installed, installed without a running
    # daemon (a client alone), or working.
    docker = shutil.which("docker", path=world.env.get("PATH"))
    daemon = docker and subprocess.run([docker, "version"], capture_output=True).returncode == 0  # fmt: skip
    if not daemon:
        result = run(world, "./tools/bazel run //images:hello_load -- --engine docker")
        want = "its daemon is not running" if docker else "docker is not installed on this machine"  # fmt: skip
        expect(result.returncode != 0 and want in result.stderr, tail(result.stderr))
        ok(f"docker {'without its daemon' if docker else 'not installed'}: exit {result.returncode}: {tail(result.stderr, 1)}")  # fmt: skip
    result = run(world, "./tools/bazel run //images:hello_load -- --engine nerdctl")
    expect(result.returncode != 0 and "unknown engine 'nerdctl'" in result.stderr, tail(result.stderr))  # fmt: skip
    ok(f"unknown engine: exit {result.returncode}: {tail(result.stderr, 1)}")
    result = run(world, f"COSIGN_PASSWORD=wrong ./tools/bazel run //tools/release -- --registry {world.registry}/team --key cosign.key")  # fmt: skip
    expect(result.returncode != 0 and "COSIGN_PASSWORD" in result.stderr, tail(result.stderr))  # fmt: skip
    ok(f"wrong key password: exit {result.returncode}: {tail(result.stderr, 1)}")


# ---------------------------------------------------------------------------
# The host's tools: podman, skopeo and a registry on 127.0.0.1.


def podman(world: World, *args: str) -> str:
    result = subprocess.run(["podman", *args], env=world.env, capture_output=True, text=True)  # fmt: skip
    expect(result.returncode == 0 or args[0] == "rmi", f"podman {' '.join(args)}: {result.stderr}")  # fmt: skip
    return result.stdout.strip()


def skopeo(world: World, *args: str) -> str:
    result = subprocess.run(
        ["skopeo", args[0], "--tls-verify=false", *args[1:]],
        env=world.env, capture_output=True, text=True,
    )  # fmt: skip
    expect(result.returncode == 0, f"skopeo {' '.join(args)}: {result.stderr}")
    return result.stdout


def skopeo_digest(world: World, reference: str) -> str:
    raw = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{reference}"],
        env=world.env, capture_output=True, check=False,
    )  # fmt: skip
    expect(raw.returncode == 0, f"skopeo inspect {reference}: {raw.stderr.decode()}")
    return "sha256:" + hashlib.sha256(raw.stdout).hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_registry(scratch: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = scratch / "registry.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {scratch / 'registry'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log = (scratch / "registry.log").open("w")
    process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=log)  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2):
                return process, f"127.0.0.1:{port}"
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline or process.poll() is not None:
                raise CheckFailed("docker-registry did not start: see " + str(scratch / "registry.log"))  # fmt: skip
            time.sleep(0.2)


def podman_conf(scratch: Path) -> Path:
    """This machine's podman settings, kept out of /etc: no systemd (cgroupfs,
    file events), runc (crun refuses the hybrid cgroups here), and ulimits the
    VM allows (it denies raising rlimits). A host with a working podman needs
    none of it; the README's commands are the same either way."""
    conf = scratch / "containers.conf"
    conf.write_text(
        "[containers]\n"
        'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n'
        "[engine]\n"
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
        'runtime = "runc"\n'
    )
    return conf


def fresh_clone(source: Path) -> tuple[Path, Path]:
    """A clone of HEAD in a new 0700 directory, as `mktemp -d` makes it."""
    top = Path(tempfile.mkdtemp(prefix="readme-check-"))
    expect(top.stat().st_mode & 0o777 == 0o700, f"{top} is not 0700")
    clone = top / "checkout"
    subprocess.run(["git", "clone", "-q", str(source), str(clone)], check=True)
    return top, clone


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--here", action="store_true", help="run in this checkout, not a fresh clone")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the clone and the scratch directory")  # fmt: skip
    args = parser.parse_args(argv)
    source = Path(__file__).resolve().parents[2]
    if args.here:
        # The README's keygen refuses to overwrite a key, and the check removes
        # what it made: a key of the user's must never be in its way.
        mine = [n for n in ("cosign.key", "cosign.pub") if (source / n).exists()]
        if mine:
            say(f"readme_check: {' and '.join(mine)} exist in {source}; move them away, or run without --here")  # fmt: skip
            return 2
    top, checkout = (None, source) if args.here else fresh_clone(source)
    scratch = Path(tempfile.mkdtemp(prefix="readme-check-scratch-"))
    env = {**os.environ, "CONTAINERS_CONF": str(podman_conf(scratch))}
    registry, address = start_registry(scratch)
    world = World(checkout=checkout, scratch=scratch, env=env, registry=address)
    say(f"README check in {checkout}; registry.example.com -> {address}")
    failures = 0
    try:
        for command in readme_commands(checkout / "README.md"):
            handlers = [h for pattern, h in COMMANDS if re.search(pattern, command)]
            say(f"\n$ {command}")
            if len(handlers) != 1:
                failures += 1
                say(f"   FAILED: the check has {len(handlers)} rules for this README command; "
                    "say in tools/e2e/readme_check.py what it promises")  # fmt: skip
                continue
            started = time.monotonic()
            try:
                handlers[0](world, command)
                say(f"   ({time.monotonic() - started:.0f} s)")
            except (CheckFailed, subprocess.TimeoutExpired) as err:
                failures += 1
                say(f"   FAILED: {err}")
        for extra in (check_launcher, check_zstd, check_bad_input):
            try:
                extra(world)
            except (CheckFailed, subprocess.TimeoutExpired) as err:
                failures += 1
                say(f"   FAILED: {err}")
    finally:
        registry.terminate()
        registry.wait()
        subprocess.run(["podman", "rmi", "--force", "hello:latest"], env=env, capture_output=True)  # fmt: skip
        for made in ("cosign.key", "cosign.pub"):
            (checkout / made).unlink(missing_ok=True)
        if top is not None:
            # The clone's Bazel server and output base (a new one per run, in the
            # shared cache); --here leaves the user's alone.
            subprocess.run([str(checkout / "tools/bazel"), "clean", "--expunge"], cwd=checkout, capture_output=True)  # fmt: skip
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
            if top is not None:
                shutil.rmtree(top, ignore_errors=True)
    say(f"\nREADME check: {'FAILED, ' + str(failures) + ' failure(s)' if failures else 'every command works from the host'}")  # fmt: skip
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
