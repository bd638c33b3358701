"""Serving the app with waitress, and shutting down gracefully.

Shutdown, on SIGTERM or SIGINT (or Server.request_stop):
  1. readiness turns 503 at once (State.shutting_down);
  2. the listening sockets close, so new connections are refused;
  3. connections with no request in progress are closed; the others are left to
     finish their request and send the whole response, then closed too;
  4. when no connection is left the process exits 0. If connections are still
     busy when SHUTDOWN_GRACE_SECONDS have passed, or a second signal arrives,
     it logs that and exits 1, abandoning them.

While serving, the listeners accept through a ConnectionGuard
(connections.py): a connection cap that sheds, and a deadline for request
headers.

Instead of waitress's server.run(), Server.run() drives the same asyncore loop one
poll at a time (waitress.wasyncore.loop with count=1), so every step above runs
in the loop's own thread between polls: waitress's sockets and channels are not
thread-safe, and this way nothing else ever touches them. The signal handler only
sets flags and wakes the loop; it never waits for a lock and logs nothing, since
it may interrupt the main thread in the middle of writing a log line.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time

from waitress import wasyncore
from waitress.channel import HTTPChannel

from wsgi_service.connections import create_listeners
from wsgi_service.middleware import service_middleware

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from wsgi_service.accesslog import Logger
    from wsgi_service.app import Runtime
    from wsgi_service.config import ServerConfig

    WSGIApp = Callable[..., Any]

EXIT_OK = 0
EXIT_FAILURE = 1

# How long one poll of the loop may block while serving. Shutdown does not wait
# for it: the signal handler wakes the loop.
LOOP_TIMEOUT = 1.0
# How often the drain looks again at the remaining connections, at most; a
# finished request wakes it sooner.
DRAIN_POLL = 0.05
SIGNALS = (signal.SIGTERM, signal.SIGINT)


def waitress_settings(config: ServerConfig, ident: str) -> dict[str, object]:
    """Every waitress limit that matters, set explicitly rather than inherited."""
    return {
        "host": config.host,
        "port": config.port,
        "threads": config.threads,
        # Request line plus headers; waitress answers 431 above it. It also bounds
        # the URL, which the app limits further (414).
        "max_request_header_size": config.max_request_header_bytes,
        # Waitress answers 413 above it without reading the body; smaller bodies
        # still meet the app's own, lower limit.
        "max_request_body_size": config.max_request_body_bytes,
        # Idle kept-alive connections are closed after this many seconds,
        # looked for every few seconds.
        "channel_timeout": config.idle_timeout_seconds,
        "cleanup_interval": max(1, min(15, config.idle_timeout_seconds // 5)),
        # Enforced by the ConnectionGuard, which sheds instead of refusing.
        "connection_limit": config.max_connections,
        "backlog": 1024,
        # Neutral Server header: the service's name, no product or version
        # for scanners.
        "ident": ident,
        # No proxy is trusted, so X-Forwarded-* and Forwarded are dropped rather
        # than believed.
        "clear_untrusted_proxy_headers": True,
        "expose_tracebacks": False,
        # A client resetting its connection is routine, not an error to log.
        "log_socket_errors": False,
        # poll() has no FD_SETSIZE limit, unlike select().
        "asyncore_use_poll": True,
    }


class Server:
    def __init__(self, app: WSGIApp, runtime: Runtime):
        self.config = runtime.config
        self.state = runtime.state
        self.log = runtime.log
        self.stop_reason: str | None = None
        self._forced_by: str | None = None
        # Guards the wake-up trigger against being pulled after it is closed
        # (its file descriptor number could by then belong to another file).
        self._wake_lock = threading.Lock()
        self._closed = False
        # Our own socket map: waitress puts its listeners, channels and wake-up
        # triggers there, and the drain looks them up in it.
        self._map: dict[int, Any] = {}
        _route_waitress_logs(self.log)
        # Every app is served inside the middleware: the standard endpoints,
        # request ids, the access log and the metrics (middleware.py).
        self.app = service_middleware(app, runtime)
        # Binds now: raises OSError (port in use) or ValueError (bad host).
        self._listeners, self._dispatcher, self._guard = create_listeners(
            self.app, runtime, self._map, waitress_settings(self.config, runtime.name)
        )

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """(host, port) of every listening socket, with the real port if PORT=0."""
        return [
            (listener.effective_host, int(listener.effective_port))
            for listener in self._listeners
        ]

    def request_stop(self, reason: str) -> None:
        """Begin the graceful shutdown; a second call forces it.

        Safe from a signal handler and from any thread: it only sets flags and
        wakes the loop.
        """
        if self.state.begin_shutdown():
            self.stop_reason = reason
        else:
            self._forced_by = reason
        self._wake()

    def _wake(self) -> None:
        """Interrupt the loop's poll, unless the loop has closed its trigger.

        Never blocks: a signal handler may have interrupted the very thread that
        holds the lock. Whoever holds it is either closing (no wake needed) or
        waking the loop already.
        """
        if not self._wake_lock.acquire(blocking=False):
            return
        try:
            if not self._closed:
                self._listeners[0].pull_trigger()
        finally:
            self._wake_lock.release()

    def run(self) -> int:
        """Serve until a stop is requested, then drain; return the exit status."""
        while not self.state.shutting_down:
            self._poll(min(LOOP_TIMEOUT, self._guard.seconds_to_sweep()))
            self._guard.sweep()
        return self._drain()

    def _poll(self, timeout: float) -> None:
        wasyncore.loop(timeout=timeout, map=self._map, use_poll=True, count=1)

    def _drain(self) -> int:
        started = time.monotonic()
        grace = self.config.shutdown_grace_seconds
        deadline = started + grace
        for listener in self._listeners:
            # Closes the listening socket only: the plain dispatcher close, not
            # listener.close(), which would also close the wake-up trigger that
            # request threads still pull.
            wasyncore.dispatcher.close(listener)
        self.log.info("shutdown started", reason=self.stop_reason, grace_seconds=grace)
        while True:
            busy = self._close_idle_connections()
            if not busy:
                break
            if self._forced_by is not None:
                self.log.error(
                    "shutdown forced",
                    reason=self._forced_by,
                    busy_connections=busy,
                )
                return EXIT_FAILURE
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.log.error(
                    "shutdown grace period elapsed with requests still in progress",
                    busy_connections=busy,
                    grace_seconds=grace,
                )
                # The stuck request threads are daemon threads: exiting
                # abandons them, and their clients see the connection close.
                return EXIT_FAILURE
            self._poll(min(DRAIN_POLL, remaining))
        self._close()
        self.log.info(
            "shutdown complete",
            duration_ms=round((time.monotonic() - started) * 1000, 3),
        )
        return EXIT_OK

    def _close_idle_connections(self) -> int:
        """Close every connection with no request in progress; count the rest.

        A connection counts as busy while a request on it is being answered or
        its response is not fully sent yet. A half-received request has not
        reached the app: its connection is closed like an idle one.
        """
        busy = 0
        for obj in list(self._map.values()):
            if not isinstance(obj, HTTPChannel):
                continue
            with obj.requests_lock:
                answering = bool(obj.requests)
            # Output is appended before the request is dropped from .requests,
            # so with no request left the buffer size is final.
            if answering or obj.total_outbufs_len:
                busy += 1
            else:
                obj.handle_close()
        return busy

    def _close(self) -> None:
        # Only after the drain: no request thread is left to pull a trigger.
        self._dispatcher.shutdown(timeout=1)
        with self._wake_lock:
            self._closed = True
            wasyncore.close_all(self._map)


def serve(app: WSGIApp, runtime: Runtime) -> int:
    """Listen, serve until SIGTERM or SIGINT, drain; return the exit status."""
    log, config = runtime.log, runtime.config
    sys.setswitchinterval(config.switch_interval_us / 1e6)
    try:
        server = Server(app, runtime)
    except (OSError, ValueError) as err:
        log.error("cannot listen", host=config.host, port=config.port, error=str(err))
        return EXIT_FAILURE

    def on_signal(signum: int, frame: object) -> None:
        server.request_stop(signal.Signals(signum).name)

    # Handlers are needed even for SIGTERM: as PID 1 in a container the kernel
    # drops signals that have no handler, and SIGINT's default would raise
    # KeyboardInterrupt at an arbitrary point.
    previous = {signum: signal.signal(signum, on_signal) for signum in SIGNALS}
    try:
        for host, port in server.addresses:
            log.info("listening", host=host, port=port, url=_url(host, port))
        return server.run()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _WaitressLogHandler(logging.Handler):
    """Sends waitress's own log records (queue depth warnings, errors) to our
    log, so that the output stays one format on one stream."""

    def __init__(self, log: Logger):
        super().__init__()
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields: dict[str, object] = {"logger": record.name}
            if record.exc_info:
                fields["error"] = logging.Formatter().formatException(record.exc_info)
            self._log.log(_level_name(record.levelno), record.getMessage(), **fields)
        except Exception:  # noqa: BLE001 - logging must not break serving
            self.handleError(record)


def _level_name(levelno: int) -> str:
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warning"
    if levelno >= logging.INFO:
        return "info"
    return "debug"


def _route_waitress_logs(log: Logger) -> None:
    logger = logging.getLogger("waitress")
    logger.handlers = [_WaitressLogHandler(log)]
    logger.setLevel(logging.DEBUG)  # our Logger applies LOG_LEVEL
    logger.propagate = False
