"""This daemon's share of the fleet's catalogue budget (``ALEPH_FLEET_RATE_LIMIT``).

Daemons on one request queue never talk to each other; the broker already knows how
many there are. Every ``ALEPH_FLEET_SHARE_PERIOD`` seconds (and at once after each
connection) a :class:`FleetShare` asks it — a passive ``queue_declare`` on the daemon's
own channel, run on the connection's I/O thread — for the request queue's consumers, and
paces the catalogue calls at ``budget * own consumers / consumers``. A daemon that joins
or dies changes the count, and every daemon follows within one period: for at most that
long a joining daemon's share comes on top of the others' (the fleet may run at
``budget * (1 + 1/n)``), and a leaving daemon's share goes unused.

A daemon consumes its request queue once (one consumer on its main channel); the dead
letters it reads are another queue. The reading after a (re)connection is asked from the
connection's ready callback, right behind the ``basic_consume`` on the same channel, so
it counts this daemon and lands within a round trip of its first deliveries. Until the
first reading, and while the broker cannot be asked, the last share holds (the whole
budget at start: for that round trip a joining daemon may run ahead of its share).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from edeposit.amqp.catalogue.ratelimiter import RateLimiter
from edeposit.amqp.config import Settings
from edeposit.amqp.runtime.connection import BrokerConnection

__all__ = ["FleetShare", "start_fleet_share"]

log = logging.getLogger(__name__)

#: Seconds between two looks at whether the connection came back (a new reading is due).
_TICK = 0.1
#: Seconds a reading may take before it counts as failed.
_READ_TIMEOUT = 5.0


class FleetShare:
    """Keeps ``limiters`` at this daemon's share of ``budget`` (see the module docstring).

    Args:
        budget: calls per second for the whole fleet (positive).
        queue: the request queue whose consumers make up the fleet.
        connection: the daemon's main connection, read when needed (None before it exists).
        limiters: the rate limiters of this daemon's catalogue calls.
        period: seconds between two readings.
        own_consumers: consumers this daemon holds on ``queue``.
    """

    def __init__(
        self,
        budget: float,
        queue: str,
        connection: Callable[[], BrokerConnection | None],
        limiters: list[RateLimiter],
        *,
        period: float = 2.0,
        own_consumers: int = 1,
    ) -> None:
        if budget <= 0 or period <= 0:
            raise ValueError(f"budget and period must be positive, not {budget!r}, {period!r}")
        self.budget = budget
        self.queue = queue
        self.period = period
        self.own_consumers = own_consumers
        self._connection = connection
        self._limiters = limiters
        #: Consumers on the queue at the last reading (0 before the first).
        self.consumers = 0
        #: Calls per second this daemon may make now.
        self.share = budget
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._last_read = float("-inf")
        self._apply(budget)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fleet-share", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(_READ_TIMEOUT + 1)

    def refresh(self) -> bool:
        """Read the queue's consumers now and apply the share; False if it could not."""
        connection = self._connection()
        if connection is None or not connection.is_ready:
            return False
        try:
            consumers = self._read(connection).result(_READ_TIMEOUT)
        except Exception as error:  # noqa: BLE001 - the last share holds; tried again soon
            log.debug("fleet share: cannot count the consumers of %r: %s", self.queue, error)
            return False
        self.settle(consumers)
        return True

    def settle(self, consumers: int) -> None:
        """Apply the share for ``consumers`` on the queue (this daemon's own included)."""
        fleet = max(consumers, self.own_consumers)
        share = self.budget * self.own_consumers / fleet
        with self._lock:
            changed = fleet != self.consumers
            self.consumers, self.share = fleet, share
            self._last_read = time.monotonic()
            if changed:
                self._apply(share)
        if changed:
            log.info(
                "fleet share: %d consumers on %r, %.3g of %.3g calls/s for this daemon",
                fleet,
                self.queue,
                share,
                self.budget,
            )

    def _apply(self, share: float) -> None:
        for limiter in self._limiters:
            limiter.set_rate(share)

    def _read(self, connection: BrokerConnection) -> Future[int]:
        def declare(channel: Any, done: Callable[[Any], None]) -> None:
            channel.queue_declare(
                self.queue,
                passive=True,
                callback=lambda frame: done(int(frame.method.consumer_count)),
            )

        return connection.call(declare)

    def _on_ready(self, connection: BrokerConnection) -> None:
        """On the I/O thread, consuming (again): ask at once, settle when the answer comes."""

        def answered(future: Future[int]) -> None:
            if future.exception() is None:
                self.settle(future.result())

        self._read(connection).add_done_callback(answered)

    def _run(self) -> None:
        attached: BrokerConnection | None = None
        while not self._stop.wait(_TICK if attached is not None else _TICK / 10):
            connection = self._connection()
            if connection is not None and connection is not attached:
                # Made and started a moment ago: this is before its first ready, nearly always
                # (and the periodic reading below covers the rare miss).
                connection.add_ready_callback(functools.partial(self._on_ready, connection))
                attached = connection
            if connection is None or not connection.is_ready:
                continue
            if time.monotonic() - self._last_read >= self.period:
                self.refresh()


def start_fleet_share(
    settings: Settings,
    queue: str,
    connection: Callable[[], BrokerConnection | None],
    limiters: list[RateLimiter],
) -> FleetShare | None:
    """A running :class:`FleetShare` for ``ALEPH_FLEET_RATE_LIMIT`` (None when it is 0)."""
    budget = settings.ALEPH_FLEET_RATE_LIMIT
    if not budget:
        return None
    own = settings.ALEPH_RATE_LIMIT
    if 0 < own < budget:
        log.warning(
            "ALEPH_RATE_LIMIT (%g calls/s) is below ALEPH_FLEET_RATE_LIMIT (%g): "
            "a share above it is cut to it",
            own,
            budget,
        )
    share = FleetShare(
        budget, queue, connection, limiters, period=settings.ALEPH_FLEET_SHARE_PERIOD
    )
    share.start()
    return share
