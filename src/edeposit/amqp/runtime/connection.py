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

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pika
import pika.exceptions
from pika.adapters.select_connection import SelectConnection
from pika.channel import Channel
from pika.spec import BasicProperties

from edeposit.amqp.errors import (
    BrokerUnavailableError,
    FatalBrokerError,
    PublishRejectedError,
)
from edeposit.amqp.runtime.backoff import Backoff
from edeposit.amqp.runtime.confirms import Confirmed, Confirms, gathered, resolver
from edeposit.amqp.runtime.consumers import Consumers
from edeposit.amqp.runtime.diagnosis import describe_open_error, is_refusal, unroutable_logger
from edeposit.amqp.runtime.envelopes import Delivery, OnMessage, Outgoing
from edeposit.amqp.runtime.mailbox import Mailbox, OnDown
from edeposit.amqp.runtime.parameters import where
from edeposit.amqp.runtime.topology import Topology, run_steps

__all__ = ["BrokerConnection"]

log = logging.getLogger(__name__)


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
        self.backoff = Backoff(reconnect_base_delay, reconnect_max_delay)
        #: Increments with every channel opened; deliveries of older ones cannot be acked.
        self.generation = 0
        #: Successful connections so far (1 after the first; more after reconnects).
        self.connections = 0
        #: The error that stopped the connection for good, if any.
        self.fatal_error: BaseException | None = None

        self._consumers = Consumers()
        self._on_ready: list[Callable[[], None]] = []
        self._mailbox = Mailbox(name)
        self._confirms = Confirms(name)
        self._connection: SelectConnection | None = None
        self._channel: Channel | None = None
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    # --- life cycle (any thread) --------------------------------------------------

    def add_consumer(self, queue: str, on_message: OnMessage, *, exclusive: bool = False) -> None:
        """Consume ``queue`` now and after every reconnect; call before :meth:`start`.

        ``on_message`` runs on the I/O thread: it must return quickly (hand work off).
        """
        self._consumers.add(queue, on_message, exclusive=exclusive)

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
        self._submit(lambda: self._cancel_consumers(done), on_down=resolver(done))
        return done

    def wait_settled(self, timeout: float) -> bool:
        """Wait until every operation handed over ran and every publish was confirmed.

        An answer handed to :meth:`publish_and_ack` is then settled: its delivery acked
        right after its confirm, in the same turn of the I/O loop.
        """
        deadline = time.monotonic() + timeout
        while not self._mailbox.idle() or len(self._confirms):
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
        confirmed = resolver(done)
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
        finished = False

        def finish(error: BaseException | None) -> None:
            nonlocal finished
            if finished:
                return
            finished = True
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

        self._submit(run, on_down=resolver(result))
        return result

    def ack(self, delivery: Delivery) -> None:
        """Acknowledge ``delivery`` (dropped if its channel is gone: the broker redelivers)."""
        self._submit(lambda: self._settle(delivery, ack=True, requeue=False), on_down=None)

    def nack(self, delivery: Delivery, *, requeue: bool) -> None:
        """Reject ``delivery``: back to the queue, or to its dead-letter exchange."""
        self._submit(lambda: self._settle(delivery, ack=False, requeue=requeue), on_down=None)

    def _submit(self, operation: Callable[[], None], on_down: OnDown | None) -> None:
        """Queue ``operation`` for the I/O thread; ``on_down`` hears if it never runs."""
        self._mailbox.submit(
            operation, on_down, lambda: BrokerUnavailableError(f"{self.name}: not connected")
        )

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
                self._connection = connection
                if not self._stopped.is_set():
                    self._mailbox.open(connection.ioloop)
                connection.ioloop.start()
                self._after_connection()
                connection.ioloop.close()  # its wake-up socket pair
                if self._stopping.is_set():
                    break
                delay = self.backoff.next_delay()
                log.warning("%s: reconnecting in %.2f s", self.name, delay)
                self._stopping.wait(delay)
        finally:
            self._stopped.set()
            self._ready.set()  # wake waiters; fatal_error / is_running tell what happened
            stopped = BrokerUnavailableError(f"{self.name}: connection stopped")
            self._mailbox.close(stopped)
            self._confirms.fail_all(stopped)

    def _after_connection(self) -> None:
        """Between connections: forget the channel, fail what waited on it."""
        lost = BrokerUnavailableError(f"{self.name}: connection lost")
        self._mailbox.close(lost)  # queued for a loop that no longer runs
        self._connection = None
        self._channel = None
        self._ready.clear()
        self._confirms.fail_all(lost)

    def _on_connection_open(self, connection: Any) -> None:
        log.info("%s: connected to %s", self.name, where(self.parameters))
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_connection_open_error(self, connection: Any, error: BaseException) -> None:
        if is_refusal(error) and self.connections == 0:
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
        self._confirms.new_channel()
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(unroutable_logger(self.name))
        steps = [
            *self.topology.declarations(channel),
            lambda callback: channel.basic_qos(prefetch_count=self.prefetch, callback=callback),
            lambda callback: channel.confirm_delivery(self._confirms.on_frame, callback=callback),
        ]
        run_steps(steps, self._start_consuming)

    def _on_channel_closed(self, channel: Channel, reason: BaseException) -> None:
        if self._channel is not channel:
            return
        self._channel = None
        self._ready.clear()
        self._confirms.fail_all(BrokerUnavailableError(f"{self.name}: channel closed: {reason}"))
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
        queues = self._consumers.start(channel, self.generation)
        self.connections += 1
        self.backoff.reset()
        self._ready.set()
        log.info(
            "%s: ready (channel %d, consuming %s)",
            self.name,
            self.generation,
            ", ".join(queues) or "nothing",
        )
        for callback in self._on_ready:
            callback()

    def _cancel_consumers(self, done: Future[None]) -> None:
        channel = self._channel
        if channel is None or not channel.is_open:
            done.set_result(None)
            return
        self._consumers.cancel(channel, done)

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
        self._confirms.track(confirmed)

    def _publish_all(
        self, messages: list[Outgoing], delivery: Delivery, on_done: Confirmed | None
    ) -> None:
        def all_confirmed(failure: BaseException | None) -> None:
            if failure is None:
                self._settle(delivery, ack=True, requeue=False)
            elif isinstance(failure, PublishRejectedError):
                self._settle(delivery, ack=False, requeue=True)
            if on_done is not None:
                on_done(failure)

        confirmed = gathered(len(messages), all_confirmed)
        for message in messages:
            self._publish(message, confirmed)

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
