#!/usr/bin/env python3
"""Run a Python service once and record every module it imports while serving.

    py_slim_probe.py --python /usr/bin/python3.13 --module hello
                     --layer app.tar.gz|app.tar.zst [--layer ...] [--env KEY=VALUE]...
                     [--request "GET /healthz"]... [--allow MODULE]...
                     [--exclude MODULE]... --output modules.tsv
                     [--sources-output sources.txt]

The layers (the service's own, as py_image_layers makes them) are unpacked in
order into a temporary root, and the service runs as its image runs it:
`python -m MODULE` with the image's environment (--env; PYTHONPATH entries are
moved below the temporary root), listening on 127.0.0.1 on a free port (HOST
and PORT are set). Once it accepts connections, every --request is sent
("METHOD PATH", any status but 5xx is fine), then one malformed request that
the HTTP server answers by itself, and SIGTERM stops it; it must exit 0.

The service runs under a few lines of wrapper code that import nothing but
runpy, which `python -m` imports anyway, so nothing foreign is recorded. After
the service has stopped, the wrapper imports every --allow module (code paths
that serving a few requests does not reach, such as error handling) and
writes sys.modules. --exclude modules cannot be imported during the whole run,
exactly as in a runtime without them: if the service needs one, the probe
fails.

Output, sorted by module, one line each (after "#" header lines naming the
standard library directory, the interpreter's multiarch triplet and the
answers to the requests):

    module  kind  path  reason

kind is builtin, frozen, source or extension (standard library; path relative
to its directory, "-" for builtin) or app (the service's own and third-party
code, from the layers; path is its image path); reason is "serving" or
"allowlist". A module found anywhere else (say the build machine's
dist-packages) is an error: the image would not have it.

--volume PATH is a directory of the image a deployment mounts writable (a
database's): the probe gives the service an empty one below the temporary
root, and --env values naming a path below it are moved there too. --job
"NAME=MODULE ARG..." runs `python -m MODULE ARG...` to its end before the
service starts, as a deployment runs a Job of the image (a database
migration), on the same volumes: it must exit 0, and what it imports is
recorded too (reason "job:NAME"). A --request may carry a body:
"METHOD /PATH<TAB>CONTENT-TYPE<TAB>BODY".

--startup-output writes the modules the service had imported when it
started listening, before the first request (SIGUSR1 asks the wrapper for
them), less those a bare interpreter imports by itself: one module a line,
sorted. That is the start path a cold start pays for.

--sources-output also writes the standard-library source files of those
modules, one path below the standard library directory a line (sorted): what
tar_pyc.py --only precompiles; --sources-triplet names them for the
image's architecture (the probe runs on the build machine's).
"""

from __future__ import annotations

import argparse
import http.client
import os
import posixpath
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ocilib
import ocireader

# Runs in the interpreter under test, with sys.argv = [OUT, MODULE, ALLOW,
# EXCLUDE, ARG...]; the ARGs are what the module is given (a job's).
# Only sys, runpy and the built-in _signal: whatever it imported would be
# recorded as the service's. SIGUSR1, which the probe sends once the service
# listens and before the first request, writes what start-up imported.
_WRAPPER = """\
import sys, runpy, _signal
out, module = sys.argv[1], sys.argv[2]
allow = [name for name in sys.argv[3].split(",") if name]
exclude = frozenset(name for name in sys.argv[4].split(",") if name)

def started(signum, frame):
    with open(out + ".startup.tmp", "w", encoding="utf-8") as stream:
        stream.write("".join(f"{name}\\n" for name in sorted(sys.modules)))
    open(out + ".startup", "w").close()  # Written whole: the probe may go on.

_signal.signal(_signal.SIGUSR1, started)

class Excluded:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name in exclude or name.split(".")[0] in exclude:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Excluded)
del sys.path[0]  # The working directory, which -c puts first.
args = sys.argv[5:]
del sys.argv[1:]  # The module sees what `python -m MODULE ARG...` gives it.
sys.argv.extend(args)
status = 0
try:
    runpy.run_module(module, run_name="__main__", alter_sys=True)
except SystemExit as stop:
    status = stop.code
serving = set(sys.modules)
for name in allow:
    __import__(name)
with open(out, "w", encoding="utf-8") as stream:
    stream.write(f"{sys._stdlib_dir}\\t{sys.implementation._multiarch}\\n")
    for name, mod in sorted(sys.modules.items()):
        spec = getattr(mod, "__spec__", None)
        origin = getattr(spec, "origin", None) or "-"
        path = getattr(mod, "__file__", None) or "-"
        locations = list(getattr(spec, "submodule_search_locations", None) or ())
        if origin == "-" and path == "-" and locations:
            origin, path = "namespace", locations[0]  # A directory, no __init__.py.
        reason = "serving" if name in serving else "allowlist"
        real = getattr(mod, "__name__", name)
        stream.write(f"{name}\\t{reason}\\t{origin}\\t{path}\\t{real}\\n")
sys.exit(status)
"""

