"""What other threads ask of a connection's channel, handed to its I/O thread.

pika is not thread-safe: every operation here is put into the connection's
:class:`~edeposit.amqp.runtime.mailbox.Mailbox` and runs on the I/O thread, against the
current :class:`~edeposit.amqp.runtime.session.Session`. Those that cannot run (no
connection, or it goes first) tell their caller why instead of hanging.
:class:`~edeposit.amqp.runtime.connection.BrokerConnection` adds the connection's life
cycle and its I/O thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from pika.channel import Channel
from pika.spec import BasicProperties

from edeposit.amqp.errors import BrokerUnavailableError
from edeposit.amqp.runtime.confirms import Confirmed, resolver
from edeposit.amqp.runtime.consumers import Consumers
from edeposit.amqp.runtime.envelopes import Delivery, Outgoing
from edeposit.amqp.runtime.frame_limits import DEFAULT_FRAME_MAX
from edeposit.amqp.runtime.mailbox import Mailbox, OnDown
from edeposit.amqp.runtime.session import Session

__all__ = ["ChannelOperations"]


class ChannelOperations:
    """The channel's operations, callable from any thread (see the module docstring)."""

    def __init__(self, name: str, prefetch: int) -> None:
        self.name = name
        #: Unsettled deliveries the broker may push at once (0: no limit).
        self.prefetch = prefetch
        self._consumers = Consumers()
        self._mailbox = Mailbox(name)
        self._session: Session | None = None

    @property
    def is_running(self) -> bool:
        """Whether the I/O thread runs (it takes operations)."""
        raise NotImplementedError

    @property
    def frame_max(self) -> int:
        """The frame size negotiated with the broker (the default before a connection)."""
        session = self._session
        return session.frame_max if session is not None else DEFAULT_FRAME_MAX

    def set_prefetch(self, prefetch: int) -> None:
        """Change how many unsettled deliveries the broker may push (now, and after every
        reconnect; see :meth:`~edeposit.amqp.runtime.session.Session.change_prefetch`)."""

        def run() -> None:
            self.prefetch = prefetch
            session = self._session
            if session is not None:
                session.change_prefetch(prefetch)

        self._submit(run, on_down=lambda _error: setattr(self, "prefetch", prefetch))

    def stop_consuming(self) -> Future[None]:
        """Cancel every consumer; the future resolves when the broker confirmed it."""
        done: Future[None] = Future()

        def cancel() -> None:
            session = self._session
            if session is None or session.channel is None or not session.channel.is_open:
                done.set_result(None)
            else:
                self._consumers.cancel(session.channel, done)

        self._submit(cancel, on_down=resolver(done))
        return done

    def wait_settled(self, timeout: float) -> bool:
        """Wait until every operation handed over ran and every publish was confirmed.

        An answer handed to :meth:`publish_and_ack` is then settled: its delivery acked
        right after its confirm, in the same turn of the I/O loop.
        """
        deadline = time.monotonic() + timeout
        while not self._mailbox.idle() or self._unconfirmed():
            if time.monotonic() > deadline or not self.is_running:
                return False
            time.sleep(0.01)
        return True

    def _unconfirmed(self) -> int:
        """Publishes waiting for their confirm (read once: the I/O thread may drop the
        session at any moment)."""
        session = self._session
        return len(session.confirms) if session is not None else 0

    def barrier(self) -> Future[None]:
        """Resolves once the broker has taken everything sent on the channel before it.

        An ack has no reply; a ``basic.qos`` (the current prefetch again: it changes
        nothing) has, and the broker handles a channel's methods in order, so its reply
        tells that an ack sent earlier arrived. Fails when there is no channel.
        """
        done: Future[None] = Future()
        settled = resolver(done)

        def run() -> None:
            session = self._live_session(settled)
            channel = session.channel if session is not None else None
            if channel is None or not channel.is_open:
                settled(BrokerUnavailableError(f"{self.name}: channel not open"))
                return
            channel.basic_qos(prefetch_count=self.prefetch, callback=lambda _ok: settled(None))

        self._submit(run, on_down=settled)
        return done

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

        It fails with :class:`~edeposit.amqp.errors.PublishRejectedError` on a nack (or a
        message that cannot be encoded) and
        :class:`~edeposit.amqp.errors.BrokerUnavailableError` when the connection is (or
        goes) down before the confirm.
        """
        done: Future[None] = Future()
        message = Outgoing(exchange, routing_key, body, properties, mandatory)
        confirmed = resolver(done)

        def run() -> None:
            if (session := self._live_session(confirmed)) is not None:
                session.publish(message, confirmed)

        self._submit(run, on_down=confirmed)
        return done

    def publish_and_ack(
        self, messages: list[Outgoing], delivery: Delivery, on_done: Confirmed | None = None
    ) -> None:
        """Publish ``messages``; once the broker confirmed the required ones, ack ``delivery``.

        Nothing waits: the I/O thread does it all (see
        :meth:`~edeposit.amqp.runtime.session.Session.publish_and_settle`). ``on_done`` (on
        the I/O thread) hears the outcome.
        """
        finished = False

        def finish(error: BaseException | None) -> None:
            nonlocal finished
            if finished:
                return
            finished = True
            if on_done is not None:
                on_done(error)

        def run() -> None:
            if (session := self._live_session(finish)) is not None:
                session.publish_and_settle(messages, delivery, finish)

        self._submit(run, on_down=finish)

    def call(self, operation: Callable[[Channel, Callable[[Any], None]], None]) -> Future[Any]:
        """Run ``operation(channel, done)`` on the I/O thread; ``done(value)`` resolves the future.

        For the occasional declaration or binding outside the topology.
        """
        result: Future[Any] = Future()

        def run() -> None:
            session = self._session
            channel = session.channel if session is not None else None
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

    def set_aside(self, delivery: Delivery, reason: str) -> None:
        """Give up on ``delivery``: its final answer, then the ack; or it is rejected
        (see :meth:`~edeposit.amqp.runtime.session.Session.set_aside`)."""

        def run() -> None:
            session = self._session
            if session is not None:
                session.set_aside(delivery, reason)

        self._submit(run, on_down=None)

    @property
    def unsettled(self) -> int:
        """Deliveries of the current channel not yet acked or rejected."""
        session = self._session
        return session.unsettled if session is not None else 0

    def _submit(self, operation: Callable[[], None], on_down: OnDown | None) -> None:
        """Queue ``operation`` for the I/O thread; ``on_down`` hears if it never runs."""
        self._mailbox.submit(
            operation, on_down, lambda: BrokerUnavailableError(f"{self.name}: not connected")
        )

    def _live_session(self, failed: Confirmed) -> Session | None:
        """The current session; without one, ``failed`` hears it as a lost connection."""
        session = self._session
        if session is None:
            failed(BrokerUnavailableError(f"{self.name}: not connected"))
        return session

    def _settle(self, delivery: Delivery, *, ack: bool, requeue: bool) -> None:
        session = self._session
        if session is not None:
            session.settle(delivery, ack=ack, requeue=requeue)
