"""One AMQP connection on its own I/O thread: consume, publish with confirms, reconnect.

pika's ``SelectConnection`` runs on a dedicated thread, so heartbeats keep flowing
whatever handlers do. Other threads talk to it only through :meth:`BrokerConnection.publish`,
:meth:`~BrokerConnection.ack` and :meth:`~BrokerConnection.nack`, which queue an
operation and wake the loop (``add_callback_threadsafe``); a burst of operations costs
one wake-up. Publishes are confirmed by the broker: :meth:`publish` returns a future
that resolves on ``Basic.Ack`` and fails on ``Basic.Nack`` or a lost connection.

After every (re)connect the topology is declared again, qos and confirms are set, and
every registered consumer resumes. Lost connections are retried with exponential
backoff and jitter, capped; refused credentials or a missing vhost on the first attempt
are fatal (a clear error instead of a retry storm).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import random
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pika
import pika.exceptions
from pika.adapters.select_connection import SelectConnection
from pika.channel import Channel
from pika.spec import Basic, BasicProperties

from edeposit.amqp.errors import (
    BrokerError,
    BrokerUnavailableError,
    FatalBrokerError,
    PublishRejectedError,
)
from edeposit.amqp.runtime.parameters import describe_open_error, root_cause, where
from edeposit.amqp.runtime.topology import Topology

__all__ = [
    "BrokerConnection",
    "BrokerError",
    "BrokerUnavailableError",
    "Delivery",
    "FatalBrokerError",
    "Outgoing",
    "PublishRejectedError",
]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Delivery:
    """A message received from a queue; ``generation`` ties it to the channel it came on."""

    method: Basic.Deliver
    properties: BasicProperties
    body: bytes
    generation: int


OnMessage = Callable[[Delivery], None]
#: Told the outcome of a publish: None when confirmed, else the error.
Confirmed = Callable[[BaseException | None], None]


@dataclasses.dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to publish: where to, what, and how."""

    exchange: str
    routing_key: str
    body: bytes
    properties: BasicProperties
    mandatory: bool = True


@dataclasses.dataclass(slots=True)
class _Consumer:
    queue: str
    on_message: OnMessage
    exclusive: bool = False
    tag: str | None = None