START_TIMEOUT = 60.0  # Seconds until the service must accept connections.
MARK_TIMEOUT = 10.0  # Seconds until it must have written its start-up modules.
STOP_TIMEOUT = 30.0  # Seconds it may take to exit after SIGTERM.
REQUEST_TIMEOUT = 10.0
# A request line no HTTP server accepts: the server's own error path answers it.
MALFORMED_REQUEST = b"NOT AN HTTP REQUEST\r\n\r\n"


@dataclass(frozen=True)
class Module:
    name: str
    kind: str  # builtin, frozen, source, extension or app
    path: str  # Below the standard library, or an image path for app; "-" if none.
    reason: str  # serving or allowlist


def unpack_layers(layers: list[str], root: Path) -> None:
    """Extract layers in order, honouring OCI whiteouts (.wh.NAME, .wh..wh..opq)."""
    for layer in layers:
        with ocireader.open_layer_tar(layer) as tar:
            for member in tar:
                name = posixpath.normpath(member.name.lstrip("/"))
                directory, base = posixpath.split(name)
                if base == ".wh..wh..opq":
                    _remove_children(root / directory)
                elif base.startswith(".wh."):
                    _remove(root / directory / base[len(".wh.") :])
                else:
                    tar.extract(member, root, filter="data")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        _remove_children(path)
        path.rmdir()
    elif path.exists() or path.is_symlink():
        path.unlink()


def _remove_children(directory: Path) -> None:
    if directory.is_dir():
        for child in directory.iterdir():
            _remove(child)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(
    env: dict[str, str], root: Path, port: int, volumes: list[str] = ()
) -> dict[str, str]:
    """The image's environment, with its paths below `root` and the probe's address.

    PYTHONPATH's entries, and a value naming a path below one of `volumes`
    (a directory the probe makes below `root`), are moved below `root`."""
    result = dict(env)
    for name, value in env.items():
        if any(value == v or value.startswith(v.rstrip("/") + "/") for v in volumes):
            result[name] = str(root) + value
    if "PYTHONPATH" in result:
        entries = result["PYTHONPATH"].split(":")
        result["PYTHONPATH"] = ":".join(
            str(root) + e if e.startswith("/") else e for e in entries
        )
    home = root / "home" / "probe"
    home.mkdir(parents=True, exist_ok=True)
    result.update(HOME=str(home), HOST="127.0.0.1", PORT=str(port))
    return result


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    content_type: str | None = None
    body: bytes | None = None


def parse_request(text: str) -> Request:
    line, tab, rest = text.partition("\t")
    method, _, path = line.strip().partition(" ")
    content_type, tab2, body = rest.partition("\t")
    if not method.isalpha() or not path.startswith("/") or " " in path:
        raise ocilib.OciError(
            f"--request {text!r}: expected METHOD /PATH, e.g. 'GET /healthz'"
        )
    if tab and (not tab2 or not content_type):
        raise ocilib.OciError(
            f"--request {text!r}: a body needs METHOD /PATH<TAB>CONTENT-TYPE<TAB>BODY"
        )
    if not tab:
        return Request(method.upper(), path)
    return Request(method.upper(), path, content_type, body.encode("utf-8"))


@dataclass(frozen=True)
class Job:
    name: str
    module: str
    args: list[str]


