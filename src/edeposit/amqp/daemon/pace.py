"""The catalogue's pace as the daemon keeps it: its budget, its share, what it takes in.

The catalogue's budget (``ALEPH_RATE_LIMIT``, or this daemon's share of
``ALEPH_FLEET_RATE_LIMIT``: :mod:`~edeposit.amqp.daemon.fleet_share`) bounds how many
requests the daemon can serve within their deadline (``ALEPH_REQUEST_DEADLINE``). A
daemon that took more would keep them waiting for the rate limiter in memory until their
deadlines ran out, answering each with an error after seconds of waiting — while other
daemons could have served them. So the daemon takes only what its budget serves in time
(its prefetch, :meth:`CataloguePace.prefetch`), and the rest waits in the broker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edeposit.amqp.catalogue.ratelimiter import RateLimiter
from edeposit.amqp.config import Settings
from edeposit.amqp.daemon.fleet_share import FleetShare, start_fleet_share
from edeposit.amqp.runtime.connection import BrokerConnection

__all__ = ["CALLS_PER_REQUEST", "DEADLINE_SHARE", "CataloguePace"]

#: Catalogue calls the pace plans for one request: a search's ``find`` and ``present``
#: (a count or an export makes one, a validation none).
CALLS_PER_REQUEST = 2
#: The part of a request's deadline its planned calls may wait for the rate limiter.
DEADLINE_SHARE = 0.8


class CataloguePace:
    """The pace of one daemon's catalogue calls (see the module docstring).

    Args:
        settings: the daemon's settings (budget, fleet budget, deadline).
        queue: the request queue, whose consumers make up the fleet.
        connection: the daemon's main connection, read when needed.
    """

    def __init__(
        self,
        settings: Settings,
        queue: str,
        connection: Callable[[], BrokerConnection | None],
    ) -> None:
        self.settings = settings
        self.queue = queue
        self.connection = connection
        self._limiters: Callable[[], list[RateLimiter]] = list
        #: This daemon's share of ALEPH_FLEET_RATE_LIMIT (None when there is no budget).
        self.fleet_share: FleetShare | None = None

    def start(self, service: Any) -> None:
        """Pace ``service``'s catalogue calls (at the fleet share, with a fleet budget)."""
        limiters = getattr(service, "limiters", None)
        if limiters is None:
            return
        self._limiters = limiters
        self.fleet_share = start_fleet_share(self.settings, self.queue, self.connection, limiters())

    def stop(self) -> None:
        if self.fleet_share is not None:
            self.fleet_share.stop()

    def rate(self) -> float:
        """Calls per second the catalogue is paced at now (0 = not limited)."""
        return min((limiter.rate for limiter in self._limiters() if limiter.rate), default=0.0)

    def prefetch(self, workers: int) -> int:
        """Requests to take at once: what the pace serves within a deadline, at most
        ``workers`` (all of them without a rate limit or a deadline)."""
        rate, deadline = self.rate(), self.settings.ALEPH_REQUEST_DEADLINE
        if not rate or not deadline:
            return workers
        return max(1, min(workers, int(rate * deadline * DEADLINE_SHARE / CALLS_PER_REQUEST)))

    def describe(self) -> str:
        """The pace in words, for ``status``."""
        share = self.fleet_share
        if share is not None:
            return (
                f"{share.share:.3g} calls/s, this daemon's share of the fleet's "
                f"{share.budget:.3g} ({share.consumers or '?'} consumers)"
            )
        rate = self.rate()
        return f"{rate:.3g} calls/s" if rate else "not limited"
