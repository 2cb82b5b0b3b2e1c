"""The broker topology: exchanges, queues and bindings, declared the same way everywhere.

Real clients redeclare the exchanges (topic, durable, not auto-delete) and queues
(durable, no arguments) themselves, and RabbitMQ refuses a declaration that differs
from the existing one (``PRECONDITION_FAILED``). So the tool, the daemon and tests all
build their declarations from :func:`aleph_topology` and nothing else.

With ``RABBITMQ_ALEPH_QUEUE_TYPE = "quorum"`` the request queue becomes a quorum queue
with a delivery limit whose dead letters go through the exchange ``<queue>.dlx`` to the
queue ``<queue>.dead``, where the daemon answers them with an error. The answer queue
and the dead-letter queue are quorum queues then too: on a cluster every queue of the
service survives the loss of a node (a classic queue is gone while its node is).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from edeposit.amqp.config import Settings

__all__ = [
    "ALEPH_EXCHANGES",
    "Binding",
    "Exchange",
    "Queue",
    "Topology",
    "aleph_topology",
    "dead_letter_names",
    "run_steps",
]

#: The exchanges clients publish Aleph requests to besides RABBITMQ_ALEPH_EXCHANGE.
ALEPH_EXCHANGES = ("count", "export", "validate")
#: The arguments of a plain quorum queue (copied: a queue's arguments are its own).
QUORUM = {"x-queue-type": "quorum"}

Step = Callable[[Callable[[Any], None]], None]


@dataclasses.dataclass(frozen=True, slots=True)
class Exchange:
    name: str
    type: str = "topic"
    durable: bool = True
    auto_delete: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Queue:
    name: str
    durable: bool = True
    exclusive: bool = False
    auto_delete: bool = False
    arguments: dict[str, Any] | None = None

    @property
    def kind(self) -> str:
        if self.arguments and self.arguments.get("x-queue-type") == "quorum":
            return "quorum"
        return "durable" if self.durable else "transient"


@dataclasses.dataclass(frozen=True, slots=True)
class Binding:
    exchange: str
    routing_key: str
    queue: str


@dataclasses.dataclass(frozen=True, slots=True)
class Topology:
    """Declarations in the order they must run: exchanges, queues, then bindings."""

    exchanges: tuple[Exchange, ...] = ()
    queues: tuple[Queue, ...] = ()
    bindings: tuple[Binding, ...] = ()

    def declarations(self, channel: Any) -> list[Step]:
        """The declarations as asynchronous steps for a ``SelectConnection`` channel."""
        steps: list[Step] = []
        for exchange in self.exchanges:
            steps.append(_exchange_step(channel, exchange))
        for queue in self.queues:
            steps.append(_queue_step(channel, queue))
        for binding in self.bindings:
            steps.append(_binding_step(channel, binding))
        return steps

    def declare(self, channel: Any, report: Callable[[str], None] | None = None) -> None:
        """Declare everything on a ``BlockingConnection`` channel, reporting each step."""
        say = report or (lambda _line: None)
        say("Creating exchanges:")
        for exchange in self.exchanges:
            channel.exchange_declare(
                exchange.name,
                exchange_type=exchange.type,
                durable=exchange.durable,
                auto_delete=exchange.auto_delete,
            )
            say(f"\tCreated exchange '{exchange.name}' of type '{exchange.type}'.")
        say("Creating queues:")
        for queue in self.queues:
            channel.queue_declare(
                queue.name,
                durable=queue.durable,
                exclusive=queue.exclusive,
                auto_delete=queue.auto_delete,
                arguments=queue.arguments,
            )
            say(f"\tCreated {queue.kind} queue '{queue.name}'.")
        say("Routing exchanges using routing key to queues:")
        for binding in self.bindings:
            channel.queue_bind(binding.queue, binding.exchange, routing_key=binding.routing_key)
            say(
                f"\tRouting exchange {binding.exchange}['{binding.routing_key}']"
                f" -> '{binding.queue}'."
            )


def _exchange_step(channel: Any, exchange: Exchange) -> Step:
    return lambda callback: channel.exchange_declare(
        exchange.name,
        exchange_type=exchange.type,
        durable=exchange.durable,
        auto_delete=exchange.auto_delete,
        callback=callback,
    )


def _queue_step(channel: Any, queue: Queue) -> Step:
    return lambda callback: channel.queue_declare(
        queue.name,
        durable=queue.durable,
        exclusive=queue.exclusive,
        auto_delete=queue.auto_delete,
        arguments=queue.arguments,
        callback=callback,
    )


def _binding_step(channel: Any, binding: Binding) -> Step:
    return lambda callback: channel.queue_bind(
        binding.queue, binding.exchange, routing_key=binding.routing_key, callback=callback
    )


def run_steps(steps: list[Step], done: Callable[[], None]) -> None:
    """Run asynchronous channel calls one after the other, then ``done``."""
    remaining = list(steps)

    def next_step(_result: Any = None) -> None:
        if not remaining:
            done()
            return
        remaining.pop(0)(next_step)

    next_step()


def dead_letter_names(settings: Settings) -> tuple[str, str]:
    """The dead-letter exchange and queue of the request queue (quorum mode)."""
    queue = settings.RABBITMQ_ALEPH_DAEMON_QUEUE
    return f"{queue}.dlx", f"{queue}.dead"


def _request_queue(settings: Settings) -> list[Queue]:
    name = settings.RABBITMQ_ALEPH_DAEMON_QUEUE
    if settings.RABBITMQ_ALEPH_QUEUE_TYPE != "quorum":
        return [Queue(name)]
    exchange, dead = dead_letter_names(settings)
    arguments = {
        "x-queue-type": "quorum",
        "x-delivery-limit": settings.RABBITMQ_ALEPH_DELIVERY_LIMIT,
        "x-dead-letter-exchange": exchange,
        "x-dead-letter-routing-key": dead,
    }
    return [Queue(name, arguments=arguments), Queue(dead, arguments=dict(QUORUM))]


def aleph_topology(settings: Settings) -> Topology:
    """Exchanges, queues and bindings of the contract (docs/messages.md), named by ``settings``."""
    exchange_names = (
        settings.RABBITMQ_ALEPH_EXCHANGE,
        *(name for name in ALEPH_EXCHANGES if name != settings.RABBITMQ_ALEPH_EXCHANGE),
    )
    daemon_queue = settings.RABBITMQ_ALEPH_DAEMON_QUEUE
    plone_queue = settings.RABBITMQ_ALEPH_PLONE_QUEUE
    exchanges = [Exchange(name) for name in exchange_names]
    answers = dict(QUORUM) if settings.RABBITMQ_ALEPH_QUEUE_TYPE == "quorum" else None
    queues = [*_request_queue(settings), Queue(plone_queue, arguments=answers)]
    bindings = []
    for name in exchange_names:
        bindings.append(Binding(name, settings.RABBITMQ_ALEPH_DAEMON_KEY, daemon_queue))
        bindings.append(Binding(name, settings.RABBITMQ_ALEPH_PLONE_KEY, plone_queue))
    bindings.append(
        Binding(
            settings.RABBITMQ_ALEPH_EXCHANGE, settings.RABBITMQ_ALEPH_EXCEPTION_KEY, plone_queue
        )
    )
    if settings.RABBITMQ_ALEPH_QUEUE_TYPE == "quorum":
        exchange, dead = dead_letter_names(settings)
        exchanges.append(Exchange(exchange, type="direct"))
        bindings.append(Binding(exchange, dead, dead))
    return Topology(tuple(exchanges), tuple(queues), tuple(bindings))
