"""A Bazel HTTP remote cache: nginx on 127.0.0.1 storing what Bazel PUTs.

Bazel's HTTP cache protocol is plain HTTP: GET and PUT on /ac/<sha256> (action
results) and /cas/<sha256> (file contents), 404 for a miss. nginx serves it with
its WebDAV module (`dav_methods PUT`), which the build root's nginx has built in.

`CacheServer` starts one nginx master (with its workers) on a free 127.0.0.1 port,
or a given one, storing under a given directory or a temporary one, and stops it
on exit, also when its parent dies (PR_SET_PDEATHSIG). Used by
`bazel run //tools/remote_cache:serve`, by the measuring script and by the tests.

Modes, for the tests of a cache that misbehaves:
  ok         a working cache
  read-only  GETs are served, every PUT answers 403
  error      every request answers 500
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from processes import LocalServer, check_port_free, free_port, parent_death_signal

MODES = ("ok", "read-only", "error")
# Only what Bazel asks for: /ac/ and /cas/ followed by a sha256, under an
# optional prefix (--remote_cache=http://host:port/PREFIX).
_KEY = r"/(ac|cas)/[0-9a-f]{64}$"


class CacheServerError(RuntimeError):
    """nginx is missing, could not start, or the port is taken."""


DEFAULT_NGINX = "/usr/sbin/nginx"


def find_nginx() -> str:
    """The nginx binary: $NGINX if set, else `nginx` on PATH, else /usr/sbin/nginx."""
    chosen = os.environ.get("NGINX")
    if chosen:
        if not os.access(chosen, os.X_OK):
            raise CacheServerError(f"NGINX={chosen} is not an executable file")
        return chosen
    for candidate in (shutil.which("nginx"), DEFAULT_NGINX):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise CacheServerError(
        "nginx is not installed: the cache server needs nginx with its WebDAV "
        "module (Debian's nginx has it built in). The build root has it: run "
        "./tools/bazel run //tools/remote_cache:serve; elsewhere apt-get install "
        "nginx, or set NGINX=/path/to/nginx."
    )


def nginx_config(port: int, storage: Path, state: Path, mode: str) -> str:
    """An nginx.conf serving Bazel's HTTP cache protocol from `storage`."""
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    temp = state / "temp"
    # Short plain-text bodies: Bazel quotes them in its warnings.
    if mode == "error":
        store = 'return 500 "cache server in error mode (serve --mode error)\\n";'
    else:
        store = """dav_methods PUT;
            create_full_put_path on;
            dav_access user:rw;
            limit_except GET HEAD PUT { deny all; }"""
        if mode == "read-only":
            store = (
                "if ($request_method !~ ^(GET|HEAD)$) "
                '{ return 403 "read-only cache: uploads are refused\\n"; }'
            )
    # Workers of a master started as root would run as nobody, who cannot
    # write to a private temporary directory: keep them as the caller.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    return f"""# Written by tools/remote_cache/cache_server.py (mode {mode}).
{user}daemon off;
master_process on;
worker_processes 2;
pid {state}/nginx.pid;
error_log {state}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format cache '$request_method $status $body_bytes_sent $content_length $uri';
    access_log {state}/access.log cache;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    # Layers and whole packages are single blobs: no size limit.
    client_max_body_size 0;
    client_body_buffer_size 1m;
    default_type application/octet-stream;
    server_tokens off;
    server {{
        listen 127.0.0.1:{port};
        root {storage};
        location ~ "{_KEY}" {{
            {store}
        }}
        location / {{ return 404; }}
    }}
}}
"""


@dataclass(frozen=True)
class Traffic:
    """What the server answered, from its access log."""

    hits: int  # GETs answered 200
    misses: int  # GETs answered 404
    uploads: int  # PUTs answered 201/204
    errors: int  # any answer >= 400 other than a GET's 404
    bytes_served: int
    bytes_stored: int


class CacheServer(LocalServer):
    """nginx serving a Bazel HTTP cache; a context manager.

    >>> with CacheServer() as server:
    ...     flag = f"--remote_cache={server.url}"
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        storage: Path | None = None,
        mode: str = "ok",
        start_timeout: float = 15,
    ) -> None:
        if mode not in MODES:
            raise CacheServerError(f"mode {mode!r} is not one of {', '.join(MODES)}")
        self.mode = mode
        self._requested_port = port
        self._requested_storage = storage
        self._start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._final_traffic: Traffic | None = None
        self.port = 0
        self.storage = Path()
        self.state = Path()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        nginx = find_nginx()
        check_port_free(self._requested_port, CacheServerError)
        self._tmp = tempfile.TemporaryDirectory(prefix="remote-cache-")
        tmp = Path(self._tmp.name)
        self.state = tmp / "state"
        (self.state / "temp").mkdir(parents=True)
        if self._requested_storage is None:
            self.storage = tmp / "storage"
        else:
            self.storage = self._requested_storage.resolve()
        for kind in ("ac", "cas"):
            (self.storage / kind).mkdir(parents=True, exist_ok=True)
        # A free port can be taken between our check and nginx's bind: try again.
        attempts = 1 if self._requested_port is not None else 3
        try:
            for attempt in range(attempts):
                self.port = self._requested_port or free_port()
                if self._launch(nginx, last=attempt == attempts - 1):
                    return
        except BaseException:
            self.stop()
            raise

    def _launch(self, nginx: str, *, last: bool) -> bool:
        config = self.state / "nginx.conf"
        config.write_text(nginx_config(self.port, self.storage, self.state, self.mode))
        self._process = subprocess.Popen(
            [nginx, "-p", str(self.state), "-c", str(config), "-e", "stderr"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            # Its own session: a terminal's Ctrl-C reaches the caller, who stops it.
            start_new_session=True,
            preexec_fn=parent_death_signal,
        )
        deadline = time.monotonic() + self._start_timeout
        while True:
            if self._process.poll() is not None:
                stderr = self._process.stderr.read().decode(errors="replace")
                self._process = None
                busy = "Address already in use" in stderr
                if busy and not last:
                    return False
                if busy:
                    raise CacheServerError(
                        f"port {self.port} on 127.0.0.1 is already in use: {stderr}"
                    )
                raise CacheServerError(f"nginx did not start:\n{stderr}")
            if self._answers():
                return True
            if time.monotonic() > deadline:
                self.stop()
                raise CacheServerError(
                    f"nginx did not answer on {self.url} within "
                    f"{self._start_timeout:.0f} s"
                )
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            urllib.request.urlopen(f"{self.url}/ac/{'0' * 64}", timeout=1).close()
        except urllib.error.HTTPError:
            return True  # 404 (or 500 in error mode): it is nginx answering.
        except OSError:
            return False
        return True

    def stop(self) -> None:
        """Stop nginx (fast shutdown) and remove the temporary directory."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process is not None and process.stderr is not None:
            process.stderr.close()
        if process is not None:
            # nginx logs a request after answering it: only now is the log whole.
            self._final_traffic = self._read_traffic()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def traffic(self) -> Traffic:
        """Counts from the access log: final once stopped, else up to now.

        nginx writes a request's line just after answering it, so a count read
        while it runs may miss the last requests.
        """
        if self._process is None and self._final_traffic is not None:
            return self._final_traffic
        return self._read_traffic()

    def _read_traffic(self) -> Traffic:
        requests: Counter[str] = Counter()
        served = stored = 0
        log = self.state / "access.log"
        lines = log.read_text().splitlines() if log.exists() else []
        for line in lines:
            method, status, sent, length, uri = line.split(" ", 4)
            if uri.rstrip("/").endswith(f"/ac/{'0' * 64}"):
                continue  # The start-up probe.
            code = int(status)
            if method == "GET" and code == 200:
                requests["hit"] += 1
                served += int(sent)
            elif method == "GET" and code == 404:
                requests["miss"] += 1
            elif method == "PUT" and code in (201, 204):
                requests["upload"] += 1
                stored += int(length) if length.isdigit() else 0
            elif code >= 400:
                requests["error"] += 1
        return Traffic(
            hits=requests["hit"],
            misses=requests["miss"],
            uploads=requests["upload"],
            errors=requests["error"],
            bytes_served=served,
            bytes_stored=stored,
        )
