"""One open channel of a broker connection: declare, consume, publish, settle, release.

A :class:`Session` lives from a connection's opening to its loss and is used on the I/O
thread only. On opening it declares the topology, sets the prefetch and starts every
consumer. It publishes with publisher confirms — a request is acked only once the broker
confirmed its answers (a quorum queue confirms once a majority of its replicas has the
message) — or, ``transactional``, in AMQP transactions (:mod:`~.transactions`: an answer
and the ack of its request take effect together). It keeps the book of the deliveries
it received and has not settled: each is acked or rejected exactly once; its
:mod:`~.watchdog` releases those nobody settled and reopens a channel whose confirms
stall. When the channel goes, the broker redelivers what was unsettled, and every
unconfirmed publish learns it failed.

A delivery *set aside* (released a second time, or its answer refused by the broker
twice) first gets its service's final answer (``final_answer``), published and
confirmed before the delivery is acked; only when there is none, or it cannot be
published either, is the delivery rejected (to the queue's dead-letter exchange, if
any). Nothing is published that would not fit the connection's frame
(:mod:`~.frame_limits`): a message too large fails alone instead of closing the
connection.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pika.exceptions
from pika.channel import Channel

from edeposit.amqp.errors import BrokerUnavailableError, FatalBrokerError, PublishRejectedError
from edeposit.amqp.runtime.confirms import Confirmed, Confirms, gathered
from edeposit.amqp.runtime.consumers import Consumers
from edeposit.amqp.runtime.diagnosis import unroutable_logger
from edeposit.amqp.runtime.envelopes import Delivery, Outgoing
from edeposit.amqp.runtime.frame_limits import DEFAULT_FRAME_MAX, unsendable
from edeposit.amqp.runtime.topology import Topology, run_steps
from edeposit.amqp.runtime.transactions import Transactions
from edeposit.amqp.runtime.watchdog import Watchdog

__all__ = ["Counter", "FinalAnswer", "Session"]

log = logging.getLogger(__name__)

#: Counts an event by name: ``released`` (by the watchdog), ``copy_failed`` (an optional
#: message not delivered).
Counter = Callable[[str], None]
#: The last answer to a delivery about to be set aside, given why (messages to publish,
#: then the delivery is acked), or None to reject it.
FinalAnswer = Callable[[Delivery, str], "list[Outgoing] | None"]
#: Channel close codes that mean a declaration was refused (access, not found, precondition).
_REFUSED_DECLARATION = (403, 404, 406)


class Session:
    """The channel of one connection (see the module docstring)."""

    def __init__(
        self,
        name: str,
        connection: Any,
        generation: int,
        *,
        topology: Topology,
        prefetch: int,
        consumers: Consumers,
        on_ready: Callable[[Session], None],
        on_refused: Callable[[FatalBrokerError], None],
        settle_timeout: float | None = None,
        count: Counter | None = None,
        final_answer: FinalAnswer | None = None,
        transactional: bool = False,
        confirm_timeout: float | None = None,
    ) -> None:
        self.name = name
        self.connection = connection
        #: Ties deliveries to this channel: those of older ones cannot be settled here.
        self.generation = generation
        self.topology = topology
        self.prefetch = prefetch
        self.consumers = consumers
        self.transactional = transactional
        #: What the channel owes its publishers: confirms, or commits of transactions.
        self.confirms: Confirms | Transactions = (
            Transactions(name, connection.ioloop) if transactional else Confirms(name)
        )
        self.final_answer = final_answer
        self.channel: Channel | None = None
        self.ready = False
        self._on_ready = on_ready
        self._on_refused = on_refused
        self._settle_timeout = settle_timeout
        self._confirm_timeout = confirm_timeout
        self.count: Counter = count or (lambda _event: None)
        #: Unsettled deliveries by delivery tag, with the monotonic time they arrived.
        self._unsettled: dict[int, tuple[Delivery, float]] = {}

    # --- opening --------------------------------------------------------------------

    def open(self) -> None:
        """Open the channel; declarations, qos, confirms and consumers follow."""
        self.connection.channel(on_open_callback=self._on_channel_open)

    def _on_channel_open(self, channel: Channel) -> None:
        self.channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(unroutable_logger(self.name))
        steps = [
            *self.topology.declarations(channel),
            lambda callback: channel.basic_qos(prefetch_count=self.prefetch, callback=callback),
            self._outcomes_step(channel),
        ]
        run_steps(steps, self._start_consuming)

    def _outcomes_step(self, channel: Channel) -> Callable[[Callable[[Any], None]], None]:
        outcomes = self.confirms
        if isinstance(outcomes, Transactions):
            outcomes.new_channel(channel)
            return lambda callback: channel.tx_select(callback=callback)
        return lambda callback: channel.confirm_delivery(outcomes.on_frame, callback=callback)

    @property
    def frame_max(self) -> int:
        """The frame size negotiated with the broker, bytes."""
        params = getattr(self.connection, "params", None)
        return int(getattr(params, "frame_max", 0) or DEFAULT_FRAME_MAX)

    def _start_consuming(self) -> None:
        channel = self.channel
        if channel is None:
            return
        queues = self.consumers.start(channel, self.generation, self._received)
        self.ready = True
        log.info(
            "%s: ready (channel %d, consuming %s)",
            self.name,
            self.generation,
            ", ".join(queues) or "nothing",
        )
        Watchdog(self, self._settle_timeout, self._confirm_timeout).start()
        self._on_ready(self)

    def change_prefetch(self, prefetch: int) -> None:
        """Let the broker push at most ``prefetch`` unsettled deliveries from now on.

        RabbitMQ applies a consumer's prefetch when it starts consuming, so the consumers
        are cancelled, the new prefetch set and the consumers started again (deliveries in
        hand stay ours to settle). Before the channel is ready, the value is kept for it.
        """
        self.prefetch = prefetch
        channel = self.channel
        if channel is None or not self.ready:
            return
        opened = channel

        def consume_again(_frame: Any = None) -> None:
            if opened.is_open and self.channel is opened:
                self.consumers.start(opened, self.generation, self._received)

        def set_prefetch() -> None:
            now = self.channel
            if now is not None and now is opened and now.is_open:
                now.basic_qos(prefetch_count=prefetch, callback=consume_again)

        self.consumers.pause(opened, set_prefetch)

    def _on_channel_closed(self, channel: Channel, reason: BaseException) -> None:
        if self.channel is not channel:
            return
        self.lost(BrokerUnavailableError(f"{self.name}: channel closed: {reason}"))
        if isinstance(reason, pika.exceptions.ChannelClosedByBroker) and (
            reason.reply_code in _REFUSED_DECLARATION
        ):
            self._on_refused(
                FatalBrokerError(f"the broker refused a declaration: {reason.reply_text}")
            )
        if self.connection.is_open:
            self.connection.close()

    def lost(self, error: BrokerUnavailableError) -> None:
        """The channel is gone: unconfirmed publishes fail, the broker redelivers the rest."""
        self.channel = None
        self.ready = False
        self._unsettled.clear()
        self.confirms.fail_all(error)

    # --- deliveries -----------------------------------------------------------------

    def _received(self, delivery: Delivery) -> None:
        self._unsettled[delivery.method.delivery_tag] = (delivery, time.monotonic())

    def unsettled_since(self, before: float) -> list[Delivery]:
        """The deliveries unsettled since before monotonic time ``before``."""
        return [delivery for delivery, since in self._unsettled.values() if since < before]

    @property
    def unsettled(self) -> int:
        """Deliveries received on this channel and not yet acked or rejected."""
        return len(self._unsettled)

    def holds(self, delivery: Delivery) -> bool:
        """Whether ``delivery`` came on this channel and is not settled yet."""
        return (
            self.channel is not None
            and delivery.generation == self.generation
            and delivery.method.delivery_tag in self._unsettled
        )

    def settle(self, delivery: Delivery, *, ack: bool, requeue: bool = False) -> bool:
        """Ack or reject ``delivery`` once; False when it is not this channel's to settle."""
        channel = self.channel
        tag = delivery.method.delivery_tag
        if (
            channel is None
            or not channel.is_open
            or delivery.generation != self.generation
            or self._unsettled.pop(tag, None) is None
        ):
            log.debug("%s: delivery %d already settled or of an old channel", self.name, tag)
            return False
        if isinstance(self.confirms, Transactions):
            if ack:
                self.confirms.send(lambda: channel.basic_ack(tag))
            else:
                self.confirms.send(lambda: channel.basic_nack(tag, requeue=requeue))
        elif ack:
            channel.basic_ack(tag)
        else:
            channel.basic_nack(tag, requeue=requeue)
        return True

    def set_aside(self, delivery: Delivery, reason: str) -> None:
        """Give up on ``delivery``: its final answer (if the service has one) published
        and confirmed, then acked; else, or if that fails, rejected without requeueing."""
        if not self.holds(delivery):
            return
        final = self.final_answer(delivery, reason) if self.final_answer is not None else None
        if not final:
            self.settle(delivery, ack=False, requeue=False)
            return
        if self.transactional:  # the final answer and the ack in one transaction
            sent = self._publish_all(final, lambda _failure: None)
            self.settle(delivery, ack=sent, requeue=False)
            return

        def answered(failure: BaseException | None) -> None:
            if failure is None:
                self.settle(delivery, ack=True)
            elif isinstance(failure, PublishRejectedError):
                self.settle(delivery, ack=False, requeue=False)

        self._publish_all(final, answered)

    # --- publishing -----------------------------------------------------------------

    def publish(self, message: Outgoing, confirmed: Confirmed) -> bool:
        """Publish; ``confirmed`` hears the outcome (the broker's confirm, or why not).

        Returns whether the message was handed to the channel.
        """
        channel = self.channel
        if channel is None or not channel.is_open or not self.ready:
            confirmed(BrokerUnavailableError(f"{self.name}: channel not open"))
            return False
        problem = unsendable(message, self.frame_max)
        outcomes = self.confirms
        if problem is None and isinstance(outcomes, Transactions):
            outcomes.send(lambda: _basic_publish(channel, message), confirmed)
            return True
        if problem is None:
            try:
                _basic_publish(channel, message)
            except Exception as error:  # noqa: BLE001 - any publish failure fails only this message
                problem = str(error)
        if problem is not None:
            confirmed(PublishRejectedError(f"{self.name}: cannot publish: {problem}"))
            return False
        if isinstance(outcomes, Confirms):
            outcomes.track(confirmed)
        return True

    def publish_and_settle(
        self, messages: list[Outgoing], delivery: Delivery, on_done: Confirmed
    ) -> None:
        """Publish ``messages``, then settle ``delivery`` by the outcome of the required ones.

        Confirmed: acked (in a transaction: the ack commits with the answers). Refused by
        the broker (or impossible to publish): requeued the first time, set aside
        (:meth:`set_aside`) when it came back already. Lost with the channel: left to the
        broker's redelivery. An optional message (a
        ``reply_to`` copy) that fails is logged and changes nothing. A delivery settled
        already (released by the watchdog meanwhile) gets nothing published: its late
        answer would come on top of the one its next delivery gets.
        """
        if not self.holds(delivery):
            on_done(BrokerUnavailableError(f"{self.name}: the request was released meanwhile"))
            return
        if self.transactional:  # the answers, then the ack: one transaction
            if self._publish_all(messages, on_done):
                self.settle(delivery, ack=True)
            elif delivery.method.redelivered:
                self.set_aside(delivery, "its answer cannot be published")
            else:  # an answer that cannot be published will not be the next time either
                self.settle(delivery, ack=False, requeue=True)
            return

        def all_confirmed(failure: BaseException | None) -> None:
            if failure is None:
                self.settle(delivery, ack=True)
            elif isinstance(failure, PublishRejectedError):
                if delivery.method.redelivered:
                    self.set_aside(delivery, f"its answer was refused: {failure}")
                else:
                    self.settle(delivery, ack=False, requeue=True)
            on_done(failure)

        self._publish_all(messages, all_confirmed)

    def _publish_all(self, messages: list[Outgoing], done: Confirmed) -> bool:
        """Publish ``messages``; ``done`` hears the first failure of the required ones
        (or None) once all of them are settled. Returns whether every required message
        was handed to the channel."""
        required = [message for message in messages if message.required]
        confirmed = gathered(len(required), done)
        sent = True
        for message in messages:
            if message.required:
                sent = self.publish(message, confirmed) and sent
            else:
                self.publish(message, _optional(self, message))
        if not required:
            done(None)
        return sent


def _basic_publish(channel: Channel, message: Outgoing) -> None:
    channel.basic_publish(
        message.exchange,
        message.routing_key,
        message.body,
        message.properties,
        mandatory=message.mandatory,
    )


def _optional(session: Session, message: Outgoing) -> Confirmed:
    def confirmed(error: BaseException | None) -> None:
        if error is not None:
            session.count("copy_failed")
            log.warning(
                "%s: copy to %r not delivered (the answer itself went out): %s",
                session.name,
                message.routing_key,
                error,
            )

    return confirmed
