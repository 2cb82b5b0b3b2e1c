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

Everything logged while a request is handled carries its UUID and kind (a logging
context, :mod:`edeposit.amqp.runtime.logs`), and each request ends with one line giving
its outcome and duration. With ``ALEPH_DAEMON_METRICS_PORT`` the daemon serves its
metrics, health and readiness over HTTP (:mod:`~edeposit.amqp.daemon.endpoint`). With
``ALEPH_FLEET_RATE_LIMIT`` it paces its catalogue calls at its share of the fleet's
budget (:mod:`~edeposit.amqp.daemon.fleet_share`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pika
from pika.spec import Basic, BasicProperties

# Importing the model registers the message classes the daemon decodes.
import edeposit.amqp.aleph  # noqa: F401
from edeposit.amqp import settings as settings_module
from edeposit.amqp.catalogue.observer import NO_OBSERVER, CatalogueObserver
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
from edeposit.amqp.daemon.endpoint import Endpoint
from edeposit.amqp.daemon.fleet_share import FleetShare, start_fleet_share
from edeposit.amqp.daemon.ledger import AnswerLedger, request_key
from edeposit.amqp.daemon.metrics import CatalogueMetrics, DaemonMetrics, outcome_of
from edeposit.amqp.errors import MessageError, PoisonMessageError, RequestTooLargeError
from edeposit.amqp.runtime.consumer import PikaDaemon
from edeposit.amqp.runtime.envelopes import Outgoing
from edeposit.amqp.runtime.logs import request_context, set_request_kind
from edeposit.amqp.runtime.parameters import describe_broker, node_parameters
from edeposit.amqp.runtime.runner import ExitCode
from edeposit.amqp.runtime.topology import aleph_topology, dead_letter_names
from edeposit.amqp.wire.codec import decode, encode

__all__ = ["AlephDaemon", "getConnectionParameters"]

log = logging.getLogger(__name__)


def getConnectionParameters(settings: Settings | None = None) -> pika.ConnectionParameters:
    """Connection parameters of the configured broker and Aleph vhost (of a random one of
    RABBITMQ_NODES: scripts spread over a cluster)."""
    return node_parameters(settings or settings_module.get())[0]


class AlephDaemon(PikaDaemon):
    """A :class:`PikaDaemon` that answers Aleph requests; everything else comes from settings."""

    def __init__(
        self,
        connection_param: pika.ConnectionParameters
        | Sequence[pika.ConnectionParameters]
        | None = None,
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
            connection_param or node_parameters(cfg),
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
        #: The metrics and their HTTP endpoint (with ALEPH_DAEMON_METRICS_PORT only).
        self.metrics: DaemonMetrics | None = None
        self.endpoint: Endpoint | None = None
        self.ledger = AnswerLedger()
        #: This daemon's share of ALEPH_FLEET_RATE_LIMIT (None when there is no budget).
        self.fleet_share: FleetShare | None = None
        #: Names this daemon in its answers' ``app_id`` (which of many daemons answered).
        self.app_id = app_id()
        if cfg.RABBITMQ_ALEPH_QUEUE_TYPE == "quorum":
            self.extra_queues[dead_letter_names(cfg)[1]] = self.onDeadLetter

    def count(self, event: str) -> None:
        super().count(event)
        if self.metrics is not None:
            self.metrics.counted(event)

    def body(self) -> None:
        """Build the Aleph service (after detaching: no sockets cross a fork), then serve."""
        self.app_id = app_id()  # the pid after a fork
        if self.settings.ALEPH_DAEMON_METRICS_PORT and not self._start_endpoint():
            return
        owned = self.service is None
        if owned:
            from edeposit.amqp.catalogue.service import AlephService  # noqa: PLC0415 - after fork

            observer: CatalogueObserver = NO_OBSERVER
            if self.metrics is not None:
                observer = CatalogueMetrics(self.metrics)
            self.service = AlephService(self.settings, observer=observer)
        self._start_fleet_share()
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
            if self.fleet_share is not None:
                self.fleet_share.stop()
            if owned:
                self.service.close()
            if self.endpoint is not None:
                self.endpoint.stop()

    def _start_fleet_share(self) -> None:
        """Follow the fleet's size to pace the catalogue at this daemon's share."""
        limiters = getattr(self.service, "limiters", None)
        if limiters is not None:
            self.fleet_share = start_fleet_share(
                self.settings, self.queue, lambda: self.connection, limiters()
            )

    def status_facts(self) -> Mapping[str, str]:
        """Where the catalogue is, the wire form written, the catalogue's pace (this
        daemon's share of a fleet budget) and the cache."""
        share = self.fleet_share
        if share is not None:
            pace = (
                f"{share.share:.3g} calls/s, this daemon's share of the fleet's "
                f"{share.budget:.3g} ({share.consumers or '?'} consumers)"
            )
        else:
            rate = self._rate_limit()
            pace = f"{rate:.3g} calls/s" if rate else "not limited"
        cfg = self.settings
        details = {
            "aleph url": f"{cfg.ALEPH_URL} (export form {cfg.ALEPH_EXPORT_URL})",
            "wire form": f"generation {cfg.ALEPH_WIRE_GENERATION} (ALEPH_WIRE_GENERATION)",
            "catalogue": pace,
        }
        cache = getattr(getattr(self, "service", None), "cache", None)
        if cache is not None and cache.enabled:
            details["cache"] = f"{len(cache)} answers kept for {cache.ttl:g} s"
        return details

    def _rate_limit(self) -> float:
        """Calls per second the catalogue is paced at now (0 = not limited)."""
        limiters = getattr(self.service, "limiters", None)
        rates = [limiter.rate for limiter in limiters()] if limiters else []
        return min((rate for rate in rates if rate), default=0.0)

    def _start_endpoint(self) -> bool:
        """Serve metrics, health and readiness; False (and the reason told) if it cannot."""
        host = self.settings.ALEPH_DAEMON_METRICS_HOST
        port = self.settings.ALEPH_DAEMON_METRICS_PORT
        self.metrics = DaemonMetrics(
            in_flight=lambda: self.in_flight,
            watch=lambda: self.connection.watch if self.connection is not None else None,
            rate_limit=self._rate_limit,
        )
        try:
            self.endpoint = Endpoint(
                host, port, self.metrics.registry, self._io_healthy, self._readiness
            )
        except OSError as error:
            reason = f"cannot serve metrics on {host}:{port} (ALEPH_DAEMON_METRICS_PORT)"
            self.notify_failure(f"{reason}: {error.strerror}", ExitCode.CONFIG)
            return False
        self.endpoint.start()
        return True

    def _io_healthy(self) -> bool:
        return self.connection is None or self.connection.watch.io_healthy()

    def _readiness(self) -> tuple[bool, str]:
        connection = self.connection
        if self.draining:
            return False, "stopping"
        if connection is None or not connection.is_ready:
            last = connection.watch.last_error if connection is not None else None
            return False, f"not connected ({last})" if last else "connecting"
        return True, ""

    # --- one message --------------------------------------------------------------

    def onMessageReceived(
        self, method_frame: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> bool:
        received = time.perf_counter()
        uuid = request_uuid(properties)
        if uuid is None:
            self.count("dropped_without_uuid")
            log.warning(
                "message without a UUID header dropped (key %r, %d bytes)",
                method_frame.routing_key,
                len(body),
            )
            return True
        with request_context(header_text(uuid)):
            return self._handle_request(method_frame, properties, body, uuid, received)

    def _handle_request(
        self,
        method_frame: Basic.Deliver,
        properties: BasicProperties,
        body: bytes,
        uuid: Any,
        received: float,
    ) -> bool:
        key = request_key(uuid, body)
        earlier = None
        if method_frame.redelivered:
            earlier = self.ledger.begin(key, self.shutdown_timeout)
        else:
            self.ledger.start(key)
        if earlier is not None and earlier.answered:
            log.info("redelivered, already answered; acking")
            self.ledger.finish(key, answer=None, answered=True)
            return True
        kind, outcome = "", "result"
        if earlier is not None and earlier.answer is not None:
            answer: Answer = earlier.answer
            outcome = "failed" if "exception" in (answer[1].headers or {}) else outcome
        else:
            answer, kind, outcome = self._work_out(body, uuid, properties)
        request = {"uuid": header_text(uuid), "kind": kind or None}

        def answered(error: BaseException | None) -> None:
            self.ledger.finish(key, answer=answer, answered=error is None)
            seconds = time.perf_counter() - received
            done = {**request, "outcome": outcome, "duration_ms": round(1000 * seconds, 1)}
            if error is not None:
                done["outcome"] = "unconfirmed"
                log.warning("answer not confirmed (%s); left to redelivery", error, extra=done)
            else:
                log.info("answered (%s) in %.1f ms", outcome, 1000 * seconds, extra=done)
            if self.metrics is not None:
                self.metrics.request_done(kind or "unknown", str(done["outcome"]), seconds)

        self.respond(self.outgoing(answer, method_frame.routing_key, properties), answered)
        return True

    def answer(self, body: bytes, uuid: Any, properties: BasicProperties) -> Answer:
        """The result of the request in ``body``, or the error it caused, ready to publish."""
        return self._work_out(body, uuid, properties)[0]

    def _work_out(
        self, body: bytes, uuid: Any, properties: BasicProperties
    ) -> tuple[Answer, str, str]:
        """The answer to ``body``, the request's kind (class name; ``undecodable`` when it
        cannot be read) and the outcome (:func:`~edeposit.amqp.daemon.metrics.outcome_of`)."""
        assert self.service is not None
        kind = "undecodable"
        try:
            limit = self.settings.ALEPH_DAEMON_MAX_BODY_BYTES
            if len(body) > limit:
                raise RequestTooLargeError(
                    f"request body of {len(body)} bytes is larger than the limit of {limit}"
                )
            request = decode(body, self.wire_options)
            kind = type(request).__name__
            set_request_kind(kind)
            log.info("received (%d bytes)", len(body))
            log.debug("request %r", request)
            result = self.service.handle(request)
            payload = encode(result, self.wire_options)
        except Exception as error:  # noqa: BLE001 - every failure becomes an error answer
            self.count("error_replies")
            log.info("error answer %s: %s", type(error).__name__, error)
            return error_answer(error, uuid, properties), kind, outcome_of(error)
        self.count("results")
        return result_answer(payload, uuid, properties), kind, "result"

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