class BrokerConnection:
    """A self-healing AMQP connection with one channel, run on its own thread.

    Args:
        parameters: where and how to connect.
        topology: exchanges, queues and bindings declared after every connect.
        prefetch: unacknowledged deliveries the broker may send at once (0: no limit).
        name: names the I/O thread and log lines.
        reconnect_max_delay: cap of the backoff between connection attempts, seconds.
    """

    def __init__(
        self,
        parameters: pika.ConnectionParameters,
        topology: Topology | None = None,
        *,
        prefetch: int = 0,
        name: str = "amqp",
        reconnect_max_delay: float = 30.0,
        reconnect_base_delay: float = 0.25,
    ) -> None:
        self.parameters = parameters
        self.topology = topology or Topology()
        self.prefetch = prefetch
        self.name = name
        self.reconnect_max_delay = reconnect_max_delay
        self.reconnect_base_delay = reconnect_base_delay
        #: Increments with every channel opened; deliveries of older ones cannot be acked.
        self.generation = 0
        #: Successful connections so far (1 after the first; more after reconnects).
        self.connections = 0
        #: The error that stopped the connection for good, if any.
        self.fatal_error: BaseException | None = None

        self._consumers: list[_Consumer] = []
        self._on_ready: list[Callable[[], None]] = []
        self._ops: collections.deque[tuple[Callable[[], None], Confirmed | None]] = (
            collections.deque()
        )
        #: publish_and_ack operations not yet settled (acked, requeued or failed).
        self._outstanding = 0
        self._ops_lock = threading.Lock()
        self._wake_pending = False
        self._connection: SelectConnection | None = None
        self._channel: Channel | None = None
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._unconfirmed: dict[int, Confirmed] = {}
        self._publish_seq = 0
        self._consuming = False
        self._attempt = 0

    # --- life cycle (any thread) --------------------------------------------------

    def add_consumer(self, queue: str, on_message: OnMessage, *, exclusive: bool = False) -> None:
        """Consume ``queue`` now and after every reconnect; call before :meth:`start`.

        ``on_message`` runs on the I/O thread: it must return quickly (hand work off).
        """
        self._consumers.append(_Consumer(queue, on_message, exclusive))

    def add_ready_callback(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` on the I/O thread each time the channel is ready and consuming."""
        self._on_ready.append(callback)

    def start(self) -> None:
        """Start the I/O thread; it connects, and reconnects until :meth:`stop`."""
        if self._thread is not None:
            raise RuntimeError("connection already started")
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-io", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the channel is open, declared and consuming; False on timeout or failure."""
        self._ready.wait(timeout)
        return self._ready.is_set() and not self._stopped.is_set()

    @property
    def is_ready(self) -> bool:
        return self._ready.is_set()

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop_consuming(self) -> Future[None]:
        """Cancel every consumer; the future resolves when the broker confirmed it."""
        done: Future[None] = Future()
        self._submit(lambda: self._cancel_consumers(done), on_down=_resolver(done))
        return done

    def wait_settled(self, timeout: float) -> bool:
        """Wait until every answer handed to :meth:`publish_and_ack` is settled."""
        deadline = time.monotonic() + timeout
        while self._ops or self._unconfirmed or self._outstanding:
            if time.monotonic() > deadline or not self.is_running:
                return False
            time.sleep(0.01)
        return True

    def stop(self, timeout: float | None = 10.0) -> None:
        """Close the connection and end the I/O thread (waits at most ``timeout``)."""
        self._stopping.set()
        self._submit(self._close_connection, on_down=None)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # --- operations (any thread) --------------------------------------------------

    def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        properties: BasicProperties,
        *,
        mandatory: bool = False,
    ) -> Future[None]:
        """Publish with confirms; the future resolves when the broker has the message.

        It fails with :class:`PublishRejectedError` on a nack and :class:`BrokerUnavailableError`
        when the connection is (or goes) down before the confirm.
        """
        done: Future[None] = Future()
        message = Outgoing(exchange, routing_key, body, properties, mandatory)
        confirmed = _resolver(done)
        self._submit(lambda: self._publish(message, confirmed), on_down=confirmed)
        return done

    def publish_and_ack(
        self,
        messages: list[Outgoing],
        delivery: Delivery,
        on_done: Confirmed | None = None,
    ) -> None:
        """Publish ``messages``; once the broker confirmed them all, ack ``delivery``.

        Nothing waits: the I/O thread does it all. If a message is refused (nack) the
        delivery goes back to the queue; if the connection fails first, the broker
        redelivers it. ``on_done`` (on the I/O thread) hears the outcome.
        """
        with self._ops_lock:
            self._outstanding += 1
        finished = False

        def finish(error: BaseException | None) -> None:
            nonlocal finished
            if finished:
                return
            finished = True
            with self._ops_lock:
                self._outstanding -= 1
            if on_done is not None:
                on_done(error)

        self._submit(lambda: self._publish_all(messages, delivery, finish), on_down=finish)

    def call(self, operation: Callable[[Channel, Callable[[Any], None]], None]) -> Future[Any]:
        """Run ``operation(channel, done)`` on the I/O thread; ``done(value)`` resolves the future.

        For the occasional declaration or binding outside the topology.
        """
        result: Future[Any] = Future()

        def run() -> None:
            channel = self._channel
            if channel is None or not channel.is_open:
                result.set_exception(BrokerUnavailableError(f"{self.name}: channel not open"))
                return
            operation(channel, lambda value: None if result.done() else result.set_result(value))

        self._submit(run, on_down=_resolver(result))
        return result

    def ack(self, delivery: Delivery) -> None:
        """Acknowledge ``delivery`` (dropped if its channel is gone: the broker redelivers)."""
        self._submit(lambda: self._settle(delivery, ack=True, requeue=False), on_down=None)

    def nack(self, delivery: Delivery, *, requeue: bool) -> None:
        """Reject ``delivery``: back to the queue, or to its dead-letter exchange."""
        self._submit(lambda: self._settle(delivery, ack=False, requeue=requeue), on_down=None)

    def _submit(self, operation: Callable[[], None], on_down: Confirmed | None) -> None:
        """Queue ``operation`` for the I/O thread; ``on_down`` hears if it never runs."""
        with self._ops_lock:
            connection = self._connection
            if connection is None or self._stopped.is_set():
                unavailable = True
            else:
                unavailable = False
                self._ops.append((operation, on_down))
                if self._wake_pending:
                    return
                self._wake_pending = True
        if unavailable or connection is None:
            if on_down is not None:
                on_down(BrokerUnavailableError(f"{self.name}: not connected"))
            return
        try:
            connection.ioloop.add_callback_threadsafe(self._run_ops)
        except Exception:  # noqa: BLE001 - the loop is closing; its close path fails the futures
            log.debug("%s: wake-up after close ignored", self.name)

    def _run_ops(self) -> None:
        with self._ops_lock:
            operations = list(self._ops)
            self._ops.clear()
            self._wake_pending = False
        for operation, _future in operations:
            operation()

    # --- the I/O thread -----------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                connection = SelectConnection(
                    self.parameters,
                    on_open_callback=self._on_connection_open,
                    on_open_error_callback=self._on_connection_open_error,
                    on_close_callback=self._on_connection_closed,
                )
                with self._ops_lock:
                    self._connection = connection
                connection.ioloop.start()
                self._after_connection()
                connection.ioloop.close()  # its wake-up socket pair
                if self._stopping.is_set():
                    break
                delay = self._next_delay()
                log.warning("%s: reconnecting in %.2f s", self.name, delay)
                self._stopping.wait(delay)
        finally:
            self._stopped.set()
            self._ready.set()  # wake waiters; fatal_error / is_running tell what happened
            self._fail_pending(BrokerUnavailableError(f"{self.name}: connection stopped"))

    def _next_delay(self) -> float:
        self._attempt += 1
        ceiling = min(self.reconnect_max_delay, self.reconnect_base_delay * 2**self._attempt)
        return float(ceiling * random.uniform(0.5, 1.0))

    def _after_connection(self) -> None:
        """Between connections: forget the channel, fail what waited on it."""
        with self._ops_lock:
            self._connection = None
            stale = list(self._ops)
            self._ops.clear()
            self._wake_pending = False
        for _operation, on_down in stale:  # queued for a loop that no longer runs
            if on_down is not None:
                on_down(BrokerUnavailableError(f"{self.name}: connection lost"))
        self._channel = None
        self._consuming = False
        self._ready.clear()
        self._fail_pending(BrokerUnavailableError(f"{self.name}: connection lost"))

    def _fail_pending(self, error: BrokerError) -> None:
        pending, self._unconfirmed = self._unconfirmed, {}
        for confirmed in pending.values():
            confirmed(error)

    def _on_connection_open(self, connection: Any) -> None:
        log.info("%s: connected to %s", self.name, where(self.parameters))
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_connection_open_error(self, connection: Any, error: BaseException) -> None:
        fatal = isinstance(
            error,
            pika.exceptions.ProbableAuthenticationError
            | pika.exceptions.ProbableAccessDeniedError
            | pika.exceptions.AuthenticationError,
        ) or _tls_refusal(error)
        if fatal and self.connections == 0:
            self._fatal(FatalBrokerError(describe_open_error(self.parameters, error)))
        else:
            log.warning("%s: cannot connect to %s: %s", self.name, where(self.parameters), error)
        connection.ioloop.stop()

    def _on_connection_closed(self, connection: Any, reason: BaseException) -> None:
        if not self._stopping.is_set():
            log.warning("%s: connection closed: %s", self.name, reason)
        connection.ioloop.stop()

    def _fatal(self, error: FatalBrokerError) -> None:
        log.error("%s: %s", self.name, error)
        self.fatal_error = error
        self._stopping.set()

    def _on_channel_open(self, channel: Channel) -> None:
        self.generation += 1
        self._channel = channel
        self._publish_seq = 0
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        steps = [
            *self.topology.declarations(channel),
            lambda callback: channel.basic_qos(prefetch_count=self.prefetch, callback=callback),
            lambda callback: channel.confirm_delivery(self._on_confirm, callback=callback),
        ]
        _run_steps(steps, self._start_consuming)

    def _on_channel_closed(self, channel: Channel, reason: BaseException) -> None:
        if self._channel is not channel:
            return
        self._channel = None
        self._ready.clear()
        self._fail_pending(BrokerUnavailableError(f"{self.name}: channel closed: {reason}"))
        connection = self._connection
        if self._stopping.is_set() or connection is None:
            return
        if isinstance(reason, pika.exceptions.ChannelClosedByBroker) and reason.reply_code in (
            403,
            404,
            406,
        ):
            message = f"{self.name}: the broker refused a declaration: {reason.reply_text}"
            if self.connections == 0:
                self._fatal(FatalBrokerError(message))
            else:
                log.error("%s", message)
        if connection.is_open:
            connection.close()

    def _start_consuming(self) -> None:
        channel = self._channel
        if channel is None:
            return
        for consumer in self._consumers:
            consumer.tag = channel.basic_consume(
                consumer.queue,
                self._dispatcher(consumer, self.generation),
                exclusive=consumer.exclusive,
            )
        self._consuming = bool(self._consumers)
        self.connections += 1
        self._attempt = 0
        self._ready.set()
        log.info(
            "%s: ready (channel %d, consuming %s)",
            self.name,
            self.generation,
            ", ".join(c.queue for c in self._consumers) or "nothing",
        )
        for callback in self._on_ready:
            callback()

    def _dispatcher(self, consumer: _Consumer, generation: int) -> Callable[..., None]:
        def on_message(
            channel: Channel, method: Basic.Deliver, properties: BasicProperties, body: bytes
        ) -> None:
            consumer.on_message(Delivery(method, properties, body, generation))

        return on_message

    def _cancel_consumers(self, done: Future[None]) -> None:
        channel = self._channel
        active = [c for c in self._consumers if c.tag is not None]
        if channel is None or not channel.is_open or not active:
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
        self._consuming = False
        self._consumers.clear()  # no resubscription after a reconnect while stopping

    def _publish(self, message: Outgoing, confirmed: Confirmed) -> None:
        channel = self._channel
        if channel is None or not channel.is_open or not self._ready.is_set():
            confirmed(BrokerUnavailableError(f"{self.name}: channel not open"))
            return
        try:
            channel.basic_publish(
                message.exchange,
                message.routing_key,
                message.body,
                message.properties,
                mandatory=message.mandatory,
            )
        except Exception as error:  # noqa: BLE001 - any publish failure fails only this message
            confirmed(BrokerUnavailableError(f"{self.name}: publish failed: {error}"))
            return
        self._publish_seq += 1
        self._unconfirmed[self._publish_seq] = confirmed

    def _publish_all(
        self, messages: list[Outgoing], delivery: Delivery, on_done: Confirmed | None
    ) -> None:
        remaining = len(messages)
        failure: BaseException | None = None

        def confirmed(error: BaseException | None) -> None:
            nonlocal remaining, failure
            remaining -= 1
            failure = failure or error
            if remaining:
                return
            if failure is None:
                self._settle(delivery, ack=True, requeue=False)
            elif isinstance(failure, PublishRejectedError):
                self._settle(delivery, ack=False, requeue=True)
            if on_done is not None:
                on_done(failure)

        for message in messages:
            self._publish(message, confirmed)

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        tag: int = method.delivery_tag
        if method.multiple:
            tags = [seq for seq in self._unconfirmed if seq <= tag]
        else:
            tags = [tag] if tag in self._unconfirmed else []
        error = (
            None
            if isinstance(method, Basic.Ack)
            else PublishRejectedError(f"{self.name}: the broker refused a message")
        )
        for seq in tags:
            self._unconfirmed.pop(seq)(error)

    def _on_return(
        self, channel: Channel, method: Any, properties: BasicProperties, body: bytes
    ) -> None:
        headers = properties.headers or {}
        log.warning(
            "%s: message to exchange %r key %r was unroutable (UUID %r): %s",
            self.name,
            method.exchange,
            method.routing_key,
            headers.get("UUID"),
            method.reply_text,
        )

    def _settle(self, delivery: Delivery, *, ack: bool, requeue: bool) -> None:
        channel = self._channel
        if channel is None or not channel.is_open or delivery.generation != self.generation:
            log.debug(
                "%s: delivery %d from an old channel left to redelivery",
                self.name,
                delivery.method.delivery_tag,
            )
            return
        if ack:
            channel.basic_ack(delivery.method.delivery_tag)
        else:
            channel.basic_nack(delivery.method.delivery_tag, requeue=requeue)

    def _close_connection(self) -> None:
        connection = self._connection
        if connection is not None and connection.is_open:
            connection.close()
        elif connection is not None:
            connection.ioloop.stop()


Step = Callable[[Callable[[Any], None]], None]


def _run_steps(steps: list[Step], done: Callable[[], None]) -> None:
    """Run asynchronous channel calls one after the other, then ``done``."""
    remaining = list(steps)

    def next_step(_result: Any = None) -> None:
        if not remaining:
            done()
            return
        remaining.pop(0)(next_step)

    next_step()


def _tls_refusal(error: BaseException) -> bool:
    """Whether a connection failed in TLS (a refused certificate stays refused).

    With TLS 1.3 the server's alert arrives after the handshake, so pika reports it as
    a lost stream whose text names the ``SSLError``; hence the text check.
    """
    cause = root_cause(error)
    return isinstance(cause, ssl.SSLError) or "SSLError(" in str(cause)


def _resolver(future: Future[None]) -> Confirmed:
    """A publish outcome callback that settles ``future``."""

    def confirmed(error: BaseException | None) -> None:
        if future.done():
            return
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)

    return confirmed
