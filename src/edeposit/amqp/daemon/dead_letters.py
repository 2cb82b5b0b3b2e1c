"""Dead letters of the request queue: what became of a request, and one more round.

A quorum request queue dead-letters a request that was delivered ``x-delivery-limit``
times without an ack, and one the daemon rejected on purpose. The broker records why
in the ``x-death`` header (newest first): its reason, the exchange and routing keys the
request was first published with.
"""

from __future__ import annotations

from typing import Any

from pika.spec import BasicProperties

from edeposit.amqp.runtime.envelopes import Outgoing

__all__ = ["REVIVED_HEADER", "dead_letter_record", "revived"]

#: Set on a request that the dead-letter queue sent back for one more round.
REVIVED_HEADER = "x-edeposit-revived"


def dead_letter_record(headers: dict[str, Any]) -> dict[str, Any]:
    """The newest ``x-death`` entry of a dead letter (empty if there is none)."""
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        return deaths[0]
    return {}


def revived(
    properties: BasicProperties,
    body: bytes,
    death: dict[str, Any],
    keys: list[Any],
    marker: str = REVIVED_HEADER,
) -> Outgoing:
    """The request again, to the exchange and key it was first published with, marked so
    that it is revived only once."""
    headers = dict(properties.headers or {})
    headers[marker] = 1
    raw_uuid = getattr(properties, "raw_uuid", None)
    if raw_uuid is not None:
        headers["UUID"] = raw_uuid
    again = BasicProperties(
        content_type=properties.content_type,
        content_encoding=properties.content_encoding,
        headers=headers,
        delivery_mode=properties.delivery_mode or 2,
        correlation_id=properties.correlation_id,
        reply_to=properties.reply_to,
        message_id=properties.message_id,
    )
    exchange = death.get("exchange", "")
    key = keys[0]
    return Outgoing(
        exchange.decode() if isinstance(exchange, bytes) else str(exchange),
        key.decode() if isinstance(key, bytes) else str(key),
        body,
        again,
    )
