"""Client connections that hostile clients cannot exhaust.

Waitress, left to itself, stops accepting at its connection limit: a few
hundred clients that connect and send half a request make every new client,
health probes included, wait in the kernel's backlog. Here instead:

- **A cap with shedding.** At most MAX_CONNECTIONS connections are open. When
  a new one arrives at the cap, the oldest connection with no request in
  progress is closed to make room: first those that never completed a request
  (half-open or slow clients), then idle kept-alive ones. Connections that are
  being answered are never closed; if every one is, new connections wait in
  the backlog until one finishes.
- **A deadline for request headers.** A connection must deliver its complete
  request line and headers within REQUEST_HEADER_TIMEOUT_SECONDS of
  connecting (on a kept-alive connection: of the first byte of the next
  request), however slowly it trickles them in; else it is closed.
- **JSON for waitress's own answers.** Requests waitress rejects before the app
  sees them (malformed: 400; headers too large: 431; body too large: 413;
  unsupported transfer coding: 501) get the same JSON error body, headers and
  request id as the app's errors, and are access-logged and counted.

Memory stays bounded: a connection holds at most MAX_REQUEST_HEADER_BYTES of
headers and MAX_REQUEST_BODY_BYTES of body (waitress keeps bodies above 512 KiB
in a temporary file instead), and there are at most MAX_CONNECTIONS of them.

Everything here runs in the server's loop thread, except what
GuardedChannel.service does in a request thread.
"""

from __future__ import annotations

import errno
import resource
import time

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher

from wsgi_service.config import ConfigError
from wsgi_service.observe import UNMATCHED, record_request
from wsgi_service.responses import HTTPError, headers, request_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from wsgi_service.app import Runtime

# File descriptors the process needs besides its connections: standard
# streams, listeners and wake-up pipes, /proc reads for the metrics, imports,
# temporary files of large bodies or responses.
RESERVED_FDS = 64
# Connections accepted per wake-up of the loop, so that a burst is taken in
# quickly (each loop iteration polls every connection) but the loop still
# serves the others in between.
ACCEPT_BATCH = 64
# Longest pause between two looks at the header deadlines.
MAX_SWEEP_INTERVAL = 1.0

# Error ids of waitress's own answers, as in the app's JSON errors.
ERROR_IDS = {
    400: "bad_request",
    413: "content_too_large",
    431: "request_header_fields_too_large",
    500: "internal_error",
    501: "not_implemented",
}


def reserve_file_descriptors(max_connections: int) -> None:
    """Make sure the process may open MAX_CONNECTIONS connections plus its own
    files: raise the soft RLIMIT_NOFILE if the hard limit allows, else raise
    ConfigError naming MAX_CONNECTIONS and the largest value that fits."""
    needed = max_connections + RESERVED_FDS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    if hard == resource.RLIM_INFINITY or hard >= needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
        return
    raise ConfigError(
        f"MAX_CONNECTIONS={max_connections!r} is not allowed: this process may open"
        f" at most {hard} files (RLIMIT_NOFILE) and keeps {RESERVED_FDS} for itself;"
        f" expected at most {max(hard - RESERVED_FDS, 0)}, or raise the limit"
    )


class ConnectionGuard:
    """The open connections of every listener, the cap and the deadlines."""

    def __init__(self, runtime: Runtime, clock: Callable[[], float] = time.monotonic):
        config = runtime.config
        self.max_connections = config.max_connections
        self.header_timeout = config.request_header_timeout_seconds
        self.sweep_interval = min(MAX_SWEEP_INTERVAL, self.header_timeout / 4)
        self.clock = clock
        self._metrics = runtime.metrics
        self._log = runtime.log
        # Insertion order is connection order: the first candidates to shed
        # are the oldest.
        self.channels: dict[GuardedChannel, None] = {}
        self._dropped = {"header_timeout": 0, "shed": 0}
        self._next_sweep = 0.0
        self._metrics.count_open_connections(lambda: len(self.channels))

    def add(self, channel: GuardedChannel) -> None:
        self.channels[channel] = None

    def remove(self, channel: GuardedChannel) -> None:
        self.channels.pop(channel, None)

    def can_accept(self) -> bool:
        return (
            len(self.channels) < self.max_connections
            or self._shed_candidate() is not None
        )

    def make_room(self) -> None:
        """At the cap, close the connection that can best be spared."""
        while len(self.channels) >= self.max_connections:
            victim = self._shed_candidate()
            if victim is None:
                return
            self._drop(victim, "shed")

    def _shed_candidate(self) -> GuardedChannel | None:
        idle = None
        for channel in self.channels:
            if channel.is_busy():
                continue
            if channel.requests_served == 0:
                return channel
            if idle is None:
                idle = channel
        return idle

    def seconds_to_sweep(self) -> float:
        return max(0.0, self._next_sweep - self.clock())

    def sweep(self) -> None:
        """Close connections past their header deadline; report what was dropped."""
        now = self.clock()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.sweep_interval
        for channel in list(self.channels):
            deadline = channel.header_deadline
            if deadline is not None and now >= deadline and not channel.is_busy():
                self._drop(channel, "header_timeout")
        if any(self._dropped.values()):
            # One line per sweep at most, however many were dropped.
            self._log.warning(
                "connections dropped",
                header_timeout=self._dropped["header_timeout"],
                shed=self._dropped["shed"],
                open=len(self.channels),
                max_connections=self.max_connections,
            )
            self._dropped = dict.fromkeys(self._dropped, 0)

    def _drop(self, channel: GuardedChannel, reason: str) -> None:
        channel.handle_close()
        self.remove(channel)
        self._dropped[reason] += 1
        self._metrics.count_dropped_connection(reason)


