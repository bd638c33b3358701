"""Runs images from OCI layouts with runc, hardened the way a careful operator would.

    bundle = unpack(layout, "latest-linux-amd64", tmp_path / "bundle")
    with Container(bundle, env={"HOST": "0.0.0.0"}) as container:
        container.start()
        status, headers, body = container.wait_http("/readyz", timeout=30)
        ...
        container.kill(signal.SIGTERM)
        assert container.wait(10) == 0

    result = run_once(bundle, ["/usr/bin/python3.13", "--version"], None, timeout=30)

Every container gets a read-only root filesystem, a tmpfs /tmp (mode 1777), no
capabilities at all, no_new_privs, the image's user, its own network namespace
with only a loopback interface, and the image's environment, working directory,
Entrypoint and Cmd (each overridable). Cgroups are runc's defaults. There is no
seccomp profile: runc applies none unless told to.

The network namespace is held by a small helper process that made it with
unshare(CLONE_NEWNET); runc joins it through /proc/PID/ns/net, and the tests
reach the service from inside it (exec_http: a socket made by a thread that
entered the namespace). Nothing is mounted for it, so nothing outlives the test,
even a killed one: the helper exits when its stdin closes. (`ip netns add` would
need a writable /run, which the build root does not have.)

arm64 images run under qemu-user through binfmt_misc: see arm64_emulation().

Standard library only; needs root, runc and umoci (tests using it are tagged
no-sandbox: Bazel's sandbox is no place for a container runtime).
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import errno
import fcntl
import http.client
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from types import TracebackType
from typing import Any

# Written by unpack() beside rootfs/: the image's OCI config, as the layout has it.
IMAGE_CONFIG = "image-config.json"
# What Docker and containerd give a process whose image sets no PATH.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Where tools live when the test's PATH is the strict action PATH (no sbin).
_TOOL_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CAPABILITY_SETS = ("bounding", "effective", "inheritable", "permitted", "ambient")
# runc's own defaults (`runc spec`), as Docker uses them too.
MASKED_PATHS = (
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
)
READONLY_PATHS = (
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
)
# Destination, type, source, options: runc's defaults (a read-only /sys), and
# /tmp as Docker's --tmpfs makes it (noexec, nosuid, nodev), sticky and world-writable.
MOUNTS = (
    ("/proc", "proc", "proc", "nosuid,noexec,nodev"),
    ("/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"),
    (
        "/dev/pts",
        "devpts",
        "devpts",
        "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620",
    ),
    ("/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k"),
    ("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"),
    ("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"),
    ("/sys/fs/cgroup", "cgroup", "cgroup", "nosuid,noexec,nodev,relatime,ro"),
    ("/tmp", "tmpfs", "tmpfs", "nosuid,nodev,noexec,mode=1777,size=65536k"),
)
# Machine (uname -m) -> OCI architecture.
_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64"}


class ContainerError(RuntimeError):
    """runc, umoci or the container did not do what was asked; the text says what."""


# ---------------------------------------------------------------------------
# Unpacking


def unpack(layout: Path, ref: str, into: Path) -> Path:
    """Unpack image `ref` of an OCI layout into a runc bundle; return the bundle dir.

    `ref` names one platform's manifest in index.json (umoci cannot read a
    nested index): latest-linux-amd64 or latest-linux-arm64-v8 for this
    project's layouts. The bundle holds rootfs/, umoci's config.json (unused:
    every container writes its own, see runtime_spec) and image-config.json,
    the image's OCI config. `into` must not exist yet. Needs root (umoci chowns).
    """
    _check_root()
    layout = Path(layout).resolve()  # runfiles hold a symlink to the layout
    into = Path(into)
    config = read_image_config(layout, ref)
    _run(
        [_tool("umoci"), "unpack", "--image", f"{layout}:{ref}", str(into)],
        what=f"umoci unpack {layout.name}:{ref}",
        timeout=300,
    )
    (into / IMAGE_CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True))
    return into


def read_image_config(layout: Path, ref: str) -> dict[str, Any]:
    """The OCI image config (architecture, config.Env, ...) of `ref` in a layout."""
    index = json.loads((layout / "index.json").read_bytes())
    named = [
        d
        for d in index.get("manifests", [])
        if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref
    ]
    if len(named) != 1:
        refs = sorted(
            d.get("annotations", {}).get("org.opencontainers.image.ref.name", "?")
            for d in index.get("manifests", [])
        )
        raise ContainerError(
            f"{layout}: {len(named)} manifests named {ref!r}; refs: {refs}"
        )
    if named[0].get("mediaType") != "application/vnd.oci.image.manifest.v1+json":
        raise ContainerError(
            f"{layout}:{ref} is a {named[0].get('mediaType')}, not an image manifest;"
            " name one platform's manifest (latest-linux-amd64, latest-linux-arm64-v8)"
        )
    manifest = json.loads(_blob(layout, named[0]["digest"]))
    config: dict[str, Any] = json.loads(_blob(layout, manifest["config"]["digest"]))
    return config


def _blob(layout: Path, digest: str) -> bytes:
    algorithm, _, hex_digest = digest.partition(":")
    return (layout / "blobs" / algorithm / hex_digest).read_bytes()


# ---------------------------------------------------------------------------
# The runtime configuration: pure functions of the image and the options.


@dataclass(frozen=True)
class ImageConfig:
    """What a runtime takes from an OCI image config."""

    architecture: str
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[str, ...] = ()  # "NAME=value", in the image's order
    user: str = ""
    workdir: str = ""
    exposed_ports: tuple[str, ...] = ()  # "8080/tcp"

    @classmethod
    def from_oci(cls, config: Mapping[str, Any]) -> ImageConfig:
        runtime = config.get("config") or {}
        return cls(
            architecture=config.get("architecture", ""),
            entrypoint=tuple(runtime.get("Entrypoint") or ()),
            cmd=tuple(runtime.get("Cmd") or ()),
            env=tuple(runtime.get("Env") or ()),
            user=runtime.get("User") or "",
            workdir=runtime.get("WorkingDir") or "",
            exposed_ports=tuple(sorted(runtime.get("ExposedPorts") or {})),
        )

    @classmethod
    def of_bundle(cls, bundle: Path) -> ImageConfig:
        path = Path(bundle) / IMAGE_CONFIG
        if not path.exists():
            raise ContainerError(f"{path} is missing: unpack the bundle with unpack()")
        return cls.from_oci(json.loads(path.read_bytes()))

    @property
    def argv(self) -> list[str]:
        """Entrypoint followed by Cmd, as Docker runs them."""
        return [*self.entrypoint, *self.cmd]

    @property
    def tcp_port(self) -> int | None:
        """The lowest exposed TCP port, if any."""
        ports = [
            int(number)
            for number, _, protocol in (p.partition("/") for p in self.exposed_ports)
            if protocol in ("", "tcp") and number.isdigit()
        ]
        return min(ports) if ports else None


def resolve_user(user: str, passwd: str, group: str) -> tuple[int, int]:
    """(uid, gid) for an image's User ("", "uid", "uid:gid", "name", "name:group").

    Names are looked up in the image's /etc/passwd and /etc/group text; a user
    given alone gets its primary group from passwd (or 0 if it has no entry), as
    Docker does. Raises ContainerError for a name that does not exist.
    """
    name, _, group_name = user.partition(":")
    users = _colon_table(passwd)
    if not name:
        uid, default_gid = 0, 0
    elif name.isdigit():
        uid = int(name)
        default_gid = next((int(e[3]) for e in users.values() if int(e[2]) == uid), 0)
    elif name in users:
        uid, default_gid = int(users[name][2]), int(users[name][3])
    else:
        raise ContainerError(f"user {name!r} is not in the image's /etc/passwd")
    if not group_name:
        return uid, default_gid
    if group_name.isdigit():
        return uid, int(group_name)
    groups = _colon_table(group)
    if group_name not in groups:
        raise ContainerError(f"group {group_name!r} is not in the image's /etc/group")
    return uid, int(groups[group_name][2])


def home_directory(uid: int, passwd: str) -> str:
    """The home directory of uid in passwd text, or "/" (Docker's fallback)."""
    for entry in _colon_table(passwd).values():
        if int(entry[2]) == uid and len(entry) > 5 and entry[5]:
            return entry[5]
    return "/"


def _colon_table(text: str) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for line in text.splitlines():
        fields = line.split(":")
        if (
            len(fields) >= 4
            and fields[0]
            and not line.startswith("#")
            and fields[2].isdigit()
            and (fields[3].isdigit() or fields[3] == "")
        ):
            table.setdefault(fields[0], fields)
    return table


def process_env(
    image_env: Sequence[str], overrides: Mapping[str, str] | None, home: str
) -> list[str]:
    """The image's environment with overrides applied, as "NAME=value" strings.

    An override replaces the image's value in place; new names follow in the
    order given. PATH and HOME are added if nobody set them, as Docker does.
    """
    merged: dict[str, str] = {}
    for item in image_env:
        name, _, value = item.partition("=")
        merged[name] = value
    merged.update(overrides or {})
    merged.setdefault("PATH", DEFAULT_PATH)
    merged.setdefault("HOME", home)
    return [f"{name}={value}" for name, value in merged.items()]


def runtime_spec(
    *,
    rootfs: str,
    argv: Sequence[str],
    env: Sequence[str],
    cwd: str,
    uid: int,
    gid: int,
    netns: str,
    hostname: str,
) -> dict[str, Any]:
    """The OCI runtime config (config.json) of a hardened container.

    Read-only root, tmpfs /tmp (1777, noexec), no capabilities, no_new_privs,
    the given user, the network namespace at `netns`, fresh pid, ipc, uts,
    mount and cgroup namespaces, runc's masked and read-only /proc and /sys
    paths, every device denied but runc's defaults, cgroups where runc puts
    them by default. Nothing here depends on the machine: it is a pure function.
    """
    if not argv:
        raise ContainerError("nothing to run: the image has no Entrypoint or Cmd")
    return {
        "ociVersion": "1.0.2",
        "root": {"path": rootfs, "readonly": True},
        "hostname": hostname,
        "process": {
            "terminal": False,
            "user": {"uid": uid, "gid": gid},
            "args": list(argv),
            "env": list(env),
            "cwd": cwd or "/",
            "capabilities": {name: [] for name in CAPABILITY_SETS},
            "noNewPrivileges": True,
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        },
        "mounts": [
            {
                "destination": destination,
                "type": kind,
                "source": source,
                "options": options.split(","),
            }
            for destination, kind, source, options in MOUNTS
        ],
        "linux": {
            "namespaces": [
                {"type": "pid"},
                {"type": "ipc"},
                {"type": "uts"},
                {"type": "mount"},
                {"type": "cgroup"},
                {"type": "network", "path": netns},
            ],
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "maskedPaths": list(MASKED_PATHS),
            "readonlyPaths": list(READONLY_PATHS),
        },
    }


def bundle_spec(
    bundle: Path,
    *,
    argv: Sequence[str] | None,
    env: Mapping[str, str] | None,
    netns: str,
    hostname: str,
) -> dict[str, Any]:
    """runtime_spec for an unpacked bundle: its image config and its /etc/passwd."""
    bundle = Path(bundle).resolve()
    image = ImageConfig.of_bundle(bundle)
    rootfs = bundle / "rootfs"
    passwd = _read_text(rootfs / "etc/passwd")
    uid, gid = resolve_user(image.user, passwd, _read_text(rootfs / "etc/group"))
    return runtime_spec(
        rootfs=str(rootfs),
        argv=image.argv if argv is None else argv,
        env=process_env(image.env, env, home_directory(uid, passwd)),
        cwd=image.workdir,
        uid=uid,
        gid=gid,
        netns=netns,
        hostname=hostname,
    )


def _read_text(path: Path) -> str:
    # Never follow the image's symlinks out of its root: read only plain files.
    if path.is_symlink() or not path.is_file():
        return ""
    return path.read_text(errors="replace")


# ---------------------------------------------------------------------------
# Containers


@dataclass
class _Logs:
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)


