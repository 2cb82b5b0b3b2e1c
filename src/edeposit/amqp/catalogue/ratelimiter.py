"""A request-rate limit shared by every thread of the process.

The catalogue counts calls against a licence, so the limit belongs to the process, not
to a client object: :func:`process_limiter` hands every client of the same catalogue the
same :class:`RateLimiter`. Calls are paced evenly (at most one per ``1/rate`` seconds);
a caller reserves its slot under a lock and sleeps outside it, so threads never wait on
each other longer than the pacing itself requires.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

__all__ = ["RateLimiter", "process_limiter"]


class RateLimiter:
    """At most ``rate`` calls per second across all threads; ``rate`` 0 means no limit."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate < 0:
            raise ValueError(f"rate must not be negative, not {rate!r}")
        self._interval = 1.0 / rate if rate else 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = 0.0

    @property
    def rate(self) -> float:
        """Calls per second allowed (0 = unlimited)."""
        return 1.0 / self._interval if self._interval else 0.0

    def limit_to(self, rate: float) -> None:
        """Apply ``rate`` if it is stricter than the current one (the licence wins)."""
        if rate <= 0:
            return
        with self._lock:
            self._interval = max(self._interval, 1.0 / rate)

    def wait(self) -> float:
        """Block until this caller may make its call; return the seconds waited."""
        with self._lock:
            if not self._interval:
                return 0.0
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self._interval
        delay = slot - now
        if delay > 0:
            self._sleep(delay)
        return delay


_registry: dict[str, RateLimiter] = {}
_registry_lock = threading.Lock()


def process_limiter(url: str, rate: float) -> RateLimiter:
    """The process-wide limiter of the server at ``url`` (its origin), made on first use.

    A later caller asking for a stricter rate tightens the shared limiter; a looser one
    never loosens it, so two clients of one catalogue can never add up past the licence.
    """
    parts = urlsplit(url)
    key = f"{parts.scheme}://{parts.netloc}".lower()
    with _registry_lock:
        limiter = _registry.get(key)
        if limiter is None:
            limiter = _registry[key] = RateLimiter(rate)
            return limiter
    limiter.limit_to(rate)
    return limiter
