"""The consumers of a connection's channel, resumed on every new channel.

Each registered consumer gets ``basic_consume`` on every channel the connection opens
(after a reconnect the broker knows nothing of the old ones); its deliveries carry the
channel's generation, so an ack can never go to a channel that did not deliver them.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from pika.channel import Channel
from pika.spec import Basic, BasicProperties

from edeposit.amqp.runtime.envelopes import Delivery, OnMessage

__all__ = ["Consumers"]

log = logging.getLogger(__name__)


@dataclasses.dataclass(slots=True)
class _Consumer:
    queue: str
    on_message: OnMessage
    exclusive: bool = False
    tag: str | None = None


class Consumers:
    """Queues to consume, with the handler of each; used on the I/O thread."""

    def __init__(self) -> None:
        self._consumers: list[_Consumer] = []

    def add(self, queue: str, on_message: OnMessage, *, exclusive: bool = False) -> None:
        self._consumers.append(_Consumer(queue, on_message, exclusive))

    def start(
        self, channel: Channel, generation: int, received: OnMessage | None = None
    ) -> list[str]:
        """Consume every queue on ``channel``; the queues' names.

        ``received`` (if given) sees each delivery before its consumer does.
        """
        for consumer in self._consumers:
            consumer.tag = channel.basic_consume(
                consumer.queue,
                _dispatcher(consumer, generation, received),
                exclusive=consumer.exclusive,
            )
        return [consumer.queue for consumer in self._consumers]

    def pause(self, channel: Channel, then: Callable[[], None]) -> None:
        """Cancel every consumer for a moment (they stay registered); ``then`` once the
        broker confirmed it. Unsettled deliveries stay the channel's to settle."""
        active = [consumer for consumer in self._consumers if consumer.tag is not None]
        remaining = len(active)
        if not remaining:
            then()
            return

        def cancelled(_frame: Any) -> None:
            nonlocal remaining
            remaining -= 1
            if remaining == 0:
                then()

        for consumer in active:
            channel.basic_cancel(consumer.tag or "", callback=cancelled)
            consumer.tag = None

    def cancel(self, channel: Channel, done: Future[None]) -> None:
        """Cancel every consumer for good (none resumes after a reconnect); then ``done``."""
        active = [consumer for consumer in self._consumers if consumer.tag is not None]
        self._consumers.clear()
        if not active:
            done.set_result(None)
            return
        remaining = len(active)

        def cancelled(_frame: Any) -> None:
            nonlocal remaining
            remaining -= 1
            if remaining == 0 and not done.done():
                done.set_result(None)

        for consumer in active:
            channel.basic_cancel(consumer.tag or "", callback=cancelled)
            consumer.tag = None


def _dispatcher(
    consumer: _Consumer, generation: int, received: OnMessage | None
) -> Callable[..., None]:
    def on_message(
        channel: Channel, method: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> None:
        delivery = Delivery(method, properties, body, generation)
        if received is not None:
            received(delivery)
        try:
            consumer.on_message(delivery)
        except Exception:  # a bug: logged; the settle watchdog releases the delivery
            log.exception(
                "handing delivery %d of %r over failed", method.delivery_tag, consumer.queue
            )

    return on_message
