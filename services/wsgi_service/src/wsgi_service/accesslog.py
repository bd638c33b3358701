"""Line-oriented event log: one JSON object (or one human-readable line) per event.

Used for the access log (one line per request) and for lifecycle events such as
start-up and shutdown. Lines go to one stream (stdout) and are flushed one by one,
because stdout is often a pipe in a container and a buffered line is a lost line
when the process dies. Output is pure ASCII in both formats, so the stream's
encoding never matters. (Named accesslog, not logging, so that it never shadows
the standard library module that waitress uses.)
"""

from __future__ import annotations

import json
import threading
import time

# Names only type checkers need: importing typing at run time costs start-up time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TextIO

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


class Logger:
    def __init__(
        self,
        stream: TextIO,
        level: str = "info",
        fmt: str = "json",
        clock: Callable[[], float] = time.time,
    ):
        if fmt not in ("json", "text"):
            raise ValueError(f"unknown log format {fmt!r}")
        self._stream = stream
        self._threshold = LEVELS[level]
        self._format = _format_json if fmt == "json" else _format_text
        self._clock = clock
        # One lock so that lines written by concurrent request threads never
        # interleave.
        self._lock = threading.Lock()

    def enabled(self, level: str) -> bool:
        return LEVELS[level] >= self._threshold

    def log(self, level: str, msg: str, **fields: object) -> None:
        if not self.enabled(level):
            return
        line = self._format(format_time(self._clock()), level, msg, fields)
        with self._lock:
            try:
                self._stream.write(line + "\n")
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
