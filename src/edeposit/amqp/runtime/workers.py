"""A bounded pool of daemon worker threads for message handlers.

Hand-written because ``ThreadPoolExecutor`` joins its threads at interpreter exit:
a handler stuck on a slow catalogue would then hold the process past its shutdown
time limit. Here the threads are daemons; the owner decides how long to wait.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

__all__ = ["WorkerPool"]

log = logging.getLogger(__name__)

Task = Callable[[], None]


class WorkerPool:
    """``size`` threads running submitted callables; tracks how many are in progress."""

    def __init__(self, size: int, name: str = "worker") -> None:
        if size < 1:
            raise ValueError("a worker pool needs at least one thread")
        self.size = size
        self._tasks: queue.SimpleQueue[Task | None] = queue.SimpleQueue()
        self._count_lock = threading.Lock()  # a plain lock: taken twice per task, kept short
        self._pending = 0
        #: When each busy thread began its task (monotonic), by thread id.
        self._since: dict[int, float] = {}
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{index}", daemon=True)
            for index in range(size)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def pending(self) -> int:
        """Tasks submitted and not yet finished."""
        return self._pending

    def stuck(self, longer_than: float) -> int:
        """Threads busy with one task for more than ``longer_than`` seconds."""
        cutoff = time.monotonic() - longer_than
        return sum(1 for since in list(self._since.values()) if since < cutoff)

    def submit(self, task: Task) -> None:
        with self._count_lock:
            self._pending += 1
        self._tasks.put(task)

    def wait_idle(self, timeout: float | None) -> bool:
        """Wait until every submitted task has finished; False if ``timeout`` ran out.

        Polls (every 10 ms): it runs once, at shutdown, and keeps the per-task path cheap.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._pending:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def shutdown(self) -> None:
        """Let idle threads end; busy ones end after their task (they are daemons)."""
        for _ in self._threads:
            self._tasks.put(None)

    def _work(self) -> None:
        me = threading.get_ident()
        while (task := self._tasks.get()) is not None:
            self._since[me] = time.monotonic()
            try:
                task()
            except Exception:
                log.exception("worker task failed")
            finally:
                del self._since[me]
                with self._count_lock:
                    self._pending -= 1