class JsonErrorTask(ErrorTask):
    """Waitress's answer to a request it rejected, as JSON, logged and counted."""

    def execute(self) -> None:
        started = time.perf_counter()
        request = self.request
        error = request.error
        server = self.channel.server
        rid = request_id(request.headers.get("X_REQUEST_ID"))
        response = HTTPError(
            error.code, _error_id(error.code), _detail(error, server.adj)
        ).response()
        body = response.body
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend(headers(response, rid))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)
        record_request(
            server.runtime.metrics,
            server.runtime.log,
            # Unset when the request line itself could not be parsed.
            method=getattr(request, "command", None) or "",
            path=getattr(request, "path", None) or "",
            route=UNMATCHED,
            status=error.code,
            sent=len(body),
            request_id=rid,
            seconds=time.perf_counter() - started,
            remote=str(self.channel.addr[0]) if self.channel.addr else "",
        )


def _error_id(code: int) -> str:
    return ERROR_IDS.get(code, f"http_{code}")


def _detail(error: Any, adj: Adjustments) -> str:
    if error.code == 431:
        return (
            f"the request line and headers are larger than {adj.max_request_header_size}"
            " bytes"
        )
    if error.code == 413:
        return f"the request body is larger than {adj.max_request_body_size} bytes"
    if error.code == 500:
        return "the server failed to answer this request"
    # waitress's own words, e.g. "Content-Length is invalid"; json_body
    # escapes whatever client bytes they quote.
    return str(error.body)[:200]


class GuardedChannel(HTTPChannel):
    error_task_class = JsonErrorTask

    def __init__(self, server: GuardedServer, sock: Any, addr: Any, adj: Any, map: Any):
        self.guard = server.guard
        # Written only by the request thread that is answering on this
        # connection (one at a time), read by the loop.
        self.requests_served = 0
        self.header_deadline: float | None = (
            self.guard.clock() + self.guard.header_timeout
        )
        super().__init__(server, sock, addr, adj, map=map)

    def add_channel(self, map: Any = None) -> None:
        super().add_channel(map)
        self.guard.add(self)

    def del_channel(self, map: Any = None) -> None:
        super().del_channel(map)
        self.guard.remove(self)

    def is_busy(self) -> bool:
        """A request is being answered, or is about to close anyway."""
        return bool(
            self.requests
            or self.total_outbufs_len
            or self.will_close
            or self.close_when_flushed
        )

    def received(self, data: bytes) -> bool:
        result = super().received(data)
        partial = self.request
        if partial is None or partial.headers_finished:
            self.header_deadline = None
        elif self.header_deadline is None:
            # The first bytes of a request on a kept-alive connection.
            self.header_deadline = self.guard.clock() + self.guard.header_timeout
        return result

    def service(self) -> None:
        super().service()
        self.requests_served += 1
        partial = self.request
        if partial is not None and not partial.headers_finished:
            # A pipelined request waited while this one was answered: its
            # time starts now.
            self.header_deadline = self.guard.clock() + self.guard.header_timeout


class GuardedServer(TcpWSGIServer):
    """A waitress listener that accepts through a ConnectionGuard."""

    channel_class = GuardedChannel

    def __init__(self, app: Any, runtime: Runtime, guard: ConnectionGuard, **kw: Any):
        self.runtime = runtime
        self.guard = guard
        self._warned_fd_exhaustion = False
        super().__init__(app, **kw)

    def readable(self) -> bool:
        # waitress's periodic close of idle kept-alive connections
        # (IDLE_TIMEOUT_SECONDS), as BaseWSGIServer.readable runs it; the
        # connection limit is the guard's instead of waitress's.
        now = time.time()
        if now >= self.next_channel_cleanup:
            self.next_channel_cleanup = now + self.adj.cleanup_interval
            self.maintenance(now)
        return bool(self.accepting) and self.guard.can_accept()

    def handle_accept(self) -> None:
        for _ in range(ACCEPT_BATCH):
            if not self.guard.can_accept():
                return
            try:
                accepted = self.accept()
            except OSError as err:
                self._accept_failed(err)
                return
            if accepted is None:
                return  # nothing more is waiting
            conn, addr = accepted
            try:
                # waitress's socket_options: TCP_NODELAY above all. Without
                # it Nagle's algorithm holds back the body written after the
                # headers until the client's delayed ACK, 40 ms a response.
                self.set_socket_options(conn)
            except OSError:
                conn.close()  # The client left already (waitress does the same).
                continue
            self.guard.make_room()
            self.channel_class(self, conn, self.fix_addr(addr), self.adj, map=self._map)

    def _accept_failed(self, err: OSError) -> None:
        if err.errno in (errno.EMFILE, errno.ENFILE) and not self._warned_fd_exhaustion:
            # RESERVED_FDS was not enough (large responses spilling to files?).
            self._warned_fd_exhaustion = True
            self.runtime.log.error(
                "cannot accept: out of file descriptors",
                open_connections=len(self.guard.channels),
                error=str(err),
            )


def create_listeners(
    app: Any, runtime: Runtime, socket_map: dict[int, Any], settings: dict[str, Any]
) -> tuple[list[GuardedServer], ThreadedTaskDispatcher, ConnectionGuard]:
    """What waitress.create_server makes for TCP, with guarded listeners: one per
    address HOST resolves to, sharing one guard and one pool of threads.
    Raises OSError (cannot bind) or ValueError (bad host)."""
    adj = Adjustments(**settings)
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    guard = ConnectionGuard(runtime)
    listeners = [
        GuardedServer(
            app,
            runtime,
            guard,
            map=socket_map,
            dispatcher=dispatcher,
            adj=adj,
            sockinfo=sockinfo,
        )
        for sockinfo in adj.listen
    ]
    return listeners, dispatcher, guard
