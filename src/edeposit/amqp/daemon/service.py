"""The Aleph daemon: answers Aleph requests from RabbitMQ (``alephdaemon start|stop|…``).

Each message on the daemon queue is decoded (:mod:`edeposit.amqp.wire.codec`; a query
without a base takes the default of the daemon's own settings, not the process's),
handled by :class:`~edeposit.amqp.catalogue.service.AlephService` and answered on
``RABBITMQ_ALEPH_EXCHANGE`` with the request's ``UUID`` header echoed unchanged
(DESIGN §4): a serialized result, or an ``application/text`` error whose headers
(``exception``, ``exception_name``, ``exception_type``, ``traceback``) tell what failed.
A request key ``a.b.request`` is answered on ``a.b.result``; a request with
``reply_to`` is also answered there, with ``correlation_id``. A message without a
``UUID`` header is acked, logged and counted, and gets no answer.
"""

from __future__ import annotations

import logging
from typing import Any

import pika
from pika.spec import Basic, BasicProperties

# Importing the model registers the message classes the daemon decodes.
import edeposit.amqp.aleph  # noqa: F401
from edeposit.amqp import settings as settings_module
from edeposit.amqp.config import Settings
from edeposit.amqp.daemon.answers import (
    Answer,
    addressed,
    app_id,
    error_answer,
    header_text,
    request_uuid,
    result_answer,
    result_key,
)
from edeposit.amqp.daemon.dead_letters import REVIVED_HEADER, dead_letter_record, revived
from edeposit.amqp.daemon.ledger import AnswerLedger, request_key
from edeposit.amqp.errors import MessageError, PoisonMessageError, RequestTooLargeError
from edeposit.amqp.runtime.consumer import PikaDaemon
from edeposit.amqp.runtime.envelopes import Outgoing
from edeposit.amqp.runtime.parameters import connection_parameters, describe_broker
from edeposit.amqp.runtime.topology import aleph_topology, dead_letter_names
from edeposit.amqp.wire.codec import decode, encode

__all__ = ["AlephDaemon", "getConnectionParameters"]

log = logging.getLogger(__name__)


def getConnectionParameters(settings: Settings | None = None) -> pika.ConnectionParameters:
    """Connection parameters of the configured broker and Aleph vhost."""
    return connection_parameters(settings or settings_module.get())


