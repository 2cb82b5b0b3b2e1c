"""The delivery each worker thread is handling, and what its handler may do with it.

A consumer service hands every delivery to a worker thread, which runs the handler with
the delivery as *current*: the handler's ``ack``, ``reject`` and ``respond`` act on it,
without passing it around (the original API's handlers know only the method frame,
properties and body). Each settles the delivery once — whatever comes later is refused
or ignored — and a handler that raised gets its delivery set aside (its final answer,
else dead-lettered), never left unsettled. A handler that returns False without settling
its delivery is a bug of the service: it is counted (``left_unsettled``) and logged once
per handler; the connection's settle watchdog releases the delivery.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from pika.spec import Basic, BasicProperties

from edeposit.amqp.runtime.confirms import Confirmed
from edeposit.amqp.runtime.connection import BrokerConnection
from edeposit.amqp.runtime.envelopes import Delivery, Outgoing
from edeposit.amqp.runtime.logs import bounded

__all__ = ["Handler", "Handling"]

log = logging.getLogger(__name__)

#: A message handler: ``(method_frame, properties, body) -> ack?``.
Handler = Callable[[Basic.Deliver, BasicProperties, bytes], bool]


class Handling:
    """The current delivery of each worker thread (see the module docstring).

    Args:
        count: counts ``acked``, ``rejected``, ``unconfirmed``, ``handler_errors``,
            ``set_aside`` and ``left_unsettled``.
    """

    def __init__(self, count: Callable[[str], None]) -> None:
        self._count = count
        self._local = threading.local()
        self._warned: set[str] = set()  # handlers told about a delivery left unsettled
        self._lock = threading.Lock()

    def run(
        self, delivery: Delivery, handler: Handler, connection: BrokerConnection, queue: str = ""
    ) -> None:
        """Run ``handler`` for ``delivery`` (from ``queue``) on this thread; ack it if the
        handler says so."""
        self._local.delivery = delivery
        self._local.connection = connection
        self._local.settled = False
        try:
            if handler(delivery.method, delivery.properties, delivery.body):
                self.ack()
            elif not self._local.settled:
                self._left_unsettled(delivery, handler, queue, connection.settle_timeout)
        except Exception as error:
            log.exception("handler failed for delivery %d", delivery.method.delivery_tag)
            self._count("handler_errors")
            if not self._local.settled:
                self._local.settled = True
                self._count("set_aside")
                reason = f"its handler failed: {type(error).__name__}: {error}"
                connection.set_aside(delivery, bounded(reason))
        finally:
            self._local.delivery = None
            self._local.connection = None

    def _left_unsettled(
        self, delivery: Delivery, handler: Handler, queue: str, settle_timeout: float | None
    ) -> None:
        """The handler returned False and settled nothing: counted, and told once per handler."""
        self._count("left_unsettled")
        name = str(getattr(handler, "__qualname__", None) or repr(handler))
        with self._lock:
            if name in self._warned:
                return
            self._warned.add(name)
        release = (
            f"the settle timeout releases it after {settle_timeout:g} s"
            if settle_timeout is not None
            else "the connection closes (settle_timeout=None: never released)"
        )
        log.warning(
            "%s (queue %r) returned False without settling delivery %d (no ack, reject, "
            "respond or reply): it holds a prefetch slot until %s; return True to have it "
            "acked (told once for this handler, counted as left_unsettled)",
            name,
            queue,
            delivery.method.delivery_tag,
            release,
        )

    def _current(self) -> tuple[Delivery, BrokerConnection] | None:
        delivery: Delivery | None = getattr(self._local, "delivery", None)
        connection: BrokerConnection | None = getattr(self._local, "connection", None)
        if delivery is None or connection is None:
            return None
        return delivery, connection

    @property
    def settled(self) -> bool:
        """Whether this thread's delivery was acked, rejected or answered already."""
        return bool(getattr(self._local, "settled", False))

    def ack(self, delivery_tag: int | None = None) -> None:
        """Ack the current delivery (once; later calls do nothing)."""
        current = self._current()
        if current is None or self.settled:
            return
        delivery, connection = current
        if delivery_tag is not None and delivery_tag != delivery.method.delivery_tag:
            raise ValueError(f"delivery tag {delivery_tag} is not the message being handled")
        self._local.settled = True
        self._count("acked")
        connection.ack(delivery)

    def reject(self) -> None:
        """Reject the current delivery without requeueing it (once)."""
        current = self._current()
        if current is None or self.settled:
            return
        self._local.settled = True
        self._count("rejected")
        current[1].nack(current[0], requeue=False)

    def respond(self, messages: list[Outgoing], on_done: Confirmed | None = None) -> None:
        """Publish ``messages``; ack the current delivery once the broker confirmed them.

        Raises:
            RuntimeError: no delivery is being handled on this thread, or it was settled.
        """
        current = self._current()
        if current is None:
            raise RuntimeError("respond() and reply() work inside a handler of a running service")
        if self.settled:
            raise RuntimeError("the message being handled was already acked or rejected")
        self._local.settled = True

        def settled(error: BaseException | None) -> None:
            self._count("acked" if error is None else "unconfirmed")
            if on_done is not None:
                on_done(error)

        current[1].publish_and_ack(messages, current[0], settled)
