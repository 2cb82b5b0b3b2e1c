"""``amqp_tool --migrate-to-quorum``: the service's classic queues become quorum queues.

RabbitMQ cannot change a queue's type: the classic queue has to go and the quorum one
be declared in its place (docs/operations.md, "Quorum queues"). Deleting a queue
deletes what waits in it, so each classic queue is deleted only while it is empty and
nobody consumes it — the broker checks both in the same step (``if-empty``,
``if-unused``), so a request arriving meanwhile makes the migration stop instead of
vanishing. Then the whole topology is declared as ``RABBITMQ_ALEPH_QUEUE_TYPE=quorum``
declares it. Queues that are quorum queues already are left alone: running it twice is
harmless.
"""

from __future__ import annotations

from typing import Any

import pika
import pika.exceptions

from edeposit.amqp.config import Settings
from edeposit.amqp.errors import ToolError
from edeposit.amqp.runtime.parameters import describe_broker
from edeposit.amqp.runtime.topology import Queue, aleph_topology

__all__ = ["migrate_to_quorum"]

#: AMQP reply code of a refused precondition (a queue declared differently, not empty…).
PRECONDITION_FAILED = 406
#: AMQP reply code of a queue that does not exist.
NOT_FOUND = 404


def migrate_to_quorum(settings: Settings, connection: pika.BlockingConnection) -> None:
    """Replace each classic queue of the topology by a quorum queue, printing each step.

    Raises:
        ToolError: a classic queue holds messages or has consumers (nothing was deleted
            then, or only the queues before it, which were empty), or the broker refused
            a declaration.
    """
    quorum = settings.replace(RABBITMQ_ALEPH_QUEUE_TYPE="quorum")
    topology = aleph_topology(quorum)
    where = describe_broker(settings)
    print(f"Migrating the queues at {where} to quorum queues:")
    channel = connection.channel()
    for queue in topology.queues:
        channel, kind = _kind(connection, channel, queue)
        if kind == "quorum":
            print(f"\tQueue '{queue.name}' is a quorum queue already.")
            continue
        if kind == "missing":
            print(f"\tQueue '{queue.name}' does not exist yet.")
            continue
        try:
            channel.queue_delete(queue.name, if_unused=True, if_empty=True)
        except pika.exceptions.ChannelClosedByBroker as error:
            if error.reply_code != PRECONDITION_FAILED:
                raise
            raise ToolError(
                f"queue '{queue.name}' at {where} is not empty or has consumers "
                f"({error.reply_text}); stop the daemons and publishing clients, let "
                "the waiting messages be taken, then run --migrate-to-quorum again"
            ) from error
        channel.queue_declare(queue.name, durable=True, arguments=queue.arguments)
        print(f"\tReplaced queue '{queue.name}' (classic) by a quorum queue.")
    topology.declare(channel, report=print)


def _kind(connection: Any, channel: Any, queue: Queue) -> tuple[Any, str]:
    """Whether ``queue`` is ``missing``, ``quorum`` (as declared here) or ``classic``
    (or a quorum queue with other arguments: replaced the same way), and a usable
    channel: the broker closes the one a refused declaration was tried on."""
    try:
        channel.queue_declare(queue.name, passive=True)
    except pika.exceptions.ChannelClosedByBroker as error:
        if error.reply_code != NOT_FOUND:
            raise
        return connection.channel(), "missing"
    try:  # a quorum queue accepts the quorum declaration; a classic one refuses it
        channel.queue_declare(queue.name, durable=True, arguments=queue.arguments)
    except pika.exceptions.ChannelClosedByBroker as error:
        if error.reply_code != PRECONDITION_FAILED:
            raise
        return connection.channel(), "classic"
    return channel, "quorum"
