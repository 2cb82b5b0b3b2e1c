"""Publisher confirms of one channel: which publish each ``Basic.Ack``/``Nack`` settles.

The broker numbers a channel's publishes from 1 and confirms them, singly or up to a
tag (``multiple``). Each publish registers who wants its outcome: ``None`` once the
broker has the message, :class:`~edeposit.amqp.errors.PublishRejectedError` on a nack, or
the error that lost the channel first. Used on the I/O thread only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from pika.spec import Basic

from edeposit.amqp.errors import BrokerError, PublishRejectedError

__all__ = ["Confirmed", "Confirms", "gathered", "resolver"]

log = logging.getLogger(__name__)

#: Told the outcome of a publish: None when confirmed, else the error.
Confirmed = Callable[[BaseException | None], None]


class Confirms:
    """Unconfirmed publishes of the current channel, by sequence number."""

    def __init__(self, name: str) -> None:
        self.name = name
        #: Who waits for each publish's outcome, and since when (monotonic), in order.
        self._waiting: dict[int, tuple[Confirmed, float]] = {}
        self._sequence = 0

    def __len__(self) -> int:
        return len(self._waiting)

    @property
    def oldest(self) -> float | None:
        """When the oldest publish still waiting for its confirm was made (monotonic)."""
        return next(iter(self._waiting.values()))[1] if self._waiting else None

    def track(self, confirmed: Confirmed) -> None:
        """Register the publish just made on the channel."""
        self._sequence += 1
        self._waiting[self._sequence] = (confirmed, time.monotonic())

    def on_frame(self, frame: Any) -> None:
        """``confirm_delivery``'s callback: settle what the ack or nack covers."""
        method = frame.method
        tag: int = method.delivery_tag
        if method.multiple:
            tags = [sequence for sequence in self._waiting if sequence <= tag]
        else:
            tags = [tag] if tag in self._waiting else []
        error = (
            None
            if isinstance(method, Basic.Ack)
            else PublishRejectedError(f"{self.name}: the broker refused a message")
        )
        for sequence in tags:
            _tell(self._waiting.pop(sequence)[0], error, self.name)

    def fail_all(self, error: BrokerError) -> None:
        """The channel is gone: every waiting publish learns it was not confirmed."""
        waiting, self._waiting = self._waiting, {}
        for confirmed, _since in waiting.values():
            _tell(confirmed, error, self.name)


def _tell(confirmed: Confirmed, error: BaseException | None, name: str) -> None:
    """Tell one publisher its outcome; a callback that raises (a bug) is logged and the
    other publishers are still told."""
    try:
        confirmed(error)
    except Exception:
        log.exception("%s: a publish outcome callback failed", name)


def resolver(future: Future[Any]) -> Confirmed:
    """A publish outcome callback that settles ``future``."""

    def confirmed(error: BaseException | None) -> None:
        if future.done():
            return
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)

    return confirmed


def gathered(count: int, done: Confirmed) -> Confirmed:
    """One outcome callback for ``count`` publishes: ``done`` hears the first error (or
    None) once all of them are settled."""
    remaining = count
    failure: BaseException | None = None

    def confirmed(error: BaseException | None) -> None:
        nonlocal remaining, failure
        remaining -= 1
        failure = failure or error
        if not remaining:
            done(failure)

    return confirmed
