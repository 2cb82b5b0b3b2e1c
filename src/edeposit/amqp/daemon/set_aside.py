"""The Aleph daemon's answers to requests it cannot answer the usual way.

Every request with a ``UUID`` gets an answer (docs/messages.md), also one whose headers cannot
be read, one the daemon gives up on (its handler failed, it was released twice, its
answer was refused twice: :meth:`PikaDaemon.final_answer
<edeposit.amqp.runtime.consumer.PikaDaemon.final_answer>`) and one the request queue
dead-lettered (:mod:`~edeposit.amqp.daemon.dead_letters`). Only a request whose ``UUID``
alone is too large for a frame cannot be answered: it is counted, logged and set aside.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pika.spec import Basic, BasicProperties

from edeposit.amqp.config import Settings
from edeposit.amqp.daemon.answers import Answer, error_answer, header_text, request_uuid
from edeposit.amqp.daemon.dead_letters import dead_letter_record, judge, revived
from edeposit.amqp.daemon.ledger import AnswerLedger, request_key
from edeposit.amqp.errors import MessageError, SetAsideError
from edeposit.amqp.runtime.confirms import Confirmed
from edeposit.amqp.runtime.connection import BrokerConnection
from edeposit.amqp.runtime.envelopes import Outgoing
from edeposit.amqp.runtime.logs import bounded

__all__ = ["SetAsideAnswers"]

log = logging.getLogger(__name__)


class SetAsideAnswers:
    """Mixed into the Aleph daemon before :class:`PikaDaemon`, whose methods it uses."""

    settings: Settings
    queue: str
    connection: BrokerConnection | None
    side_connection: BrokerConnection | None  # where the dead letters come
    ledger: AnswerLedger

    if TYPE_CHECKING:  # provided by PikaDaemon and AlephDaemon

        def count(self, event: str) -> None: ...
        def reject(self) -> None: ...
        def respond(self, messages: list[Outgoing], on_done: Confirmed | None = None) -> None: ...
        def outgoing(
            self, answer: Answer, request_key_: str, request: BasicProperties
        ) -> list[Outgoing] | None: ...

    def _error_messages(
        self, error: BaseException, uuid: Any, properties: BasicProperties, key: str
    ) -> list[Outgoing] | None:
        """The error answer to a request, ready to publish; None (told and counted) when
        no answer with its UUID fits the broker's frame."""
        messages = self.outgoing(error_answer(error, uuid, properties), key, properties)
        if messages is None:
            self._unanswerable(uuid)
        return messages

    def _unanswerable(self, uuid: Any) -> None:
        self.count("dropped_unanswerable")
        log.error(
            "UUID of %d bytes: no answer fits the broker's frame of %d bytes with it; the "
            "request is set aside unanswered (dead-lettered, or dropped)",
            len(header_text(uuid).encode("utf-8", "replace")),
            self.connection.frame_max if self.connection is not None else 0,
        )

    def onUndecodableMessage(
        self, method_frame: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> bool:
        """A request whose headers cannot be read: answered with an error when its UUID
        can still be read (then acked), else set aside; never retried."""
        uuid = request_uuid(properties)
        if uuid is None:
            # PikaDaemon's (next in the daemon's classes): logged, counted and rejected.
            dropped = super().onUndecodableMessage(method_frame, properties, body)  # type: ignore[misc]
            return bool(dropped)
        self.count("undecodable_answered")
        reason = bounded(str(getattr(properties, "decode_error", "?")))
        log.warning(
            "UUID %s: delivery %d has unreadable headers (%s); answered with an error",
            bounded(header_text(uuid)),
            method_frame.delivery_tag,
            reason,
        )
        error = MessageError(f"the request's headers cannot be read ({reason}); it was set aside")
        messages = self._error_messages(error, uuid, properties, method_frame.routing_key)
        if messages is None:
            self.reject()
        else:
            self.respond(messages)
        return False

    def final_answer(
        self, method_frame: Basic.Deliver, properties: BasicProperties, body: bytes, reason: str
    ) -> list[Outgoing] | None:
        """A request given up on (see :meth:`PikaDaemon.final_answer`) is answered with a
        :class:`~edeposit.amqp.errors.SetAsideError` saying why."""
        uuid = request_uuid(properties)
        if uuid is None:
            return None
        shown = bounded(header_text(uuid))
        log.error("UUID %s: given up on: %s; answered with an error", shown, reason)
        error = SetAsideError(f"the request was given up on: {reason}")
        return self._error_messages(error, uuid, properties, method_frame.routing_key)

    def onDeadLetter(
        self, method_frame: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> bool:
        """A request the request queue dead-lettered (on the side connection): one more
        round the first time it went over the delivery limit, else a final error answer
        (:func:`~edeposit.amqp.daemon.dead_letters.judge`). Without a UUID: dropped."""
        headers = properties.headers if isinstance(properties.headers, dict) else {}
        uuid = request_uuid(properties)
        verdict = judge(headers, delivery_limit=self.settings.RABBITMQ_ALEPH_DELIVERY_LIMIT)
        if uuid is None:
            self.count("dead_letters_dropped")
            log.info("dead letter (%s) without a UUID dropped", bounded(verdict.reason))
            return True
        shown = bounded(header_text(uuid))
        death, request_key_ = dead_letter_record(headers), self.settings.RABBITMQ_ALEPH_DAEMON_KEY
        if verdict.error is None:
            self.count("dead_letters_revived")
            log.warning(
                "UUID %s: dead-lettered (%s) after %s deliveries; one more round on %r",
                shown,
                verdict.reason,
                self.settings.RABBITMQ_ALEPH_DELIVERY_LIMIT,
                self.queue,
            )
            # The copy may come back to this very daemon (and end it, if it is poison)
            # before the dead letter's ack has reached the broker: its handler waits for
            # that first (the ledger, released after a round trip behind the ack), or the
            # dead letter would be sent round twice.
            sending = request_key(uuid, body)
            self.ledger.start(sending)

            def release(_outcome: object = None) -> None:
                self.ledger.finish(sending, answer=None, answered=False)

            def acked(error: BaseException | None) -> None:
                connection = self.side_connection
                if error is not None or connection is None:
                    release()
                else:
                    connection.barrier().add_done_callback(release)

            self.respond([revived(properties, body, death, request_key_)], acked)
            return True
        key = header_text((death.get("routing-keys") or [request_key_])[0])
        messages = self._error_messages(verdict.error, uuid, properties, key)
        if messages is not None:
            self.count("dead_lettered")
            log.error("UUID %s: dead-lettered (%s); answered with an error", shown, verdict.reason)
            self.respond(messages)
        return True
