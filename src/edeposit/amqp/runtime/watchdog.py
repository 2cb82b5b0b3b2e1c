"""A channel's watchdog: nothing it holds or owes may wait for ever.

Once a second, on the I/O thread, while its :class:`~edeposit.amqp.runtime.session.Session`
lives:

* a publish (or commit) unconfirmed for ``confirm_timeout`` means the channel is stuck —
  a quorum queue that knows no leader keeps a message pending without a word — so the
  connection is closed: its deliveries go back to the queue, the channel is opened
  afresh, and a lost answer is published again when its request returns;
* a delivery nobody settled within ``settle_timeout`` is released: requeued the first
  time, set aside (its final answer, else rejected) when it was redelivered already, so
  no prefetch slot is ever lost to a handler that forgot its message.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from edeposit.amqp.runtime.envelopes import Delivery

__all__ = ["WATCH_PERIOD", "Watchdog", "Watched"]

log = logging.getLogger(__name__)

#: How often the watchdog looks, seconds.
WATCH_PERIOD = 1.0


class _Outcomes(Protocol):
    @property
    def oldest(self) -> float | None: ...


class Watched(Protocol):
    """What the watchdog reads and does of a session."""

    name: str
    connection: Any
    channel: Any

    @property
    def confirms(self) -> _Outcomes: ...

    def count(self, event: str) -> None: ...
    def unsettled_since(self, before: float) -> list[Delivery]: ...
    def settle(self, delivery: Delivery, *, ack: bool, requeue: bool = False) -> bool: ...
    def set_aside(self, delivery: Delivery, reason: str) -> None: ...


class Watchdog:
    """The watchdog of one session (see the module docstring); None disables a check."""

    def __init__(
        self, session: Watched, settle_timeout: float | None, confirm_timeout: float | None
    ) -> None:
        self.session = session
        self.settle_timeout = settle_timeout
        self.confirm_timeout = confirm_timeout

    def start(self) -> None:
        if self.settle_timeout is not None or self.confirm_timeout is not None:
            self.session.connection.ioloop.call_later(WATCH_PERIOD, self._round)

    def _round(self) -> None:
        session = self.session
        if session.channel is None or self._confirms_stalled():
            return
        if self.settle_timeout is not None:
            self._release_overdue(self.settle_timeout)
        session.connection.ioloop.call_later(WATCH_PERIOD, self._round)

    def _confirms_stalled(self) -> bool:
        session = self.session
        oldest = session.confirms.oldest
        if self.confirm_timeout is None or oldest is None:
            return False
        waited = time.monotonic() - oldest
        if waited < self.confirm_timeout:
            return False
        session.count("confirm_timeouts")
        log.warning(
            "%s: a publish unconfirmed for %.0f s (a queue without a leader?); reconnecting "
            "so that the broker redelivers what this channel holds",
            session.name,
            waited,
        )
        if session.connection.is_open:
            session.connection.close()
        return True

    def _release_overdue(self, settle_timeout: float) -> None:
        session = self.session
        for delivery in session.unsettled_since(time.monotonic() - settle_timeout):
            requeue = not delivery.method.redelivered
            log.warning(
                "%s: delivery %d (key %r) unsettled for %.0f s; released (%s)",
                session.name,
                delivery.method.delivery_tag,
                delivery.method.routing_key,
                settle_timeout,
                "requeued" if requeue else "set aside with its final answer",
            )
            session.count("released")
            if requeue:
                session.settle(delivery, ack=False, requeue=True)
            else:
                session.set_aside(
                    delivery, f"not answered within {settle_timeout:g} s (settle timeout)"
                )