def parse_job(text: str) -> Job:
    name, sep, command = text.partition("=")
    module, *args = command.split() or [""]
    if not sep or not name or not all(p.isidentifier() for p in module.split(".")):
        raise ocilib.OciError(
            f"--job {text!r}: expected NAME=MODULE ARG..., e.g. 'migrate=notes migrate'"
        )
    return Job(name, module, args)


def parse_volume(text: str) -> str:
    if not text.startswith("/") or text == "/" or ".." in text.split("/"):
        raise ocilib.OciError(
            f"--volume {text!r}: expected an absolute path, e.g. /data"
        )
    return text.rstrip("/")


class Service:
    """The service process; its output goes to files: it never blocks on a pipe."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, log_dir: Path):
        # Closed in stop().
        self._stdout = open(log_dir / "stdout", "w+b")  # noqa: SIM115
        self._stderr = open(log_dir / "stderr", "w+b")  # noqa: SIM115
        self.process = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._stdout,
            stderr=self._stderr,
        )

    def output(self) -> str:
        """The last lines the service wrote, for error messages."""
        text = []
        for name, stream in (("stdout", self._stdout), ("stderr", self._stderr)):
            stream.flush()
            stream.seek(0)
            lines = stream.read().decode("utf-8", "replace").splitlines()[-20:]
            text.append(f"--- {name} (last {len(lines)} lines)\n" + "\n".join(lines))
        return "\n".join(text)

    def wait_until_listening(self, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ocilib.OciError(
                    f"the service exited with status {self.process.returncode} "
                    f"before listening:\n{self.output()}"
                )
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise ocilib.OciError(
            f"the service did not listen on 127.0.0.1:{port} "
            f"within {timeout:.0f} s:\n{self.output()}"
        )

    def mark_started(self, mark: Path, timeout: float) -> None:
        """SIGUSR1: the wrapper writes the modules start-up imported."""
        self.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while not mark.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise ocilib.OciError(
                    "the service did not record its start-up modules on SIGUSR1"
                    " (does it handle SIGUSR1 itself?):\n" + self.output()
                )
            time.sleep(0.01)

    def stop(self, timeout: float) -> int:
        """SIGTERM, then its exit status; SIGKILL and an error if it does not exit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise ocilib.OciError(
                f"the service did not exit within {timeout:.0f} s of SIGTERM:\n"
                + self.output()
            ) from None
        finally:
            self._stdout.close()
            self._stderr.close()


