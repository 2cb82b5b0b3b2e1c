"""One AMQP connection on its own I/O thread: consume, publish with confirms, reconnect.

pika's ``SelectConnection`` runs on a dedicated thread, so heartbeats keep flowing
whatever handlers do. Other threads talk to it only through the methods of
:class:`BrokerConnection`, which hand an operation to the I/O thread
(:mod:`~edeposit.amqp.runtime.mailbox`). Each connection's channel is a
:class:`~edeposit.amqp.runtime.session.Session`: it declares the topology, consumes,
publishes with confirms and settles deliveries.

Received properties are decoded safely (:mod:`~edeposit.amqp.runtime.frames`): a header
pika cannot read marks its delivery instead of aborting the connection. A lost
connection moves to the next node of a cluster at once, then backs off exponentially
with jitter, capped (:mod:`~.nodes`); refused credentials or a missing vhost on the
first attempt are fatal (a clear error instead of a retry storm).

Code of ours that runs on the I/O thread (operations handed over, timers, callbacks) is
guarded where it runs; should anything still escape into pika's loop, the thread does
not die silently: the connection records the error as :attr:`BrokerConnection.crash`,
logs it with its traceback and stops, and the service owning it exits with a failure
(so systemd's ``Restart=on-failure`` starts it again).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from pika.adapters.select_connection import SelectConnection

from edeposit.amqp.errors import BrokerUnavailableError, FatalBrokerError
from edeposit.amqp.runtime import frames
from edeposit.amqp.runtime.backoff import Backoff
from edeposit.amqp.runtime.diagnosis import describe_open_error, is_refusal, reason_of
from edeposit.amqp.runtime.envelopes import OnMessage
from edeposit.amqp.runtime.nodes import Nodes
from edeposit.amqp.runtime.operations import ChannelOperations
from edeposit.amqp.runtime.parameters import BrokerAddress, where
from edeposit.amqp.runtime.session import Counter, FinalAnswer, Session
from edeposit.amqp.runtime.topology import Topology
from edeposit.amqp.runtime.watch import TICK_PERIOD, ConnectionWatch

__all__ = ["BrokerConnection"]

log = logging.getLogger(__name__)


class BrokerConnection(ChannelOperations):
    """A self-healing AMQP connection with one channel, run on its own thread.

    Args:
        parameters: where and how to connect: one node (parameters or an AMQP URL), or the
            nodes of a cluster in the order to try them (:mod:`~edeposit.amqp.runtime.nodes`).
        topology: exchanges, queues and bindings declared after every connect.
        prefetch: unacknowledged deliveries the broker may send at once (0: no limit).
        name: names the I/O thread and log lines.
        reconnect_max_delay: cap of the backoff between connection attempts, seconds.
        settle_timeout: a delivery neither acked nor rejected after this many seconds
            is released (None: never).
        final_answer: the last answer to a delivery that is set aside (released twice,
            or its answer refused twice), published before it is acked; None rejects it.
        transactional: publish and settle in AMQP transactions (an answer and the ack of
            its request take effect together) instead of with publisher confirms.
        confirm_timeout: a publish (or commit) unconfirmed after this many seconds means
            the channel is stuck: the connection is opened again (None: never).
        count: counts the sessions' events (released deliveries, failed copies).
        watch: hears what the connection goes through (status, health, metrics).
    """

    def __init__(
        self,
        parameters: BrokerAddress,
        topology: Topology | None = None,
        *,
        prefetch: int = 0,
        name: str = "amqp",
        reconnect_max_delay: float = 30.0,
        reconnect_base_delay: float = 0.25,
        settle_timeout: float | None = None,
        final_answer: FinalAnswer | None = None,
        transactional: bool = False,
        confirm_timeout: float | None = None,
        count: Counter | None = None,
        watch: ConnectionWatch | None = None,
    ) -> None:
        super().__init__(name, prefetch)
        frames.install()
        self.nodes = Nodes(parameters, Backoff(reconnect_base_delay, reconnect_max_delay))
        self.topology = topology or Topology()
        self.settle_timeout = settle_timeout
        self.final_answer = final_answer
        self.transactional = transactional
        self.confirm_timeout = confirm_timeout
        self.count = count
        self.watch = watch or ConnectionWatch()
        #: Increments with every channel opened; deliveries of older ones cannot be acked.
        self.generation = 0
        #: Successful connections so far (1 after the first; more after reconnects).
        self.connections = 0
        #: The error that stopped the connection for good, if any.
        self.fatal_error: BaseException | None = None
        #: An error that escaped into the I/O loop and ended the thread (a bug), if any.
        self.crash: BaseException | None = None

        self._on_ready: list[Callable[[], None]] = []
        self._connection: SelectConnection | None = None
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._failure: str | None = None  # why the last attempt failed, logged with the pause

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
        return self._ready.is_set() and not self._stopped.is_set()

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def node(self) -> str:
        """The broker node this connection uses (``amqp://host:port/vhost``)."""
        return where(self.nodes.current)

    def stop(self, timeout: float | None = 10.0) -> None:
        """Close the connection and end the I/O thread (waits at most ``timeout``)."""
        self._stopping.set()
        self._submit(self._close_connection, on_down=None)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # --- the I/O thread -----------------------------------------------------------

    def _run(self) -> None:
        try:
            self._serve()
        except Exception as error:  # the thread's last word; then the service fails
            self.crash = error
            log.critical(
                "%s: the connection's I/O thread failed; the service stops (a bug: please "
                "report it with this traceback)",
                self.name,
                exc_info=True,
            )
            self.watch.failed(f"I/O thread failed: {type(error).__name__}: {error}")
            self._close_after_crash()
        finally:
            self._stopped.set()
            self._ready.set()  # wake waiters; fatal_error / crash / is_running tell what happened
            self._mailbox.close(BrokerUnavailableError(f"{self.name}: connection stopped"))

    def _close_after_crash(self) -> None:
        """Best effort after a crash: close the connection properly, so the broker hands
        what this service held to others at once (nothing queued runs any more)."""
        self._mailbox.close(BrokerUnavailableError(f"{self.name}: the I/O thread failed"))
        connection = self._connection
        if connection is None:
            return
        try:
            if connection.is_open:
                connection.close()
            connection.ioloop.call_later(2.0, connection.ioloop.stop)
            connection.ioloop.start()
            connection.ioloop.close()
        except Exception:  # the process is failing anyway; its exit closes it
            log.debug("%s: closing after the failure failed too", self.name, exc_info=True)

    def _serve(self) -> None:
        """Connect, run the I/O loop, reconnect: until :meth:`stop` or a fatal error."""
        while not self._stopping.is_set():
            connection = SelectConnection(
                self.nodes.current,
                on_open_callback=self._on_connection_open,
                on_open_error_callback=self._on_connection_open_error,
                on_close_callback=self._on_connection_closed,
            )
            self._connection = connection
            self._mailbox.open(connection.ioloop)
            self._tick(connection.ioloop)
            connection.ioloop.start()
            self._after_connection()
            connection.ioloop.close()  # its wake-up socket pair
            if self._stopping.is_set():
                break
            delay = self.nodes.failed()  # the next node; backoff once all failed
            failure, self._failure = self._failure, None
            if failure:  # one line per failed attempt
                log.warning("%s: %s; next attempt in %.2f s", self.name, failure, delay)
            else:
                log.warning("%s: reconnecting in %.2f s", self.name, delay)
            self.watch.pausing(delay)
            self._stopping.wait(delay)

    def _tick(self, ioloop: Any) -> None:
        self.watch.tick()
        ioloop.call_later(TICK_PERIOD, lambda: self._tick(ioloop))

    def _after_connection(self) -> None:
        """Between connections: forget the session, fail what waited on it."""
        lost = BrokerUnavailableError(f"{self.name}: connection lost")
        self._mailbox.close(lost)  # queued for a loop that no longer runs
        self._ready.clear()
        self._connection = None
        session, self._session = self._session, None
        if session is not None:
            session.lost(lost)

    def _on_connection_open(self, connection: Any) -> None:
        log.info("%s: connected to %s", self.name, self.node)
        self.watch.opened(self.node)
        self.generation += 1
        self._session = Session(
            self.name,
            connection,
            self.generation,
            topology=self.topology,
            prefetch=self.prefetch,
            consumers=self._consumers,
            on_ready=self._on_session_ready,
            on_refused=self._on_refused,
            settle_timeout=self.settle_timeout,
            final_answer=self.final_answer,
            transactional=self.transactional,
            confirm_timeout=self.confirm_timeout,
            count=self.count,
        )
        self._session.open()

    def _on_session_ready(self, session: Session) -> None:
        self.connections += 1
        self.nodes.connected()
        self.watch.became_ready()
        self._ready.set()
        for callback in self._on_ready:
            callback()

    def _on_refused(self, error: FatalBrokerError) -> None:
        self.watch.failed(str(error))
        if self.connections == 0 and not self._stopping.is_set():
            self._fatal(error)
        else:
            log.error("%s: %s", self.name, error)

    def _on_connection_open_error(self, connection: Any, error: BaseException) -> None:
        self._failure = f"cannot connect to {self.node}: {reason_of(error)}"
        self.watch.failed(self._failure)
        if is_refusal(error) and self.connections == 0:
            self._fatal(FatalBrokerError(describe_open_error(self.nodes.current, error)))
        connection.ioloop.stop()

    def _on_connection_closed(self, connection: Any, reason: BaseException) -> None:
        if self._stopping.is_set():
            self.watch.closed()
        else:
            self.watch.failed(f"connection to {self.node} lost: {reason_of(reason)}")
            log.warning("%s: connection closed: %s", self.name, reason_of(reason))
        connection.ioloop.stop()

    def _fatal(self, error: FatalBrokerError) -> None:
        log.error("%s: %s", self.name, error)
        self.watch.failed(str(error))
        self.fatal_error = error
        self._stopping.set()

    def _close_connection(self) -> None:
        connection = self._connection
        if connection is not None and connection.is_open:
            connection.close()
        elif connection is not None:
            connection.ioloop.stop()
