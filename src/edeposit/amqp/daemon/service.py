"""The Aleph daemon: answers Aleph requests from RabbitMQ (``alephdaemon start|stop|…``).

Each message on the daemon queue is decoded (:mod:`edeposit.amqp.wire.codec`; a query
without a base takes the default of the daemon's own settings, not the process's),
handled by :class:`~edeposit.amqp.catalogue.service.AlephService` and answered on
``RABBITMQ_ALEPH_EXCHANGE`` with the request's ``UUID`` header echoed unchanged
(docs/messages.md): a serialized result, or an ``application/text`` error whose headers
(``exception``, ``exception_name``, ``exception_type``, ``traceback``) tell what failed,
each bounded so that the answer fits one frame (:mod:`~edeposit.amqp.daemon.answers`).
A request key ``a.b.request`` is answered on ``a.b.result``; a request with an allowed
``reply_to`` (:mod:`~edeposit.amqp.daemon.reply_to`) is also answered there, with
``correlation_id``. A message without a ``UUID`` header is acked, logged and counted,
and gets no answer; every other one is answered, also when it is given up on (a final
:class:`~edeposit.amqp.errors.SetAsideError`) or dead-lettered
(:mod:`~edeposit.amqp.daemon.dead_letters`).

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
    ADDED_LATER,
    Answer,
    addressed,
    app_id,
    error_answer,
    fitted,
    header_text,
    request_uuid,
    result_answer,
    result_key,
)
from edeposit.amqp.daemon.endpoint import Endpoint, io_healthy, readiness
from edeposit.amqp.daemon.fleet_share import FleetShare
from edeposit.amqp.daemon.ledger import AnswerLedger, request_key
from edeposit.amqp.daemon.metrics import CatalogueMetrics, DaemonMetrics, outcome_of
from edeposit.amqp.daemon.pace import CataloguePace
from edeposit.amqp.daemon.reply_to import ReplyToPolicy
from edeposit.amqp.daemon.set_aside import SetAsideAnswers
from edeposit.amqp.errors import RequestTooLargeError
from edeposit.amqp.runtime.consumer import PikaDaemon
from edeposit.amqp.runtime.envelopes import Outgoing
from edeposit.amqp.runtime.frame_limits import DEFAULT_FRAME_MAX, header_room
from edeposit.amqp.runtime.logs import bounded, request_context, set_request_kind
from edeposit.amqp.runtime.parameters import describe_broker, node_parameters
from edeposit.amqp.runtime.runner import SYSTEM_RUNTIME_DIRS, ExitCode
from edeposit.amqp.runtime.topology import aleph_topology, dead_letter_names
from edeposit.amqp.wire.codec import decode, encode

__all__ = ["AlephDaemon", "getConnectionParameters"]

log = logging.getLogger(__name__)

#: Seconds a request waits while this daemon still sends it round again from the dead
#: letters (its copy can arrive before the dead letter's ack has left).
REVIVAL_WAIT = 5.0


def getConnectionParameters(settings: Settings | None = None) -> pika.ConnectionParameters:
    """Connection parameters of the configured broker and Aleph vhost (of a random one of
    RABBITMQ_NODES: scripts spread over a cluster)."""
    return node_parameters(settings or settings_module.get())[0]


class AlephDaemon(SetAsideAnswers, PikaDaemon):
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
        self.system_runtime_dirs = SYSTEM_RUNTIME_DIRS  # the unit's RuntimeDirectory=edeposit
        # Classic queues (one broker): an answer and its request's ack in one transaction,
        # so a broker restart never makes this daemon answer twice. Quorum queues:
        # publisher confirms, the safe way there (a transaction's commit can be reported
        # although a quorum queue refused its message).
        self.answers_in_transactions = cfg.RABBITMQ_ALEPH_QUEUE_TYPE == "classic"
        #: Query defaults (and output form) for the messages this daemon reads and writes.
        self.wire_options = cfg.wire_options()
        #: The metrics and their HTTP endpoint (with ALEPH_DAEMON_METRICS_PORT only).
        self.metrics: DaemonMetrics | None = None
        self.endpoint: Endpoint | None = None
        self.ledger = AnswerLedger()
        #: The catalogue's pace: budget, fleet share, the requests taken at once.
        self.pace = CataloguePace(cfg, self.queue, lambda: self.connection)
        #: Names this daemon in its answers' ``app_id`` (which of many daemons answered).
        self.app_id = app_id()
        dead_letters = dead_letter_names(cfg)[1]
        if cfg.RABBITMQ_ALEPH_QUEUE_TYPE == "quorum":
            self.extra_queues[dead_letters] = self.onDeadLetter
        own_queues = (self.queue, cfg.RABBITMQ_ALEPH_PLONE_QUEUE, dead_letters)
        #: Which ``reply_to`` queues get a copy of an answer (ALEPH_REPLY_TO).
        self.reply_to = ReplyToPolicy(cfg.ALEPH_REPLY_TO, own_queues, self.count)

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
        self.pace.start(self.service)
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
            self.pace.stop()
            if owned:
                self.service.close()
            if self.endpoint is not None:
                self.endpoint.stop()

    @property
    def fleet_share(self) -> FleetShare | None:
        """This daemon's share of ALEPH_FLEET_RATE_LIMIT (None when there is no budget)."""
        return self.pace.fleet_share

    def wanted_prefetch(self) -> int:
        """As many requests as the catalogue's pace serves within their deadline."""
        return self.pace.prefetch(self.workers)

    def status_facts(self) -> Mapping[str, str]:
        """Where the catalogue is, the wire form written, the catalogue's pace (this
        daemon's share of a fleet budget) and the cache."""
        cfg = self.settings
        details = {
            "aleph url": f"{cfg.ALEPH_URL} (export form {cfg.ALEPH_EXPORT_URL})",
            "wire form": f"generation {cfg.ALEPH_WIRE_GENERATION} (ALEPH_WIRE_GENERATION)",
            "catalogue": self.pace.describe(),
        }
        cache = getattr(getattr(self, "service", None), "cache", None)
        if cache is not None and cache.enabled:
            details["cache"] = f"{len(cache)} answers kept for {cache.ttl:g} s"
        return details

    def _start_endpoint(self) -> bool:
        """Serve metrics, health and readiness; False (and the reason told) if it cannot."""
        host = self.settings.ALEPH_DAEMON_METRICS_HOST
        port = self.settings.ALEPH_DAEMON_METRICS_PORT
        self.metrics = DaemonMetrics(
            in_flight=lambda: self.in_flight,
            watch=lambda: self.connection.watch if self.connection is not None else None,
            rate_limit=self.pace.rate,
        )
        try:
            self.endpoint = Endpoint(
                host,
                port,
                self.metrics.registry,
                lambda: io_healthy(self.connection),
                lambda: readiness(self.connection, draining=self.draining),
            )
        except OSError as error:
            reason = f"cannot serve metrics on {host}:{port} (ALEPH_DAEMON_METRICS_PORT)"
            self.notify_failure(f"{reason}: {error.strerror}", ExitCode.CONFIG)
            return False
        self.endpoint.start()
        return True

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
                bounded(method_frame.routing_key),
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
            self.ledger.start(key, wait=REVIVAL_WAIT)
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
        request = {"uuid": bounded(header_text(uuid)), "kind": kind or None}
        messages = self.outgoing(answer, method_frame.routing_key, properties)
        if messages is None:
            self.ledger.finish(key, answer=None, answered=False)
            self._unanswerable(uuid)
            self.reject()
            return False

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

        self.respond(messages, answered)
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
            outcome = outcome_of(error)
            if outcome == "overloaded":
                self.count("overloaded")
            log.info("error answer %s: %s", type(error).__name__, bounded(str(error)))
            return error_answer(error, uuid, properties), kind, outcome
        self.count("results")
        return result_answer(payload, uuid, properties), kind, "result"

    def outgoing(
        self, answer: Answer, request_key_: str, request: BasicProperties
    ) -> list[Outgoing] | None:
        """``answer`` addressed to the output exchange, and to ``reply_to`` when allowed;
        None when no answer with the request's UUID fits a frame."""
        connection = self.connection
        frame_max = connection.frame_max if connection is not None else DEFAULT_FRAME_MAX
        fitting = fitted(answer, header_room(frame_max) - ADDED_LATER)
        if fitting is None:
            return None
        return addressed(
            fitting,
            exchange=self.output_exchange,
            routing_key=result_key(request_key_, self.output_key),
            request=request,
            sender=self.app_id,
            reply_to=self.reply_to.check(request),
        )
