"""What a consumer service's handler may do with the message it handles, and publish.

Mixed into :class:`~edeposit.amqp.runtime.consumer.PikaDaemon`: the original API's
``ack``, ``sendMessage`` and ``sendResponse``, and ``reject``, ``respond`` and
``reply``, which act on the message being handled on the calling worker thread
(:mod:`~edeposit.amqp.runtime.handling`). Each settles a message at most once.

When each returns: ``sendMessage`` and ``sendResponse`` once the broker confirmed the
message (a handler that then returns True has its message acked after its answer is
safe); ``respond`` and ``reply`` at once — the connection's thread publishes, waits for
the confirms and then acks the request, so the worker is free for the next message;
``ack`` and ``reject`` at once too (the I/O thread sends them in order).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pika.spec import BasicProperties

from edeposit.amqp.errors import ReplyToError
from edeposit.amqp.runtime.confirms import Confirmed
from edeposit.amqp.runtime.connection import BrokerConnection
from edeposit.amqp.runtime.envelopes import Outgoing
from edeposit.amqp.runtime.handling import Handling

__all__ = ["DIRECT_REPLY_TO", "Answering"]

#: RabbitMQ's Direct Reply-to: a requester consuming this pseudo-queue gets its answers
#: without a queue of its own (``reply_to`` then reads ``amq.rabbitmq.reply-to.…``).
DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"


class Answering:
    """The handler's verbs of a consumer service (see the module docstring)."""

    #: Content type of :meth:`sendMessage` (without properties), :meth:`sendResponse`
    #: and :meth:`reply` messages.
    content_type = "application/json"

    connection: BrokerConnection | None
    output_exchange: str
    output_key: str
    publish_timeout: float
    _handling: Handling

    if TYPE_CHECKING:  # provided by PikaDaemon

        @property
        def consuming(self) -> list[str]: ...

    def ack(self, delivery_tag: int | None = None) -> None:
        """Acknowledge the message being handled on this thread (once; later calls do nothing).

        ``delivery_tag`` is accepted for compatibility; it must be the current message's.
        """
        self._handling.ack(delivery_tag)

    def reject(self) -> None:
        """Reject the message being handled on this thread, without requeueing it: to the
        queue's dead-letter exchange where it has one, else dropped (once)."""
        self._handling.reject()

    def respond(self, messages: list[Outgoing], on_done: Confirmed | None = None) -> None:
        """Publish ``messages`` and ack the message being handled once all are confirmed.

        Returns at once: the connection's thread publishes, waits for the confirms and
        acks (or, when the broker refuses a message, requeues it the first time and sets
        it aside the second; when the connection is lost first, the broker redelivers).
        ``on_done`` hears the outcome on that thread (None: confirmed and acked).

        Raises:
            RuntimeError: called outside a handler, or the message was settled already.
        """
        self._handling.respond(messages, on_done)

    def reply(
        self,
        properties: BasicProperties,
        body: bytes | str,
        *,
        headers: dict[str, Any] | None = None,
        on_done: Confirmed | None = None,
    ) -> None:
        """Answer the message being handled to its ``reply_to``, then ack it (as :meth:`respond`).

        ``properties`` are the request's, as the handler got them: the answer goes through
        the default exchange to the queue its ``reply_to`` names, with its
        ``correlation_id``, :attr:`content_type` and ``headers``. It is persistent, except
        to Direct Reply-to (``amq.rabbitmq.reply-to…``, which keeps nothing), and a reply
        no queue takes (the requester is gone) is logged as unroutable; the request is
        acked once the broker confirmed the answer. Returns at once.

        Raises:
            ReplyToError: the request names no ``reply_to``, or :meth:`reply_to_allowed`
                refuses it; nothing was sent (a handler that lets it escape has its
                message set aside).
            RuntimeError: called outside a handler, or the message was settled already.
        """
        target = properties.reply_to
        if not target:
            raise ReplyToError(
                "the message names no reply_to: there is nobody to reply to (answer it with "
                "respond() or sendMessage(), or return True to ack it unanswered)"
            )
        if not self.reply_to_allowed(target):
            raise ReplyToError(f"reply_to {target!r} refused by {type(self).__name__}'s policy")
        direct = target.startswith(DIRECT_REPLY_TO)
        answer = BasicProperties(
            content_type=self.content_type,
            delivery_mode=1 if direct else 2,
            correlation_id=properties.correlation_id,
            headers=dict(headers) if headers else None,
        )
        payload = body.encode("utf-8") if isinstance(body, str) else body
        # RabbitMQ (seen with 3.10) returns a mandatory message to Direct Reply-to as
        # unroutable although it delivered it: only replies to queues are mandatory.
        message = Outgoing("", target, payload, answer, mandatory=not direct)
        self._handling.respond([message], on_done)

    def reply_to_allowed(self, reply_to: str) -> bool:
        """Whether :meth:`reply` may answer to the queue ``reply_to`` names.

        The service's owner decides: the default allows every queue but those this
        service consumes (a reply there would come back as a request). Override it to
        allow only reply queues (``amq.gen-*``, Direct Reply-to) or names of your own.
        """
        return reply_to not in self.consuming

    def sendMessage(
        self,
        exchange: str,
        routing_key: str,
        message: bytes | str,
        properties: BasicProperties | None = None,
        UUID: Any = None,
    ) -> None:
        """Publish ``message`` and wait until the broker confirmed it.

        Without ``properties``: :attr:`content_type`, persistent, no headers. ``UUID``
        (if not None) is put into the headers unchanged. It settles nothing: a handler
        still returns True (or calls :meth:`ack`) to have its message acked.

        Raises:
            BrokerError: not confirmed (connection lost, or the broker refused it).
            TimeoutError: no confirm within ``publish_timeout``.
            RuntimeError: the service is not running.
        """
        if self.connection is None:
            raise RuntimeError("not connected: sendMessage works while the daemon runs")
        if properties is None:
            properties = BasicProperties(
                content_type=self.content_type, delivery_mode=2, headers={}
            )
        if UUID is not None:
            properties.headers = {**(properties.headers or {}), "UUID": UUID}
        body = message.encode("utf-8") if isinstance(message, str) else message
        confirmed = self.connection.publish(exchange, routing_key, body, properties, mandatory=True)
        confirmed.result(timeout=self.publish_timeout)

    def sendResponse(self, message: bytes | str, UUID: Any, routing_key: str | None = None) -> None:
        """Publish ``message`` to ``output_exchange`` under ``routing_key`` (default
        ``output_key``), persistent, and wait for its confirm (as :meth:`sendMessage`).

        Raises:
            ValueError: the service was given no ``output_exchange`` nor ``output_key``
                (and no ``routing_key`` here): such a message would go nowhere.
        """
        key = routing_key or self.output_key
        if not self.output_exchange and not key:
            raise ValueError(
                "sendResponse has nowhere to publish: give the service an output_exchange "
                "or output_key, or pass routing_key"
            )
        self.sendMessage(self.output_exchange, key, message, UUID=UUID)