class Container:
    """One runc container of an unpacked bundle, removed with all it used on exit.

        with Container(bundle, env={...}) as container:
            container.start()
            ...

    `argv` replaces the image's Entrypoint+Cmd, `env` is added to (and
    overrides) the image's Env, `port` is where exec_http connects (default:
    the PORT the process gets, else the image's lowest exposed TCP port).
    Leaving the block kills and deletes the container, ends its network
    namespace, removes its state and, unless remove_bundle=False, the bundle.
    """

    def __init__(
        self,
        bundle: Path,
        *,
        argv: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        remove_bundle: bool = True,
        name: str = "test",
    ) -> None:
        self.bundle = Path(bundle)
        self.argv = list(argv) if argv is not None else None
        self.env = dict(env or {})
        self.image = ImageConfig.of_bundle(self.bundle)
        self.remove_bundle = remove_bundle
        self.id = f"{name}-{os.getpid()}-{secrets.token_hex(4)}"
        if port is None:
            merged = dict(e.partition("=")[::2] for e in self.image.env) | self.env
            port_text = merged.get("PORT", "")
            port = int(port_text) if port_text.isdigit() else self.image.tcp_port
        self.port = port
        self._state_dir: Path | None = None
        self._netns: _NetworkNamespace | None = None
        self._runc: subprocess.Popen[bytes] | None = None
        self._logs: _Logs | None = None  # kept when the state dir is removed
        self._interrupts = _TermAsInterrupt()

    # Set-up and clean-up ------------------------------------------------------

    def __enter__(self) -> Container:
        self._interrupts.__enter__()
        try:
            _check_root()
            _check_can_run(self.image.architecture)
            self._state_dir = Path(tempfile.mkdtemp(prefix=f"{self.id}-"))
            (self._state_dir / "runc").mkdir()
            self._netns = _NetworkNamespace.create()
            spec = bundle_spec(
                self.bundle,
                argv=self.argv,
                env=self.env,
                netns=self._netns.path,
                hostname=self.id[:63],
            )
            (self._state_dir / "config.json").write_text(json.dumps(spec, indent=2))
        except BaseException:
            self._cleanup()
            self._interrupts.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            problems = self._cleanup()
        finally:
            self._interrupts.__exit__(None, None, None)
        if problems:
            message = f"cleaning up container {self.id}: " + "; ".join(problems)
            if exc is not None:
                exc.add_note(message)
            else:
                raise ContainerError(message)

    def _cleanup(self) -> list[str]:
        """Remove everything; return what could not be removed (normally nothing)."""
        problems: list[str] = []
        if self._runc is not None and self._runc.poll() is None:
            # Killing its init ends the whole pid namespace; runc run then
            # removes the container itself.
            self._runc_command("kill", self.id, "KILL", check=False)
            try:
                self._runc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._runc.kill()
                self._runc.wait()
                problems.append("runc run did not exit after SIGKILL to the container")
        if self._state_dir is not None and (self._state_dir / "runc").exists():
            # Whatever is left (a container runc run could not remove): gone,
            # with its cgroups.
            deleted = self._runc_command("delete", "--force", self.id, check=False)
            if deleted.returncode != 0 and self._exists():
                problems.append(
                    f"runc delete --force failed: {_text(deleted.stderr).strip()}"
                )
        if self._netns is not None:
            problems += self._netns.close()
            self._netns = None
        if self._state_dir is not None:
            if self._logs is None:
                self._logs = self._read_logs()
            if not problems:
                shutil.rmtree(self._state_dir, ignore_errors=True)
            else:
                problems.append(f"state left in {self._state_dir}")
            self._state_dir = None
        if self.remove_bundle and self.bundle.exists():
            shutil.rmtree(self.bundle, ignore_errors=True)
        return problems

    # Running ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the container in the background; its output goes to files (logs()).

        runc runs in the foreground of a child process (the way `docker run`
        attaches), so that wait() gets the container's exit status.
        """
        state = self._require_state()
        if self._runc is not None:
            raise ContainerError(f"container {self.id} was already started")
        with (
            open(state / "stdout.log", "wb") as stdout,
            open(state / "stderr.log", "wb") as stderr,
        ):
            self._runc = subprocess.Popen(
                self._runc_argv("run", "--bundle", str(state), self.id),
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
            )
        # Wait until runc has made the container (or failed), so that state(),
        # kill() and exec() have something to act on.
        deadline = time.monotonic() + 30
        while not self._exists():
            if self._runc.poll() is not None:
                raise ContainerError(
                    f"runc run exited with status {self._runc.returncode} before the"
                    f" container started\n{self.describe()}"
                )
            if time.monotonic() > deadline:
                raise ContainerError(
                    f"the container did not start in 30 s\n{self.describe()}"
                )
            time.sleep(0.02)

    def run(self, timeout: float) -> subprocess.CompletedProcess[str]:
        """Run the container in the foreground to its end; its output, decoded as UTF-8.

        On timeout the container is killed and subprocess.TimeoutExpired raised.
        """
        state = self._require_state()
        argv = self.argv if self.argv is not None else self.image.argv
        self._runc = subprocess.Popen(
            self._runc_argv("run", "--bundle", str(state), self.id),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            stdout, stderr = self._runc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._runc_command("kill", self.id, "KILL", check=False)
            stdout, stderr = self._runc.communicate(timeout=30)
            raise subprocess.TimeoutExpired(argv, timeout, stdout, stderr) from None
        return subprocess.CompletedProcess(
            argv, self._runc.returncode, _text(stdout), _text(stderr)
        )

    def state(self) -> dict[str, Any]:
        """`runc state`: id, pid (of the container's init, on the host), status, ..."""
        result = self._runc_command("state", self.id, check=True)
        state: dict[str, Any] = json.loads(result.stdout)
        return state

    @property
    def pid(self) -> int:
        """The host pid of the container's init process."""
        return int(self.state()["pid"])

    def running(self) -> bool:
        return self._runc is not None and self._runc.poll() is None

    def kill(self, sig: int = signal.SIGTERM) -> None:
        """Send a signal to the container's init process (runc kill)."""
        self._runc_command("kill", self.id, str(int(sig)), check=True)

    def wait(self, timeout: float) -> int:
        """The container's exit status (128+N if signal N killed it).

        Raises subprocess.TimeoutExpired if it is still running after `timeout` s.
        """
        if self._runc is None:
            raise ContainerError(f"container {self.id} was never started")
        return self._runc.wait(timeout=timeout)

    def exec(
        self, argv: Sequence[str], timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in the running container (runc exec): same user, capabilities,
        namespaces and root as its init process. Output decoded as UTF-8."""
        result = self._runc_command(
            "exec", self.id, *argv, check=False, timeout=timeout
        )
        return subprocess.CompletedProcess(
            list(argv), result.returncode, _text(result.stdout), _text(result.stderr)
        )

    # HTTP from inside the network namespace -----------------------------------------

    def exec_http(
        self,
        path: str,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 5,
    ) -> tuple[int, Message, bytes]:
        """One HTTP/1.1 request to 127.0.0.1:port in the container's network namespace.

        Returns (status, headers, body); headers is case-insensitive
        (headers["allow"] == headers["Allow"]). Raises OSError (for example
        ConnectionRefusedError) if nothing answers.
        """
        if self._netns is None:
            raise ContainerError(
                f"container {self.id} is not set up (use it in a with block)"
            )
        if self.port is None:
            raise ContainerError("no port: give Container(port=...)")
        connection = _NamespacedHTTPConnection(
            self._netns, "127.0.0.1", self.port, timeout=timeout
        )
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    def wait_http(
        self,
        path: str = "/readyz",
        status: int = 200,
        timeout: float = 30,
        request_timeout: float = 5,
    ) -> tuple[int, Message, bytes]:
        """Poll `path` until it answers `status`; its last answer.

        Fails early, with the logs, if the container exits; after `timeout` s
        with the last answer or error and the logs.
        """
        deadline = time.monotonic() + timeout
        last = "no attempt"
        while True:
            if self._runc is not None and self._runc.poll() is not None:
                raise ContainerError(
                    f"the container exited with status {self._runc.returncode} while"
                    f" waiting for {path}\n{self.describe()}"
                )
            try:
                answer = self.exec_http(path, timeout=request_timeout)
            except OSError as err:
                last = f"{type(err).__name__}: {err}"
            else:
                if answer[0] == status:
                    return answer
                last = f"HTTP {answer[0]}: {answer[2][:200]!r}"
            if time.monotonic() > deadline:
                raise ContainerError(
                    f"{path} did not answer {status} within {timeout} s"
                    f" (last: {last})\n"
                    f"{self.describe()}"
                )
            time.sleep(0.1)

    # Logs and diagnostics ------------------------------------------------------------

    def logs(self) -> tuple[list[str], list[str]]:
        """(stdout lines, stderr lines) of the container so far (also after exit).

        While it runs, output reaches the files through runc's copying, a
        moment after the process wrote it: use wait_logs to expect a line.
        """
        logs = self._logs if self._logs is not None else self._read_logs()
        return list(logs.stdout), list(logs.stderr)

    def wait_logs(
        self,
        condition: Callable[[list[str], list[str]], bool],
        timeout: float = 10,
    ) -> tuple[list[str], list[str]]:
        """The logs once condition(stdout, stderr) holds, or after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            stdout, stderr = self.logs()
            if condition(stdout, stderr) or time.monotonic() > deadline:
                return stdout, stderr
            time.sleep(0.05)

    def describe(self, lines: int = 20) -> str:
        """The last log lines, for failure messages."""
        stdout, stderr = self.logs()
        parts = [
            f"container {self.id} (image {self.image.architecture}, {self.bundle})"
        ]
        for label, text in (("stdout", stdout), ("stderr", stderr)):
            shown = text[-lines:]
            skipped = (
                f" (last {len(shown)} of {len(text)})" if len(text) > len(shown) else ""
            )
            parts.append(
                f"--- {label}{skipped}:" + "".join(f"\n  {line}" for line in shown)
            )
        return "\n".join(parts)

    def _read_logs(self) -> _Logs:
        if self._state_dir is None:
            return _Logs()
        return _Logs(
            *(
                (
                    _text((self._state_dir / name).read_bytes()).splitlines()
                    if (self._state_dir / name).exists()
                    else []
                )
                for name in ("stdout.log", "stderr.log")
            )
        )

    # runc ------------------------------------------------------------------------

    def _require_state(self) -> Path:
        if self._state_dir is None:
            raise ContainerError(
                f"container {self.id} is not set up (use it in a with block)"
            )
        return self._state_dir

    def _runc_argv(self, *args: str) -> list[str]:
        return [_tool("runc"), "--root", str(self._require_state() / "runc"), *args]

    def _runc_command(
        self, *args: str, check: bool, timeout: float = 60
    ) -> subprocess.CompletedProcess[bytes]:
        result = subprocess.run(  # noqa: PLW1510 - the status is checked below
            self._runc_argv(*args),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise ContainerError(
                f"runc {' '.join(args)} failed ({result.returncode}):"
                f" {_text(result.stderr).strip()}"
            )
        return result

    def _exists(self) -> bool:
        return (self._require_state() / "runc" / self.id / "state.json").exists()


def run_once(
    bundle: Path,
    argv: list[str] | None,
    env: Mapping[str, str] | None,
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    """Run one short-lived command in a hardened container of `bundle`, to its end.

    argv None runs the image's Entrypoint+Cmd; env is added to the image's Env.
    Returns its exit status and output (decoded as UTF-8); the bundle is kept,
    so it can be used again. Raises subprocess.TimeoutExpired (after killing
    it) if it runs longer than `timeout` s.
    """
    with Container(
        bundle, argv=argv, env=env, remove_bundle=False, name="run"
    ) as container:
        return container.run(timeout)


class _NetworkNamespace:
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
    def create(cls) -> _NetworkNamespace:
        process = subprocess.Popen(
            [sys.executable, "-I", "-c", cls._HELPER, _tool("ip")],
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
                + _text(process.stderr.read() if process.stderr else b"").strip()
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


class _NamespacedHTTPConnection(http.client.HTTPConnection):
    def __init__(
        self, namespace: _NetworkNamespace, host: str, port: int, timeout: float
    ):
        super().__init__(host, port, timeout=timeout)
        self._namespace = namespace

    def connect(self) -> None:
        sock = self._namespace.socket()
        try:
            sock.settimeout(self.timeout)
            sock.connect((self.host, self.port))
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class _TermAsInterrupt:
    """While a container exists, SIGTERM raises KeyboardInterrupt in the main thread.

    Bazel ends a test that times out with SIGTERM: with this, the with blocks
    unwind and every container is removed, instead of the process just dying.
    Nested uses share one handler; the previous one is restored at the end.
    """

    _depth = 0
    _previous: Any = None

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        cls = type(self)
        if cls._depth == 0 and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            cls._previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        cls._depth += 1

    def __exit__(self, *exc: object) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        cls = type(self)
        cls._depth -= 1
        if cls._depth == 0 and cls._previous is not None:
            signal.signal(signal.SIGTERM, cls._previous)
            cls._previous = None


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


# ---------------------------------------------------------------------------
# arm64 under qemu-user


BINFMT_MISC = Path("/proc/sys/fs/binfmt_misc")
QEMU_AARCH64_CONF = Path("/usr/lib/binfmt.d/qemu-aarch64.conf")
# Held while an emulation is in use, so that no test unregisters what another
# one still runs on. /dev/shm is one directory for every build root and the host.
EMULATION_LOCK = Path("/dev/shm/bazel-python-containers-binfmt.lock")
EMULATION_LOCK_TIMEOUT = 600.0


class EmulationUnavailable(unittest.SkipTest):
    """This machine cannot run arm64 binaries: pytest reports a skip with the reason."""


@dataclass(frozen=True)
class BinfmtRule:
    """A binfmt_misc registration, :name:type:offset:magic:mask:interpreter:flags."""

    name: str
    kind: str
    offset: str
    magic: str
    mask: str
    interpreter: str
    flags: str

    @classmethod
    def parse(cls, line: str) -> BinfmtRule:
        line = line.strip()
        if len(line) < 2:
            raise ValueError("empty binfmt_misc rule")
        fields = line[1:].split(line[0])
        if len(fields) != 7:
            raise ValueError(
                f"a binfmt_misc rule has 7 fields, not {len(fields)}: {line!r}"
            )
        return cls(*fields)

    def with_flags(self, flags: str) -> BinfmtRule:
        missing = "".join(f for f in flags if f not in self.flags)
        return dataclasses.replace(self, flags=self.flags + missing)

    def line(self) -> str:
        return ":" + ":".join(dataclasses.astuple(self))


def read_rule(conf: Path) -> BinfmtRule:
    """The rule of a binfmt.d file (comments and blank lines skipped)."""
    lines = [
        line
        for line in conf.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith(("#", ";"))
    ]
    if len(lines) != 1:
        raise ValueError(f"{conf}: expected one rule, found {len(lines)}")
    return BinfmtRule.parse(lines[0])


def parse_entry(text: str) -> dict[str, str]:
    """A /proc/sys/fs/binfmt_misc/NAME file: enabled, interpreter, flags, ..."""
    entry: dict[str, str] = {}
    for line in text.splitlines():
        if line in ("enabled", "disabled"):
            entry["state"] = line
        else:  # "interpreter /usr/bin/qemu-aarch64", "flags: POF", ...
            key, _, value = line.partition(" ")
            entry[key.rstrip(":")] = value.strip()
    return entry


def is_static_elf(data: bytes) -> bool:
    """True for an ELF file with no program interpreter (static or static-pie)."""
    if data[:4] != b"\x7fELF" or data[4] not in (1, 2):
        return False
    order = "<" if data[5] == 1 else ">"
    try:
        if data[4] == 2:  # 64-bit
            (phoff,) = struct.unpack_from(order + "Q", data, 0x20)
            phentsize, phnum = struct.unpack_from(order + "HH", data, 0x36)
        else:
            (phoff,) = struct.unpack_from(order + "I", data, 0x1C)
            phentsize, phnum = struct.unpack_from(order + "HH", data, 0x2A)
        types = [
            struct.unpack_from(order + "I", data, phoff + index * phentsize)[0]
            for index in range(phnum)
        ]
    except struct.error:  # program headers beyond what was read: cannot tell
        return False
    return 3 not in types  # PT_INTERP


_emulation_depth = 0
_emulation_lock = threading.Lock()


@contextlib.contextmanager
def arm64_emulation(
    conf: Path = QEMU_AARCH64_CONF,
    binfmt_misc: Path = BINFMT_MISC,
    lock: Path = EMULATION_LOCK,
) -> Iterator[None]:
    """Let this machine run linux/arm64 binaries, in container roots too, for a while.

    Mounts binfmt_misc if it is not mounted and registers qemu-aarch64 from
    Debian's binfmt.d file (with the F flag: the kernel opens the interpreter
    now, so it need not exist in the container root) if it is not registered;
    at the end undoes exactly what it did. A lock file serialises users across
    processes, so nobody unregisters an emulation another test still runs on.
    Raises EmulationUnavailable (a skip, with the reason) if the machine
    cannot do it. Re-entrant within one process. Native on an arm64 machine.
    """
    global _emulation_depth
    if platform.machine() == "aarch64":
        yield
        return
    with _emulation_lock:
        nested = _emulation_depth > 0
        _emulation_depth += 1
    try:
        if nested:
            yield
            return
        rule = _emulator_rule(conf)
        with _exclusive_lock(lock, EMULATION_LOCK_TIMEOUT):
            mounted = _mount_binfmt_misc(binfmt_misc)
            try:
                registered = _register(binfmt_misc, rule)
                try:
                    yield
                finally:
                    if registered and (binfmt_misc / rule.name).exists():
                        (binfmt_misc / rule.name).write_text("-1")
            finally:
                if mounted:
                    _umount(binfmt_misc)
    finally:
        with _emulation_lock:
            _emulation_depth -= 1


def _emulator_rule(conf: Path) -> BinfmtRule:
    if not conf.exists():
        raise EmulationUnavailable(
            f"cannot run arm64 images: {conf} does not exist"
            " (Debian: apt-get install qemu-user qemu-user-binfmt)"
        )
    try:
        rule = read_rule(conf).with_flags("F")
    except (OSError, ValueError) as err:
        raise EmulationUnavailable(f"cannot run arm64 images: {err}") from None
    interpreter = Path(rule.interpreter)
    if not os.access(interpreter, os.X_OK):
        raise EmulationUnavailable(
            f"cannot run arm64 images: the interpreter {interpreter} is missing"
            " (Debian: apt-get install qemu-user)"
        )
    with open(interpreter, "rb") as stream:
        head = stream.read(64 * 1024)
    if not is_static_elf(head):
        raise EmulationUnavailable(
            f"cannot run arm64 images: {interpreter} is dynamically linked and"
            " could not load its libraries inside a container root (install a"
            " static qemu-user)"
        )
    return rule


def _mount_binfmt_misc(binfmt_misc: Path) -> bool:
    """Mount binfmt_misc unless it is; True if this call mounted it."""
    if (binfmt_misc / "register").exists():
        return False
    try:
        _mount("binfmt_misc", binfmt_misc, "binfmt_misc")
    except OSError as err:
        raise EmulationUnavailable(
            f"cannot run arm64 images: mounting binfmt_misc on {binfmt_misc}"
            f" failed: {err.strerror}"
        ) from None
    return True


def _register(binfmt_misc: Path, rule: BinfmtRule) -> bool:
    """Register rule unless its name is registered; True if this call registered it."""
    status = (binfmt_misc / "status").read_text().strip()
    if status != "enabled":
        raise EmulationUnavailable(
            f"cannot run arm64 images: binfmt_misc is {status} on this machine"
        )
    entry = binfmt_misc / rule.name
    if entry.exists():
        found = parse_entry(entry.read_text())
        if found.get("state") != "enabled":
            raise EmulationUnavailable(
                f"cannot run arm64 images: {entry} is registered but disabled"
            )
        if "F" not in found.get("flags", ""):
            raise EmulationUnavailable(
                f"cannot run arm64 images in containers: {entry} is registered"
                f" without the F flag (flags {found.get('flags', '')!r}); its"
                " interpreter would have to be in the image"
            )
        return False
    try:
        with open(binfmt_misc / "register", "w") as register:
            register.write(rule.line())
    except OSError as err:
        raise EmulationUnavailable(
            f"cannot run arm64 images: registering {rule.name} with binfmt_misc"
            f" failed: {err.strerror}"
        ) from None
    return True


@contextlib.contextmanager
def _exclusive_lock(path: Path, timeout: float) -> Iterator[None]:
    """flock(path) for the duration; the file is removed after, leaving nothing behind.

    The holder unlinks the file before unlocking; whoever then gets the lock on
    the unlinked file sees that the path no longer names it, and starts over.
    """
    if not path.parent.is_dir():
        path = Path(tempfile.gettempdir()) / path.name
    deadline = time.monotonic() + timeout
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise ContainerError(
                            f"waited {timeout:.0f} s for {path}: another test holds the"
                            " arm64 emulation"
                        ) from None
                    time.sleep(0.2)
            try:
                current = os.stat(path)
            except FileNotFoundError:
                continue  # unlinked by the previous holder: lock the new file
            mine = os.fstat(fd)
            if (current.st_dev, current.st_ino) != (mine.st_dev, mine.st_ino):
                continue  # replaced meanwhile: lock the file the path names now
            try:
                yield
            finally:
                path.unlink(missing_ok=True)
            return
        finally:
            os.close(fd)  # releases the lock


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _mount(source: str, target: Path, fstype: str) -> None:
    if (
        _libc().mount(source.encode(), str(target).encode(), fstype.encode(), 0, None)
        != 0
    ):
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(target))


def _umount(target: Path) -> None:
    libc = _libc()
    if libc.umount2(str(target).encode(), 0) != 0:
        code = ctypes.get_errno()
        if code == errno.EBUSY:  # someone is reading it right now: detach
            if libc.umount2(str(target).encode(), 2) == 0:  # MNT_DETACH
                return
            code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(target))


def host_architecture() -> str:
    """The OCI architecture of this machine (amd64, arm64)."""
    return _ARCHITECTURES.get(platform.machine(), platform.machine())


def emulation_for(architecture: str) -> contextlib.AbstractContextManager[None]:
    """What running `architecture` images needs: nothing, or arm64_emulation()."""
    if architecture == host_architecture():
        return contextlib.nullcontext()
    if architecture == "arm64":
        return arm64_emulation()
    raise EmulationUnavailable(
        f"cannot run {architecture} images on {host_architecture()}"
    )


def _check_can_run(architecture: str) -> None:
    if not architecture or architecture == host_architecture():
        return
    if architecture == "arm64" and (
        _emulation_depth > 0 or (BINFMT_MISC / "qemu-aarch64").exists()
    ):
        return
    if architecture == "arm64":
        raise ContainerError(
            "this is an arm64 image on an amd64 machine: run it inside"
            " `with arm64_emulation():` (or emulation_for(architecture))"
        )
    raise ContainerError(f"cannot run a {architecture} image on {host_architecture()}")


# ---------------------------------------------------------------------------
# Small helpers


def _check_root() -> None:
    if os.geteuid() != 0:
        raise ContainerError(
            "containers need root (runc, umoci); run the test unsandboxed"
            ' (tags = ["no-sandbox"])'
        )


def _tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path=_TOOL_PATH)
    if path is None:
        raise ContainerError(
            f"{name} is not installed (looked on PATH and in {_TOOL_PATH})"
        )
    return path


def _run(
    argv: list[str], what: str, timeout: float
) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(  # noqa: PLW1510 - the status is checked below
        argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout
    )
    if result.returncode != 0:
        raise ContainerError(
            f"{what} failed with status {result.returncode}:\n"
            + _text(result.stderr).strip()
        )
    return result


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")
