"""Dead letters of the request queue: what became of a request, and what it gets now.

A quorum request queue dead-letters a request that was delivered ``x-delivery-limit``
times without an ack, and one a daemon rejected (set aside with no final answer it
could publish). The broker records each in the ``x-death`` header (newest first): the
queue, the reason, how many times (``count``), the exchange and routing keys the request
was first published with.

Every dead letter with a ``UUID`` gets an answer (docs/messages.md). Over the delivery limit
the first time, a request gets one more round on the request queue, because connection
losses count against the limit too and a healthy request must not pay for them; the
broker's own ``count`` tells the second time, never a header a sender could set (a
sender's ``x-edeposit-*`` headers are dropped from the copy sent round again). The
second time, and for any other reason, it is answered with a final error.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pika.spec import BasicProperties

from edeposit.amqp.errors import PoisonMessageError, SetAsideError
from edeposit.amqp.runtime.envelopes import Outgoing

__all__ = ["OWN_HEADER_PREFIX", "Verdict", "dead_letter_record", "judge", "revived"]

#: Headers with this prefix are the daemon's own; a sender's are never trusted or kept.
OWN_HEADER_PREFIX = "x-edeposit-"


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    """What a dead letter gets: another round, or a final error (``error``)."""

    reason: str
    error: SetAsideError | None = None

    @property
    def revive(self) -> bool:
        return self.error is None


def dead_letter_record(headers: dict[str, Any]) -> dict[str, Any]:
    """The newest ``x-death`` entry of a dead letter (empty if there is none)."""
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        return deaths[0]
    return {}


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _rounds(death: dict[str, Any]) -> int:
    count = death.get("count", 1)
    return count if isinstance(count, int) and not isinstance(count, bool) else 1


def judge(headers: dict[str, Any], *, delivery_limit: int) -> Verdict:
    """What the dead letter with ``headers`` gets (see the module docstring)."""
    death = dead_letter_record(headers)
    reason = _text(death.get("reason", "unknown"))
    if reason == "delivery_limit":
        if _rounds(death) <= 1:
            return Verdict(reason)
        return Verdict(
            reason,
            PoisonMessageError(
                f"the request was delivered {2 * delivery_limit} times and every attempt "
                "ended the daemon handling it; it was set aside (dead-lettered)"
            ),
        )
    what = {
        "rejected": "a daemon gave up on it (its handler failed, its answer could not be "
        "published, or it was not answered within ALEPH_DAEMON_SETTLE_TIMEOUT) and could "
        "not send a final answer then",
        "expired": "it waited in the request queue longer than its time to live",
        "maxlen": "the request queue was full",
    }.get(reason, f"the broker dead-lettered it ({reason})")
    return Verdict(
        reason,
        SetAsideError(
            f"the request was set aside without an answer: {what}; the daemons' logs name its UUID"
        ),
    )


def revived(
    properties: BasicProperties, body: bytes, death: dict[str, Any], default_key: str
) -> Outgoing:
    """The request again, to the exchange and key it was first published with (else
    ``default_key``); its ``x-death`` goes along (the broker counts the next death in
    it), a sender's ``x-edeposit-*`` headers do not."""
    headers = {
        key: value
        for key, value in (properties.headers or {}).items()
        if not str(key).startswith(OWN_HEADER_PREFIX)
    }
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
    keys = death.get("routing-keys") or []
    key = _text(keys[0]) if isinstance(keys, list) and keys else default_key
    return Outgoing(_text(death.get("exchange", "")), key, body, again)
