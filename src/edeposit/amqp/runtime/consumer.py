"""A generic RabbitMQ consumer service: override :meth:`PikaDaemon.onMessageReceived`.

The original API stays: a subclass handles ``onMessageReceived(method_frame,
properties, body)``, answers with :meth:`~PikaDaemon.sendResponse`,
:meth:`~PikaDaemon.sendMessage`, :meth:`~PikaDaemon.respond` or
:meth:`~PikaDaemon.reply` (:mod:`~edeposit.amqp.runtime.answering`) and returns ``True``
to have the message acked. docs/services.md is the guide. Underneath it is built to lose
nothing:

* the connection lives on its own I/O thread (:mod:`edeposit.amqp.runtime.connection`); handlers
  run on a bounded pool of worker threads, and the consumer prefetch equals the pool
  size, so the broker never pushes more than can be worked on;
* answers are published with publisher confirms, and a request is acked only once the
  broker confirmed its answers: an answer is never lost (a lost connection leaves the
  request to be redelivered). With :attr:`~PikaDaemon.answers_in_transactions`,
  answers and the acks of their requests are committed together (AMQP transactions,
  grouped) instead: on a single broker's classic queues a broker restart then never
  makes one service answer twice;
* a handler that raises, a request released twice by the settle watchdog or whose answer
  the broker refused twice is *set aside*: it gets :meth:`~PikaDaemon.final_answer` (if
  the service has one), else it is rejected without requeue (dead-lettered where the
  queue has a dead-letter exchange) — never left unacked; a handler that returns False
  without settling its message is told about once, and the watchdog releases the
  message after ``settle_timeout``;
* an exception that escapes into the connection's I/O loop (a bug) ends the service with
  a failure exit code, logged, so a supervisor restarts it;
* broker restarts and network loss: reconnect with backoff (across the nodes given),
  redeclare, resume; deliveries of the lost channel are redelivered by the broker;
* SIGTERM drains: stop consuming, send unstarted deliveries back to the queue, let
  in-flight handlers finish, answer and ack, close, all within ``shutdown_timeout``
  (:mod:`~edeposit.amqp.runtime.drain`);
* it reports ready (``start``, systemd) only once it consumes, and keeps its state where
  ``status`` reads it (:mod:`edeposit.amqp.runtime.supervisor`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping

from pika.spec import Basic, BasicProperties

from edeposit.amqp.runtime.answering import Answering
from edeposit.amqp.runtime.connection import BrokerConnection
from edeposit.amqp.runtime.drain import drain
from edeposit.amqp.runtime.envelopes import Delivery, Outgoing
from edeposit.amqp.runtime.handling import Handler, Handling
from edeposit.amqp.runtime.parameters import BrokerAddress, broker_parameters
from edeposit.amqp.runtime.runner import DaemonRunnerWrapper, ExitCode
from edeposit.amqp.runtime.supervisor import Supervisor
from edeposit.amqp.runtime.topology import Queue, Topology
from edeposit.amqp.runtime.workers import WorkerPool

__all__ = ["DEFAULT_SETTLE_TIMEOUT", "PikaDaemon"]

log = logging.getLogger(__name__)

#: Seconds after which a message nobody settled is released (``settle_timeout``).
DEFAULT_SETTLE_TIMEOUT = 300.0


class PikaDaemon(Answering, DaemonRunnerWrapper):
    """Consume ``queue``, hand each message to :meth:`onMessageReceived` on a worker thread.

    Args:
        connection_param: where and how to connect: ``pika.ConnectionParameters``,
            ``pika.URLParameters`` (any ``pika.connection.Parameters``), an ``amqp://``
            or ``amqps://`` URL, or a list of those (a cluster's nodes, tried in turn).
        queue: the queue to consume.
        output_exchange: where :meth:`sendResponse` publishes.
        output_key: the routing key :meth:`sendResponse` uses by default.
        workers: handlers running at once (and the consumer prefetch).
        topology: what to declare after every connect (default: ``queue``, durable).
        shutdown_timeout: how long a stop waits for handlers in flight, seconds.
        publish_timeout: how long :meth:`sendMessage` waits for the broker's confirm; a
            publish unconfirmed for that long means the channel is stuck (a quorum queue
            without a leader keeps it pending), and the connection is opened again.
        reconnect_max_delay: the cap of the backoff between connection attempts, seconds.
        settle_timeout: a message neither acked nor rejected this many seconds after it
            arrived is released: requeued the first time, set aside when it comes back
            (None: never released).
        pid_filename: the pidfile; a bare name goes into the state folder (default:
            ``queue``); the log and the state file ``status`` reads go beside it.
        log_filename: the log of a detached service (default: beside the pidfile).
        log_level: the lowest level of log records kept (``INFO``, ``DEBUG``…).
        log_format: ``text`` or ``json`` (one object a line).
        start_timeout: how long ``start`` waits for the service to consume, seconds.

    Raises:
        TypeError: ``connection_param`` is none of those forms (the message says what
            was given and what to pass).
        ValueError: a URL pika cannot read, or an empty list.
    """

    #: Answers and acks committed together (AMQP transactions) instead of publisher
    #: confirms. Atomic on classic queues; on quorum queues RabbitMQ's transactions can
    #: report a commit whose messages a queue refused, so confirms (the default) it is.
    answers_in_transactions = False
    reports_ready = True

    def __init__(
        self,
        connection_param: BrokerAddress,
        queue: str,
        output_exchange: str = "",
        output_key: str = "",
        *,
        workers: int = 32,
        topology: Topology | None = None,
        shutdown_timeout: float = 30.0,
        publish_timeout: float = 30.0,
        reconnect_max_delay: float = 30.0,
        settle_timeout: float | None = DEFAULT_SETTLE_TIMEOUT,
        pid_filename: str | None = None,
        log_filename: str | None = None,
        log_level: str = "INFO",
        log_format: str = "text",
        start_timeout: float = 30.0,
    ) -> None:
        broker_parameters(connection_param)  # wrong forms fail here, not once it runs
        super().__init__(
            pid_filename or queue,
            log_filename,
            stop_timeout=shutdown_timeout + 15.0,
            log_level=log_level,
            log_format=log_format,
            start_timeout=start_timeout,
        )
        #: Where to connect, as given (checked: see the class's ``Raises``).
        self.connection_param = connection_param
        self.queue = queue
        self.output_exchange = output_exchange
        self.output_key = output_key
        self.workers = workers
        self.topology = topology or Topology(queues=(Queue(queue),))
        self.shutdown_timeout = shutdown_timeout
        self.publish_timeout = publish_timeout
        self.reconnect_max_delay = reconnect_max_delay
        self.settle_timeout = settle_timeout
        #: Counters: received, acked, rejected, requeued, handler_errors, …
        self.stats: Counter[str] = Counter()
        self.connection: BrokerConnection | None = None
        #: The connection of :attr:`extra_queues`: a failure there never touches the main one.
        self.side_connection: BrokerConnection | None = None
        self._pool: WorkerPool | None = None
        self._draining = False
        self._next_prefetch_look = 0.0
        #: The delivery each worker thread is handling.
        self._handling = Handling(self.count)
        #: More queues to consume, each with its own handler (same signature and
        #: meaning as :meth:`onMessageReceived`); set before the daemon runs.
        self.extra_queues: dict[str, Handler] = {}
        self._stats_lock = threading.Lock()

    def count(self, event: str) -> None:
        """Add one to the counter ``event`` in :attr:`stats` (thread-safe)."""
        with self._stats_lock:
            self.stats[event] += 1

    def counters(self) -> Mapping[str, int]:
        """A copy of :attr:`stats`."""
        with self._stats_lock:
            return dict(self.stats)

    def status_facts(self) -> Mapping[str, str]:
        """Facts of this service that ``status`` shows, by name (a subclass adds its own)."""
        return {}

    @property
    def in_flight(self) -> int:
        """Deliveries handed to workers and not yet handled."""
        return self._pool.pending if self._pool is not None else 0

    @property
    def draining(self) -> bool:
        """Stopping: no new messages are taken."""
        return self._draining

    @property
    def consuming(self) -> list[str]:
        """The queues this daemon consumes."""
        return [self.queue, *self.extra_queues]

    # --- the service loop (main thread) -----------------------------------------

    def body(self) -> None:
        """Connect, consume and serve until a stop signal; then drain and close."""
        self._pool = WorkerPool(self.workers, name=f"{self.queue}-worker")
        self.connection = self._connect(self.queue, {self.queue: self.onMessageReceived}, main=True)
        connections = [self.connection]
        if self.extra_queues:
            self.side_connection = self._connect(
                f"{self.queue}-side", self.extra_queues, main=False
            )
            connections.append(self.side_connection)
        for connection in connections:
            connection.start()
        supervisor = Supervisor(self, self, self.connection)
        supervisor.write()
        try:
            while all(c.is_running for c in connections) and not self.stop_requested:
                time.sleep(0.05)
                supervisor.round()
                self._follow_prefetch()
            fatal = next((c.fatal_error for c in connections if c.fatal_error), None)
            if fatal is not None:
                self.notify_failure(str(fatal), ExitCode.CONFIG)
                return
            crash = next((c.crash for c in connections if c.crash), None)
            if crash is not None:
                unsettled = sum(c.unsettled for c in connections)
                self.notify_failure(
                    f"the broker connection failed inside ({type(crash).__name__}: {crash}); "
                    f"the {unsettled} message(s) still unsettled are redelivered by the broker",
                    ExitCode.FAILURE,
                )
                return
            self._draining = True
            supervisor.write()
            self.notifier.stopping()
            drain(self._pool, connections, self.shutdown_timeout)
        finally:
            for connection in connections:
                connection.stop(timeout=5.0)
            self._pool.shutdown()
            supervisor.close()

    def _connect(self, name: str, handlers: dict[str, Handler], *, main: bool) -> BrokerConnection:
        connection = BrokerConnection(
            self.connection_param,
            self.topology,
            prefetch=self.wanted_prefetch() if main else self.workers,
            name=name,
            reconnect_max_delay=self.reconnect_max_delay,
            settle_timeout=self.settle_timeout,
            final_answer=self._final_answer_of,
            transactional=self.answers_in_transactions,
            confirm_timeout=self.publish_timeout,
            count=self.count,
        )
        for queue, handler in handlers.items():
            connection.add_consumer(queue, self._dispatcher(queue, handler, connection, main=main))
        return connection

    def wanted_prefetch(self) -> int:
        """Deliveries the broker may push to this service at once: the size of the worker
        pool. A subclass may ask for fewer while its work cannot keep up (the Aleph daemon
        follows its catalogue budget), so the rest waits in the queue, where other
        consumers can take it. Read about once a second."""
        return self.workers

    def _follow_prefetch(self) -> None:
        """Apply :meth:`wanted_prefetch` to the main connection when it changed."""
        now = time.monotonic()
        connection = self.connection
        if connection is None or now < self._next_prefetch_look:
            return
        self._next_prefetch_look = now + 1.0
        # Handlers busy past the settle timeout hold their threads: their messages were
        # released, and no more may wait for a thread that will not come.
        stuck = self._pool.stuck(self.settle_timeout) if self._pool and self.settle_timeout else 0
        wanted = max(1, min(self.workers - stuck, self.wanted_prefetch()))
        if wanted != connection.prefetch:
            log.log(
                logging.WARNING if stuck else logging.INFO,
                "prefetch %d (was %d): at most %d messages taken from %r at once%s",
                wanted,
                connection.prefetch,
                wanted,
                self.queue,
                f" ({stuck} of {self.workers} handlers busy for more than "
                f"{self.settle_timeout:g} s)"
                if stuck
                else "",
            )
            connection.prefetch = wanted
            connection.set_prefetch(wanted)

    # --- deliveries (I/O thread → workers) ---------------------------------------

    def _dispatcher(
        self, queue: str, handler: Handler, connection: BrokerConnection, *, main: bool
    ) -> Callable[[Delivery], None]:
        """Hand each delivery to a worker; on the main queue, one whose properties cannot
        be read goes to :meth:`onUndecodableMessage` (extra queues' handlers see it all)."""

        def on_delivery(delivery: Delivery) -> None:
            assert self._pool is not None
            self.count("received")
            if self._draining:  # arrived after the cancel: leave it to the next consumer
                self.count("requeued")
                connection.nack(delivery, requeue=True)
                return
            chosen = handler
            if main and getattr(delivery.properties, "decode_error", None) is not None:
                chosen = self.onUndecodableMessage
            self._pool.submit(lambda: self._handling.run(delivery, chosen, connection, queue))

        return on_delivery

    def final_answer(
        self, method_frame: Basic.Deliver, properties: BasicProperties, body: bytes, reason: str
    ) -> list[Outgoing] | None:
        """The last answer to a message this service gives up on, and why (``reason``).

        Called on the connection's I/O thread when a handler raised, the settle watchdog
        released a message the second time, or the broker refused its answer twice. The
        messages returned are published and confirmed, then the message is acked; None
        (the default) rejects it without requeueing (dead-lettered, or dropped). Must be
        quick and must not block.
        """
        return None

    def _final_answer_of(self, delivery: Delivery, reason: str) -> list[Outgoing] | None:
        try:
            return self.final_answer(delivery.method, delivery.properties, delivery.body, reason)
        except Exception:
            log.exception("final answer for delivery %d failed", delivery.method.delivery_tag)
            return None

    def onUndecodableMessage(
        self, method_frame: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> bool:
        """Handle a message whose properties cannot be read in full (on a worker thread).

        The default logs one warning naming the delivery and rejects it (dead-lettered,
        or dropped where the queue has no dead-letter exchange). Returns False: the
        message is settled already.
        """
        self.count("dropped_undecodable")
        log.warning(
            "delivery %d (exchange %r, key %r, %d bytes): properties cannot be read (%s); rejected",
            method_frame.delivery_tag,
            method_frame.exchange,
            method_frame.routing_key,
            len(body),
            getattr(properties, "decode_error", "?"),
        )
        self.reject()
        return False

    # --- the original API ---------------------------------------------------------

    def onMessageReceived(
        self, method_frame: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> bool:
        """Handle one message (on a worker thread); return True to have it acked.

        Override this. The default logs the message's routing key and size.
        """
        log.info("message on %r, %d bytes", method_frame.routing_key, len(body))
        return True

    def status_details(self) -> tuple[bool, str]:
        """Running without a state file: just starting (or stuck before it could write one)."""
        return False, f"NOT serving: no state in {self.state_path} (starting?)"

    def onExit(self) -> None:
        """Called when the service ends; logs the counters."""
        log.info("exiting (pid %d): %s", os.getpid(), dict(self.stats))
