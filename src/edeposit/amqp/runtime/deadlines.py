"""One timer thread for many deadlines (a thread per deadline would cost more than a call)."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable

__all__ = ["Deadlines"]


class Deadlines:
    """Run ``callback`` at ``when`` (``time.monotonic()``) on a shared daemon thread.

    Callbacks must be quick and must tolerate running after the work they guard is
    done (there is no cancel: a finished call simply ignores its expiry).
    """

    def __init__(self, name: str = "deadlines") -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def add(self, delay: float, callback: Callable[[], None]) -> None:
        with self._changed:
            entry = (time.monotonic() + delay, next(self._order), callback)
            heapq.heappush(self._heap, entry)
            if self._heap[0] is entry:
                self._changed.notify()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify()

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._closed:
                    if not self._heap:
                        self._changed.wait()
                        continue
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        break
                    self._changed.wait(wait)
                if self._closed:
                    return
                _, _, callback = heapq.heappop(self._heap)
            callback()