class AlephDaemon(PikaDaemon):
    """A :class:`PikaDaemon` that answers Aleph requests; everything else comes from settings."""

    def __init__(
        self,
        connection_param: pika.ConnectionParameters | None = None,
        queue: str | None = None,
        output_exchange: str | None = None,
        output_key: str | None = None,
        *,
        settings: Settings | None = None,
        service: Any = None,
    ) -> None:
        self.settings = settings or settings_module.get()
        cfg = self.settings
        super().__init__(
            connection_param or getConnectionParameters(cfg),
            queue or cfg.RABBITMQ_ALEPH_DAEMON_QUEUE,
            output_exchange or cfg.RABBITMQ_ALEPH_EXCHANGE,
            output_key or cfg.RABBITMQ_ALEPH_PLONE_KEY,
            workers=cfg.ALEPH_DAEMON_WORKERS,
            topology=aleph_topology(cfg),
            shutdown_timeout=cfg.ALEPH_DAEMON_SHUTDOWN_TIMEOUT,
            reconnect_max_delay=cfg.ALEPH_DAEMON_RECONNECT_MAX_DELAY,
            settle_timeout=cfg.ALEPH_DAEMON_SETTLE_TIMEOUT,
            pid_filename=cfg.ALEPH_DAEMON_PIDFILE or "alephdaemon",
            log_filename=cfg.ALEPH_DAEMON_LOGFILE or None,
            log_level=cfg.LOG_LEVEL,
            log_format=cfg.LOG_FORMAT,
            start_timeout=cfg.ALEPH_DAEMON_START_TIMEOUT,
        )
        self.service = service
        #: Query defaults (and output form) for the messages this daemon reads and writes.
        self.wire_options = cfg.wire_options()
        self.ledger = AnswerLedger()
        #: Names this daemon in its answers' ``app_id`` (which of many daemons answered).
        self.app_id = app_id()
        if cfg.RABBITMQ_ALEPH_QUEUE_TYPE == "quorum":
            self.extra_queues[dead_letter_names(cfg)[1]] = self.onDeadLetter

    def body(self) -> None:
        """Build the Aleph service (after detaching: no sockets cross a fork), then serve."""
        self.app_id = app_id()  # the pid after a fork
        owned = self.service is None
        if owned:
            from edeposit.amqp.catalogue.service import AlephService  # noqa: PLC0415 - after fork

            self.service = AlephService(self.settings)
        log.info(
            "Aleph daemon: broker %s, queue %r, Aleph %s, %d workers",
            describe_broker(self.settings),
            self.queue,
            self.settings.ALEPH_URL,
            self.workers,
        )
        try:
            super().body()
        finally:
            if owned:
                self.service.close()

    # --- one message --------------------------------------------------------------

    def onMessageReceived(
        self, method_frame: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> bool:
        uuid = request_uuid(properties)
        if uuid is None:
            self.count("dropped_without_uuid")
            log.warning(
                "message without a UUID header dropped (key %r, %d bytes)",
                method_frame.routing_key,
                len(body),
            )
            return True
        key = request_key(uuid, body)
        earlier = None
        if method_frame.redelivered:
            earlier = self.ledger.begin(key, self.shutdown_timeout)
        else:
            self.ledger.start(key)
        if earlier is not None and earlier.answered:
            log.info("UUID %r: redelivered, already answered; acking", uuid)
            self.ledger.finish(key, answer=None, answered=True)
            return True
        if earlier is not None and earlier.answer is not None:
            answer: Answer = earlier.answer
        else:
            answer = self.answer(body, uuid, properties)

        def answered(error: BaseException | None) -> None:
            self.ledger.finish(key, answer=answer, answered=error is None)
            if error is not None:
                log.warning("UUID %r: answer not confirmed (%s); left to redelivery", uuid, error)

        self.respond(self.outgoing(answer, method_frame.routing_key, properties), answered)
        return True

    def answer(self, body: bytes, uuid: Any, properties: BasicProperties) -> Answer:
        """The result of the request in ``body``, or the error it caused, ready to publish."""
        assert self.service is not None
        try:
            limit = self.settings.ALEPH_DAEMON_MAX_BODY_BYTES
            if len(body) > limit:
                raise RequestTooLargeError(
                    f"request body of {len(body)} bytes is larger than the limit of {limit}"
                )
            request = decode(body, self.wire_options)
            log.info("UUID %r: %s", uuid, type(request).__name__)
            log.debug("UUID %r: request %r", uuid, request)
            result = self.service.handle(request)
            payload = encode(result, self.wire_options)
        except Exception as error:  # noqa: BLE001 - every failure becomes an error answer
            self.count("error_replies")
            log.info("UUID %r: answered with %s: %s", uuid, type(error).__name__, error)
            return error_answer(error, uuid, properties)
        self.count("results")
        return result_answer(payload, uuid, properties)

    def onUndecodableMessage(
        self, method_frame: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> bool:
        """A request whose headers cannot be read: answered with an error when its UUID
        can still be read, then rejected (dead-lettered, or dropped); never retried."""
        uuid = request_uuid(properties)
        if uuid is None:
            return super().onUndecodableMessage(method_frame, properties, body)
        self.count("undecodable_answered")
        error = MessageError(
            "the request's headers cannot be read "
            f"({getattr(properties, 'decode_error', '?')}); it was set aside"
        )
        log.warning(
            "UUID %s: delivery %d has unreadable headers (%s); answered with an error, rejected",
            header_text(uuid),
            method_frame.delivery_tag,
            getattr(properties, "decode_error", "?"),
        )
        answer = error_answer(error, uuid, properties)
        self.respond(self.outgoing(answer, method_frame.routing_key, properties), reject=True)
        return False

    def onDeadLetter(
        self, method_frame: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> bool:
        """A request the request queue dead-lettered (on the side connection).

        Rejected on purpose (unreadable headers): answered already, dropped here. Over
        the delivery limit for the first time: given one more round on the request
        queue, because connection losses count against the limit too and a healthy
        request must not pay for them. Over it again: answered with a final
        :class:`~edeposit.amqp.errors.PoisonMessageError`.
        """
        headers = properties.headers if isinstance(properties.headers, dict) else {}
        death = dead_letter_record(headers)
        reason = header_text(death.get("reason", "?"))
        uuid = request_uuid(properties)
        if reason == "rejected" or uuid is None:
            self.count("dead_letters_dropped")
            log.info("UUID %s: dead letter (%s) dropped", header_text(uuid), reason)
            return True
        keys = death.get("routing-keys") or [self.settings.RABBITMQ_ALEPH_DAEMON_KEY]
        if not headers.get(REVIVED_HEADER):
            self.count("dead_letters_revived")
            log.warning(
                "UUID %s: dead-lettered (%s) after %s deliveries; one more round on %r",
                header_text(uuid),
                reason,
                self.settings.RABBITMQ_ALEPH_DELIVERY_LIMIT,
                self.queue,
            )
            self.respond([revived(properties, body, death, keys, REVIVED_HEADER)])
            return True
        self.count("dead_lettered")
        log.error(
            "UUID %s: dead-lettered (%s) again; answering with an error", header_text(uuid), reason
        )
        error = PoisonMessageError(
            f"the request was delivered {2 * self.settings.RABBITMQ_ALEPH_DELIVERY_LIMIT} times "
            "and every attempt ended the daemon handling it; it was set aside (dead-lettered)"
        )
        answer = error_answer(error, uuid, properties)
        self.respond(self.outgoing(answer, header_text(keys[0]), properties))
        return True

    def outgoing(
        self, answer: Answer, request_key_: str, request: BasicProperties
    ) -> list[Outgoing]:
        """``answer`` addressed to the output exchange, and to ``reply_to`` when asked."""
        return addressed(
            answer,
            exchange=self.output_exchange,
            routing_key=result_key(request_key_, self.output_key),
            request=request,
            sender=self.app_id,
        )
