"""One open channel of a broker connection: declare, consume, publish, settle, release.

A :class:`Session` lives from a connection's opening to its loss and is used on the I/O
thread only. On opening it declares the topology, sets the prefetch and publisher
confirms (or, ``transactional``, AMQP transactions: :mod:`~.transactions`) and starts
every consumer. It publishes with confirms or in transactions, and keeps the book of
the deliveries it received and has not settled: each is acked or rejected exactly once,
and a watchdog releases any that nobody settled within ``settle_timeout`` (requeued the
first time, dead-lettered when it was redelivered already), so no prefetch slot is
ever lost to a handler that forgot its message. When the channel goes, the broker
redelivers what was unsettled and every unconfirmed publish learns it failed.
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
from edeposit.amqp.runtime.topology import Topology, run_steps
from edeposit.amqp.runtime.transactions import Transactions

__all__ = ["Counter", "Session"]

log = logging.getLogger(__name__)

#: Counts an event by name: ``released`` (by the watchdog), ``copy_failed`` (an optional
#: message not delivered).
Counter = Callable[[str], None]
#: How often the watchdog looks at the unsettled deliveries, seconds.
WATCH_PERIOD = 1.0
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
        transactional: bool = False,
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
        self.channel: Channel | None = None
        self.ready = False
        self._on_ready = on_ready
        self._on_refused = on_refused
        self._settle_timeout = settle_timeout
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
        if self._settle_timeout is not None:
            self.connection.ioloop.call_later(WATCH_PERIOD, self._watch)
        self._on_ready(self)

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

    @property
    def unsettled(self) -> int:
        """Deliveries received on this channel and not yet acked or rejected."""
        return len(self._unsettled)

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

    def _watch(self) -> None:
        if self.channel is None or self._settle_timeout is None:
            return
        cutoff = time.monotonic() - self._settle_timeout
        stuck = [delivery for delivery, since in self._unsettled.values() if since < cutoff]
        for delivery in stuck:
            requeue = not delivery.method.redelivered
            log.warning(
                "%s: delivery %d (key %r) unsettled for %.0f s; released (%s)",
                self.name,
                delivery.method.delivery_tag,
                delivery.method.routing_key,
                self._settle_timeout,
                "requeued" if requeue else "rejected to the dead-letter exchange, if any",
            )
            if self.settle(delivery, ack=False, requeue=requeue):
                self.count("released")
        self.connection.ioloop.call_later(WATCH_PERIOD, self._watch)

    # --- publishing -----------------------------------------------------------------

    def publish(self, message: Outgoing, confirmed: Confirmed) -> bool:
        """Publish; ``confirmed`` hears the outcome (confirm or commit, or a failed encode).

        Returns whether the message was handed to the channel.
        """
        channel = self.channel
        if channel is None or not channel.is_open or not self.ready:
            confirmed(BrokerUnavailableError(f"{self.name}: channel not open"))
            return False
        outcomes = self.confirms
        if isinstance(outcomes, Transactions):
            problem = unsendable(message)
            if problem is not None:
                confirmed(PublishRejectedError(f"{self.name}: cannot publish: {problem}"))
                return False
            outcomes.send(lambda: _basic_publish(channel, message), confirmed)
            return True
        try:
            _basic_publish(channel, message)
        except Exception as error:  # noqa: BLE001 - any publish failure fails only this message
            confirmed(PublishRejectedError(f"{self.name}: cannot publish: {error}"))
            return False
        outcomes.track(confirmed)
        return True

    def publish_and_settle(
        self,
        messages: list[Outgoing],
        delivery: Delivery,
        on_done: Confirmed,
        *,
        reject: bool = False,
    ) -> None:
        """Publish ``messages``, then settle ``delivery`` by the outcome of the required ones.

        Confirmed: acked. Refused by the broker (or impossible to encode): rejected, back
        to the queue the first time, to the dead-letter exchange when it came back
        already. Lost with the channel: left to the broker's redelivery. An optional
        message (a ``reply_to`` copy) that fails is logged and changes nothing. With
        ``reject``, a confirmed answer rejects the delivery (without requeueing) instead
        of acking it.
        """
        required = [message for message in messages if message.required]
        if isinstance(self.confirms, Transactions):
            self._publish_and_settle_together(messages, delivery, on_done, reject=reject)
            return

        def all_confirmed(failure: BaseException | None) -> None:
            if failure is None:
                self.settle(delivery, ack=not reject)
            elif isinstance(failure, PublishRejectedError):
                self.settle(delivery, ack=False, requeue=not delivery.method.redelivered)
            on_done(failure)

        confirmed = gathered(len(required), all_confirmed)
        for message in messages:
            self.publish(message, confirmed if message.required else _optional(self, message))
        if not required:
            all_confirmed(None)

    def _publish_and_settle_together(
        self, messages: list[Outgoing], delivery: Delivery, on_done: Confirmed, *, reject: bool
    ) -> None:
        """In one transaction: the answers, then the ack (or rejection) of their request."""
        required = [message for message in messages if message.required]
        outcome = gathered(len(required), on_done) if required else on_done
        sent = [
            self.publish(message, outcome if message.required else _optional(self, message))
            for message in messages
        ]
        if all(
            was_sent for message, was_sent in zip(messages, sent, strict=True) if message.required
        ):
            self.settle(delivery, ack=not reject)
        else:  # an answer that cannot be encoded will not be the next time either
            self.settle(delivery, ack=False, requeue=not delivery.method.redelivered)
        if not required:
            on_done(None)


def _basic_publish(channel: Channel, message: Outgoing) -> None:
    channel.basic_publish(
        message.exchange,
        message.routing_key,
        message.body,
        message.properties,
        mandatory=message.mandatory,
    )


def unsendable(message: Outgoing) -> str | None:
    """Why pika could not encode ``message`` (a name or property too long, a header of
    no AMQP type), or None; checked before a publish is put off until a commit is through."""
    for name in ("exchange", "routing_key"):
        if len(getattr(message, name).encode("utf-8")) > 255:
            return f"{name} longer than 255 bytes"
    try:
        message.properties.encode()
    except Exception as error:  # noqa: BLE001 - whatever pika refuses
        return f"{type(error).__name__}: {error}"
    return None


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
