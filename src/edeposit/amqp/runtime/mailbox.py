"""Operations handed to a connection's I/O thread by other threads.

pika is not thread-safe: only the I/O thread may touch the connection. Other threads
put operations here; the first one of a burst wakes the loop
(``add_callback_threadsafe``), which then runs the whole burst. Each operation may carry
an ``on_down`` callback, told when the operation can never run because the connection is
gone; an operation that raises is logged and its ``on_down`` told, and the rest of its
burst runs as if nothing happened. :meth:`Mailbox.idle` is true only when nothing is
queued *and* nothing taken out is still running, so a drain never mistakes an answer
being published for one done.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Mailbox", "OnDown", "Operation"]

log = logging.getLogger(__name__)

Operation = Callable[[], None]
#: Told why an operation will never run.
OnDown = Callable[[BaseException], None]


class Mailbox:
    """A queue of operations for one I/O loop at a time (see the module docstring)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._queued: collections.deque[tuple[Operation, OnDown | None]] = collections.deque()
        self._lock = threading.Lock()
        self._loop: Any = None  # the ioloop taking operations, None while disconnected
        self._wake_pending = False
        self._running = 0

    def open(self, loop: Any) -> None:
        """Accept operations for ``loop`` (a pika ioloop) from now on."""
        with self._lock:
            self._loop = loop

    def close(self, error: BaseException) -> None:
        """Refuse new operations and tell the queued ones they will never run."""
        with self._lock:
            self._loop = None
            stale = list(self._queued)
            self._queued.clear()
            self._wake_pending = False
        for _operation, on_down in stale:
            if on_down is not None:
                on_down(error)

    @property
    def is_open(self) -> bool:
        return self._loop is not None

    def idle(self) -> bool:
        """Nothing queued, and nothing taken out still running."""
        with self._lock:
            return not self._queued and not self._running

    def submit(
        self, operation: Operation, on_down: OnDown | None, down: Callable[[], BaseException]
    ) -> None:
        """Queue ``operation``; if no loop takes operations, tell ``on_down`` (``down()``)."""
        with self._lock:
            loop = self._loop
            if loop is not None:
                self._queued.append((operation, on_down))
                if self._wake_pending:
                    return
                self._wake_pending = True
        if loop is None:
            if on_down is not None:
                on_down(down())
            return
        try:
            loop.add_callback_threadsafe(self._run)
        except Exception:  # noqa: BLE001 - the loop is closing; close() fails what is queued
            log.debug("%s: wake-up after close ignored", self.name)

    def _run(self) -> None:
        with self._lock:
            operations = list(self._queued)
            self._queued.clear()
            self._wake_pending = False
            self._running += 1
        try:
            for operation, on_down in operations:
                self._run_one(operation, on_down)
        finally:
            with self._lock:
                self._running -= 1

    def _run_one(self, operation: Operation, on_down: OnDown | None) -> None:
        """Run one operation; one that raises (a bug) is logged and its ``on_down`` told,
        and the rest of the burst still runs."""
        try:
            operation()
        except Exception as error:
            log.exception("%s: an operation on the I/O thread failed", self.name)
            if on_down is not None:
                try:
                    on_down(error)
                except Exception:
                    log.exception("%s: telling a failed operation's caller failed", self.name)