def send_request(port: int, request: Request) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    headers = (
        {} if request.content_type is None else {"Content-Type": request.content_type}
    )
    try:
        connection.request(request.method, request.path, request.body, headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def send_malformed_request(port: int) -> str:
    """The status line the server answers a malformed request with."""
    with socket.create_connection(("127.0.0.1", port), timeout=REQUEST_TIMEOUT) as sock:
        sock.sendall(MALFORMED_REQUEST)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.partition(b"\r\n")[0].decode("latin-1") or "(connection closed)"


def exercise(service: Service, port: int, requests: list[Request]) -> list[str]:
    """Send every request; returns report lines. A 5xx or a failure is an error."""
    lines = []
    for request in requests:
        method, path = request.method, request.path
        try:
            status = send_request(port, request)
        except (OSError, http.client.HTTPException) as e:
            raise ocilib.OciError(
                f"{method} {path} failed: {e}\n{service.output()}"
            ) from None
        if status >= 500:
            raise ocilib.OciError(
                f"the service answered {status} to {method} {path}:\n{service.output()}"
            )
        lines.append(f"request {method} {path} -> {status}")
    try:
        lines.append(f"malformed request -> {send_malformed_request(port)}")
    except OSError as e:
        raise ocilib.OciError(
            f"the malformed request failed: {e}\n{service.output()}"
        ) from None
    return lines


def classify(line: str, stdlib: str, root: str) -> Module | None:
    """One wrapper output line -> Module; None for __main__ and aliases (os.path)."""
    name, reason, origin, path, real = line.split("\t")
    if name == "__main__" or real != name:
        return None
    if origin == "built-in":
        return Module(name, "builtin", "-", reason)
    if origin == "namespace":
        # A package without __init__.py (flask.sansio): a directory, whose
        # modules are recorded with their own files.
        if (below := _below(path, root)) is not None:
            return Module(name, "app", "/" + below, reason)
        if _below(path, stdlib) is not None:
            return None
    if origin == "frozen":
        return Module(name, "frozen", _below(path, stdlib) or "-", reason)
    location = origin if origin != "-" else path
    if (below := _below(location, stdlib)) is not None:
        kind = "extension" if below.endswith(".so") else "source"
        return Module(name, kind, below, reason)
    if (below := _below(location, root)) is not None:
        return Module(name, "app", "/" + below, reason)
    raise ocilib.OciError(
        f"module {name} was imported from {location}, which is neither the "
        f"standard library ({stdlib}) nor the service's layers: "
        "the image would not have it"
    )


def _below(path: str, directory: str) -> str | None:
    if path.startswith(directory.rstrip("/") + "/"):
        return path[len(directory.rstrip("/")) + 1 :]
    return None


def read_wrapper_output(path: Path, root: Path) -> tuple[str, str, list[Module]]:
    """(stdlib directory, multiarch triplet, modules) from the wrapper's file."""
    header, *lines = path.read_text(encoding="utf-8").splitlines()
    stdlib, multiarch = header.split("\t")
    modules = [
        m for line in lines if (m := classify(line, stdlib, str(root))) is not None
    ]
    return stdlib, multiarch, sorted(modules, key=lambda m: m.name)


def format_output(
    stdlib: str, multiarch: str, notes: list[str], modules: list[Module]
) -> str:
    lines = [f"# stdlib {stdlib}", f"# multiarch {multiarch}"]
    lines += [f"# {note}" for note in notes]
    lines += [f"{m.name}\t{m.kind}\t{m.path}\t{m.reason}" for m in modules]
    return "\n".join(lines) + "\n"


def source_paths(modules: list[Module], probe_triplet: str, triplet: str) -> str:
    """The standard-library .py files of `modules`, one a line, sorted, named
    for the image's `triplet`: a module that carries the probing interpreter's
    in its name (_sysconfigdata__linux_x86_64-linux-gnu) is the image's own
    there (..._aarch64-linux-gnu), as py_slim.py maps it too."""
    paths = sorted(
        m.path.replace(probe_triplet, triplet)
        for m in modules
        if m.kind == "source" and m.path.endswith(".py")
    )
    return "".join(f"{path}\n" for path in paths)


def probe(args: argparse.Namespace, tmp: Path) -> tuple[str, str, list[Module]]:
    root = tmp / "root"
    root.mkdir()
    unpack_layers(args.layer, root)
    volumes = [parse_volume(v) for v in args.volume]
    for volume in volumes:
        (root / volume.lstrip("/")).mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = service_env(
        dict(ocilib.split_key_value(e, "--env") for e in args.env), root, port, volumes
    )
    requests = [parse_request(r) for r in args.request]
    jobs = [parse_job(j) for j in args.job]
    job_modules = [run_job(args, job, env, root, tmp) for job in jobs]
    argv = [args.python, "-c", _WRAPPER, str(tmp / "modules"), args.module]
    argv += [",".join(args.allow), ",".join(args.exclude)]
    service = Service(argv, env, root, tmp)
    try:
        service.wait_until_listening(port, START_TIMEOUT)
        service.mark_started(tmp / "modules.startup", MARK_TIMEOUT)
        notes = exercise(service, port, requests)
    finally:
        status = service.stop(STOP_TIMEOUT)
    if status != 0:
        raise ocilib.OciError(
            f"the service exited with status {status} after SIGTERM:\n"
            + service.output()
        )
    stdlib, multiarch, modules = read_wrapper_output(tmp / "modules", root)
    seen = {m.name for m in modules}
    for job, recorded in zip(jobs, job_modules):
        for m in recorded:
            if m.name not in seen:
                seen.add(m.name)
                modules.append(Module(m.name, m.kind, m.path, f"job:{job.name}"))
    modules.sort(key=lambda m: m.name)
    for m in modules:
        if m.name in args.exclude or m.name.split(".")[0] in args.exclude:
            raise ocilib.OciError(
                f"--exclude {m.name}: the interpreter imports it while starting, "
                "before anything can exclude it"
            )
    startup = startup_modules(
        (tmp / "modules.startup.tmp").read_text(encoding="utf-8").split(),
        bare_interpreter_modules(args.python, env),
    )
    text = format_output(stdlib, multiarch, notes, modules)
    return text, multiarch, modules, startup


def run_job(
    args: argparse.Namespace, job: Job, env: dict[str, str], root: Path, tmp: Path
) -> list[Module]:
    """Run a job to its end under the wrapper; the modules it imported."""
    out = tmp / f"job-{job.name}"
    out.mkdir()
    argv = [args.python, "-c", _WRAPPER, str(out / "modules"), job.module]
    argv += [",".join(args.allow), ",".join(args.exclude), *job.args]
    process = Service(argv, env, root, out)
    try:
        status = process.process.wait(timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.stop(STOP_TIMEOUT)
        raise ocilib.OciError(
            f"job {job.name} did not end within {START_TIMEOUT:.0f} s"
        ) from None
    output = process.output()
    process.stop(STOP_TIMEOUT)
    if status != 0:
        raise ocilib.OciError(f"job {job.name} exited with status {status}:\n{output}")
    return read_wrapper_output(out / "modules", root)[2]


def bare_interpreter_modules(python: str, env: dict[str, str]) -> set[str]:
    """What the interpreter imports before running anything (same environment)."""
    result = subprocess.run(
        [python, "-c", "import sys; print(*sorted(sys.modules))"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise ocilib.OciError(f"{python} failed to start:\n{result.stderr}")
    return set(result.stdout.split())


def startup_modules(imported: list[str], bare: set[str]) -> str:
    """The modules start-up imported that a bare interpreter does not, one a
    line, sorted: what --startup-output writes."""
    names = sorted(set(imported) - bare - {"__main__", "_signal"})
    return "".join(f"{name}\n" for name in names)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="py_slim_probe.py", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--python", required=True, help="interpreter to run the service with"
    )
    parser.add_argument("--module", required=True, help="what python -m runs")
    parser.add_argument(
        "--layer", action="append", required=True, help="a layer tar, in order"
    )
    parser.add_argument(
        "--env", action="append", default=[], help="KEY=VALUE of the image"
    )
    parser.add_argument(
        "--request",
        action="append",
        default=[],
        help='"METHOD /PATH", or "METHOD /PATH<TAB>CONTENT-TYPE<TAB>BODY"',
    )
    parser.add_argument(
        "--volume", action="append", default=[], help="a writable directory, e.g. /data"
    )
    parser.add_argument(
        "--job", action="append", default=[], help='"NAME=MODULE ARG...", run first'
    )
    parser.add_argument(
        "--allow", action="append", default=[], help="module imported after serving"
    )
    parser.add_argument(
        "--exclude", action="append", default=[], help="module made unimportable"
    )
    parser.add_argument("--output", required=True)
    parser.add_argument(
        "--sources-output", help="write the standard-library sources imported"
    )
    parser.add_argument(
        "--startup-output",
        help="write the modules imported before the first request",
    )
    parser.add_argument(
        "--sources-triplet",
        help="the image's multiarch triplet, for --sources-output (default: the probe's)",
    )
    args = parser.parse_args(argv)
    for name in args.allow + args.exclude:
        if (
            not name
            or "," in name
            or not all(part.isidentifier() for part in name.split("."))
        ):
            raise ocilib.OciError(f"{name!r} is not a module name")
    with tempfile.TemporaryDirectory() as tmp:
        text, multiarch, modules, startup = probe(args, Path(tmp))
    ocilib.write_file(args.output, text.encode("utf-8"))
    if args.startup_output:
        ocilib.write_file(args.startup_output, startup.encode("utf-8"))
    if args.sources_output:
        sources = source_paths(modules, multiarch, args.sources_triplet or multiarch)
        ocilib.write_file(args.sources_output, sources.encode("utf-8"))


if __name__ == "__main__":
    ocilib.run_main(main)
