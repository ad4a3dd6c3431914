"""Progress for long work: on a terminal, a bar with the total and the time left on stderr; nothing when
stderr is not a terminal (cron, a pipe, a log file), so a night run from cron stays quiet.

One bar at a time. A line written while a bar is shown (`Bar.say`) clears the bar first, so the
line reads whole and the bar is drawn again below it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

_CLEAR = "\r\033[K"


def on_terminal() -> bool:
    return sys.stderr.isatty()


class Bar:
    """A click progress bar on stderr (click.progressbar: position, percentage and ETA)."""

    def __init__(self, bar) -> None:
        self._bar = bar

    def advance(self, done: int = 1, label: str | None = None) -> None:
        if label is not None:
            self._bar.label = label
        # An estimated total (the bench's phases) may be passed: the bar stops at its end.
        self._bar.update(max(0, min(done, self._bar.length - self._bar.pos)))

    def to(self, position: int, label: str | None = None) -> None:
        """Move the bar to `position` (never back)."""
        self.advance(max(0, min(position, self._bar.length) - self._bar.pos), label)

    def say(self, line: str) -> None:
        click.echo(_CLEAR + line, err=True)
        self._bar.render_progress()


class NoBar:
    """What a bar is when stderr is not a terminal: it shows nothing, and lines go nowhere either."""

    def advance(self, done: int = 1, label: str | None = None) -> None:
        pass

    def to(self, position: int, label: str | None = None) -> None:
        pass

    def say(self, line: str) -> None:
        pass


@contextmanager
def bar(total: int, label: str, *, terminal: bool | None = None) -> Iterator[Bar | NoBar]:
    """A bar from 0 to `total` units on a terminal, else a NoBar."""
    if not (on_terminal() if terminal is None else terminal) or total <= 0:
        yield NoBar()
        return
    with click.progressbar(length=total, label=label, file=sys.stderr, show_eta=True, show_pos=True,
                           show_percent=True, width=30) as shown:
        yield Bar(shown)
    click.echo(_CLEAR, nl=False, err=True)


def csv_rows(path: Path) -> int:
    """About how many rows a CSV file holds (its lines less the header): a bar's total, read
    at disk speed. A field with a line break in it makes this a little high, never low."""
    lines = 0
    last = b"\n"
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0)
