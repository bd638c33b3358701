"""Line-oriented event log: one JSON object (or one human-readable line) per event.

Used for the access log (one line per request) and for lifecycle events such as
start-up and shutdown. Lines go to one stream (stdout), flushed as soon as they
are written, because stdout is often a pipe in a container and a buffered line
is a lost line when the process dies.

The service's logger writes from a thread of its own (background=True): a
request thread only formats its line and queues it, and never makes the
write(2) itself. Every system call of a request thread gives up the
interpreter lock, and taking it back means waiting for the busy loop thread
to yield; together with the server's shorter switch interval
(SWITCH_INTERVAL_US), this took hello from under 200 to over 2,000
requests/s with 32 concurrent clients on 2 cores (docs/OPTIMIZATION.md,
section 7). The writer wakes at a line, lets the lines of the next
BATCH_SECONDS queue behind it, and writes them in one go: under load one
write(2), and one turn of the writer at the interpreter lock, carries many
requests' lines instead of one. close() (at exit) writes what is left. Only
a process killed outright (SIGKILL) loses the lines queued in its last
instant (at most BATCH_SECONDS of them).
"""

from __future__ import annotations

import atexit
import collections
import json
import threading
import time

# Names only type checkers need: importing typing at run time costs start-up time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TextIO

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
# How long the background writer waits, once a line is queued, for more
# before it writes: a line reaches the stream within this, and under load the
# writer runs at most 1/BATCH_SECONDS times a second.
BATCH_SECONDS = 0.005


class Logger:
    def __init__(
        self,
        stream: TextIO,
        level: str = "info",
        fmt: str = "json",
        clock: Callable[[], float] = time.time,
        background: bool = False,
    ):
        if fmt not in ("json", "text"):
            raise ValueError(f"unknown log format {fmt!r}")
        self._stream = stream
        self._threshold = LEVELS[level]
        self._format = _format_json if fmt == "json" else _format_text
        self._clock = clock
        self._lock = threading.Lock()  # held while writing to the stream
        self._queued: collections.deque[str] = collections.deque()
        self._wake = threading.Event()
        self._closed = False
        self._writer: threading.Thread | None = None
        if background:
            self._writer = threading.Thread(
                target=self._write_queued_forever, name="log-writer", daemon=True
            )
            self._writer.start()
            atexit.register(self.close)

    def enabled(self, level: str) -> bool:
        return LEVELS[level] >= self._threshold

    def log(self, level: str, msg: str, **fields: object) -> None:
        if not self.enabled(level):
            return
        line = self._format(format_time(self._clock()), level, msg, fields)
        if self._writer is None or self._closed:
            with self._lock:
                self._write(line + "\n")
            return
        self._queued.append(line)  # deque.append is atomic: no lock needed
        if not self._wake.is_set():  # the writer is awake already otherwise
            self._wake.set()
        if self._closed:  # close() came in between: its last flush may be past
            self.flush()

    def flush(self) -> None:
        """Write every line queued so far (from any thread)."""
        with self._lock:
            lines = []
            while self._queued:
                lines.append(self._queued.popleft())
            if lines:
                self._write("\n".join(lines) + "\n")

    def close(self) -> None:
        """Stop the writer thread and write what is left; later lines are
        written at once, by the thread that logs them."""
        if self._writer is None or self._closed:
            return
        self._closed = True
        self._wake.set()
        self._writer.join(timeout=5)
        self.flush()

    def _write_queued_forever(self) -> None:
        while not self._closed:
            self._wake.wait()
            if not self._closed:
                time.sleep(BATCH_SECONDS)
            # Cleared before the flush: a line queued after it sets it again.
            self._wake.clear()
            self.flush()

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):
            # stdout is gone (closed pipe, closed file): there is nowhere left
            # to report this, and failing the request would not help.
            pass

    def debug(self, msg: str, **fields: object) -> None:
        self.log("debug", msg, **fields)

    def info(self, msg: str, **fields: object) -> None:
        self.log("info", msg, **fields)

    def warning(self, msg: str, **fields: object) -> None:
        self.log("warning", msg, **fields)

    def error(self, msg: str, **fields: object) -> None:
        self.log("error", msg, **fields)


def format_time(timestamp: float) -> str:
    """ISO 8601 in UTC with milliseconds, e.g. 2024-05-01T12:00:00.123Z."""
    seconds = int(timestamp)
    millis = int((timestamp - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _format_json(ts: str, level: str, msg: str, fields: dict[str, object]) -> str:
    record = {"time": ts, "level": level, "msg": msg, **fields}
    # ensure_ascii escapes control characters too, so one event is one line
    # whatever a client put in its path or headers.
    return json.dumps(record, separators=(",", ":"), default=str)


def _format_text(ts: str, level: str, msg: str, fields: dict[str, object]) -> str:
    parts = [ts, level.upper(), _text_value(msg)]
    parts.extend(f"{key}={_text_value(value)}" for key, value in fields.items())
    return " ".join(parts)


def _text_value(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    if text and text.isascii() and text.isprintable() and not _NEEDS_QUOTES & set(text):
        return text
    # Quoted and escaped: keeps the line single and the value unambiguous.
    return json.dumps(text)


_NEEDS_QUOTES = frozenset(' "=\\')
