"""How far indexing a corpus got, on a terminal: one line on stderr, updated in place.

Indexing the 250,000 records of a large corpus takes about a minute; silence for that
long looks like a hang. On a terminal the line shows the records read, the rate, the
share of the corpus's bytes read and the time left to read the rest (estimated from
the bytes, since the number of records is known only at the end), drawn at the first
record and then at most every half second; then that the search index is being
written. The totals go to the log when the build ends, terminal or not
(:mod:`~edeposit.amqp.emulator.index`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["IndexProgress"]

#: Seconds between two redraws of the line.
REDRAW_PERIOD = 0.5
#: Erases from the cursor to the end of the line (ANSI, which every terminal speaks).
_ERASE = "\x1b[K"


class IndexProgress:
    """The progress line of one index build.

    Args:
        total_bytes: the size of the corpus files together.
        stream: the terminal to draw on (the caller checks it is one).
        clock: seconds, monotonic (tests pass their own).
    """

    def __init__(
        self, total_bytes: int, stream: TextIO, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.total_bytes = max(total_bytes, 1)
        self.stream = stream
        self.clock = clock
        self.records = 0
        self.done_bytes = 0
        self.started = clock()
        self._next_draw = self.started  # the first record draws the line at once
        self._drawn = False

    def record_read(self, done_bytes: int) -> None:
        """One more record was read; ``done_bytes`` of the corpus are read so far."""
        self.records += 1
        self.done_bytes = done_bytes
        if self.clock() >= self._next_draw:
            self.draw()

    def line(self) -> str:
        """The progress as one line of text."""
        elapsed = self.clock() - self.started
        share = min(self.done_bytes / self.total_bytes, 1.0)
        text = f"indexing: {self.records:,} records, {share:.0%} of {_size(self.total_bytes)}"
        if elapsed >= REDRAW_PERIOD:  # before that, a rate would mean little
            text += f", {self.records / elapsed:,.0f} records/s"
            if 0 < share < 1:
                text += f", about {_duration(elapsed * (1 - share) / share)} left"
        return text

    def draw(self, text: str | None = None) -> None:
        """Redraw the line (with ``text`` instead of the progress, when given)."""
        self._next_draw = self.clock() + REDRAW_PERIOD
        self.stream.write(f"\r{text or self.line()}{_ERASE}")
        self.stream.flush()
        self._drawn = True

    def writing(self) -> None:
        """Every record was read; what remains is writing the search index."""
        if self._drawn:
            self.draw(f"indexing: {self.records:,} records read; writing the search index")

    def finish(self) -> None:
        """Erase the line: the log line with the totals takes its place."""
        if self._drawn:
            self.stream.write(f"\r{_ERASE}")
            self.stream.flush()
            self._drawn = False


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KB"
    return f"{count / (1024 * 1024):,.1f} MB"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"
