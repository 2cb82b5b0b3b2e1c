"""A request-rate limit shared by every thread that calls one catalogue.

The catalogue counts calls against a licence, so the limit belongs to the catalogue's
origin, not to a client object: the service owning the clients of a catalogue gives them
one :class:`RateLimiter` (:mod:`~edeposit.amqp.catalogue.guards`). Calls are paced
evenly (at most one per ``1/rate`` seconds); a caller reserves its slot under a lock and
sleeps outside it, so threads never wait on each other longer than the pacing itself
requires. A caller with a deadline never takes a slot it could not use in time: it is
told at once (:class:`~edeposit.amqp.errors.AlephOverloadedError`), and the slot stays
free for a caller that can.

Two limits meet in one limiter, and the stricter paces: the licence of this process
(``ALEPH_RATE_LIMIT``, only ever tightened by :meth:`RateLimiter.limit_to`) and an
adjustable share (:meth:`RateLimiter.set_rate`), which the daemon moves up and down as
daemons join and leave the fleet that shares ``ALEPH_FLEET_RATE_LIMIT``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from edeposit.amqp.errors import AlephOverloadedError

__all__ = ["RateLimiter"]


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
        self._licence = 1.0 / rate if rate else 0.0  # seconds between calls; 0 = none
        self._share = 0.0
        self._interval = self._licence
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._last_slot = float("-inf")  # when the latest call handed out may go

    @property
    def rate(self) -> float:
        """Calls per second allowed (0 = unlimited)."""
        return 1.0 / self._interval if self._interval else 0.0

    @property
    def licence(self) -> float:
        """The process's own limit, calls per second (0 = none), whatever the share."""
        return 1.0 / self._licence if self._licence else 0.0

    def limit_to(self, rate: float) -> None:
        """Apply ``rate`` if it is stricter than the current one (the licence wins)."""
        if rate <= 0:
            return
        with self._lock:
            self._licence = max(self._licence, 1.0 / rate)
            self._interval = max(self._licence, self._share)

    def set_rate(self, rate: float) -> None:
        """Set the adjustable share to ``rate`` calls per second (0 = no share).

        Unlike :meth:`limit_to` it loosens as well as tightens, but never past the
        licence. Slots already handed out keep their time; the next one comes at the new
        pace after the last of them.
        """
        if rate < 0:
            raise ValueError(f"rate must not be negative, not {rate!r}")
        with self._lock:
            self._share = 1.0 / rate if rate else 0.0
            self._interval = max(self._licence, self._share)

    def wait(self, within: float | None = None, what: str = "a catalogue call") -> float:
        """Block until this caller may make its call; return the seconds waited.

        Raises:
            AlephOverloadedError: the caller's slot would come more than ``within``
                seconds from now (its deadline); no slot was taken.
        """
        with self._lock:
            if not self._interval:
                return 0.0
            now = self._clock()
            slot = max(now, self._last_slot + self._interval)
            delay = slot - now
            if within is not None and delay > within:
                rate = 1.0 / self._interval
                raise AlephOverloadedError(
                    f"{what}: the catalogue's budget of {rate:g} calls/s has no call free "
                    f"for {delay:.1f} s, past the request's deadline; the daemon has more "
                    "requests than its budget serves (ALEPH_RATE_LIMIT, "
                    "ALEPH_FLEET_RATE_LIMIT, ALEPH_REQUEST_DEADLINE)"
                )
            self._last_slot = slot
        if delay > 0:
            self._sleep(delay)
        return delay
