"""What travels through a broker connection: a delivery received, a message to publish."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from pika.spec import Basic, BasicProperties

__all__ = ["Delivery", "OnMessage", "Outgoing"]


@dataclasses.dataclass(frozen=True, slots=True)
class Delivery:
    """A message received from a queue; ``generation`` ties it to the channel it came on."""

    method: Basic.Deliver
    properties: BasicProperties
    body: bytes
    generation: int


#: Called on the I/O thread with each delivery of a consumer.
OnMessage = Callable[[Delivery], None]


@dataclasses.dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to publish: where to, what, and how.

    ``required`` messages decide the fate of the request they answer; an optional one (a
    ``reply_to`` copy) that cannot be delivered is logged and counted, nothing more.
    """

    exchange: str
    routing_key: str
    body: bytes
    properties: BasicProperties
    mandatory: bool = True
    required: bool = True
