"""What `ils` writes to stderr for the people who run it: log lines and `Error:` lines, each starting with the time in Asia/Tokyo.

The time is ISO 8601 with its +09:00 offset (2026-12-01T03:00:02+09:00) whatever the
host's zone, so a log read from another machine, or one written under TZ=UTC by cron or
systemd, says the library's hour. It is the wall clock's time, not --now's: the line
records when it was written.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time

from ils.library.clock import LIBRARY_TZ

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def stamp(seconds: float | None = None) -> str:
    """The instant `seconds` (default: now) as 2026-12-01T03:00:02+09:00."""
    return dt.datetime.fromtimestamp(time.time() if seconds is None else seconds, LIBRARY_TZ).isoformat(timespec="seconds")


class LibraryTimeFormatter(logging.Formatter):
    """A log record's time in library time, ISO 8601 with its offset."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        return stamp(record.created)


def configure(level: int) -> None:
    """Log to stderr at `level`, every line stamped with library time (as logging.basicConfig
    would: not when the process has set up logging already, as pytest or an embedding program has)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LibraryTimeFormatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(level)


class StampedErrors:
    """A text stream that puts the time before each `Error:` line written through it (click writes a line per call)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        if text.startswith("Error:"):
            text = f"{stamp()} {text}"
        return self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def error_line(message: str) -> str:
    """The one line a failure prints: `2026-12-01T03:00:02+09:00 Error: ...`."""
    return f"{stamp()} Error: {message}"
