"""The generic RabbitMQ consumer service of the contract: ``PikaDaemon``.

Implemented in :mod:`edeposit.amqp.runtime.consumer`; this module is its public face,
with every type its methods take or return, so a service never imports from an internal
module. docs/services.md is the guide.
"""

import pika

from edeposit.amqp import settings as settings_module
from edeposit.amqp.config import Settings
from edeposit.amqp.errors import (
    BrokerError,
    BrokerUnavailableError,
    PublishRejectedError,
    ReplyToError,
)
from edeposit.amqp.runtime.answering import DIRECT_REPLY_TO
from edeposit.amqp.runtime.confirms import Confirmed
from edeposit.amqp.runtime.consumer import DEFAULT_SETTLE_TIMEOUT, PikaDaemon
from edeposit.amqp.runtime.envelopes import Outgoing
from edeposit.amqp.runtime.handling import Handler
from edeposit.amqp.runtime.parameters import BrokerAddress, node_parameters
from edeposit.amqp.runtime.runner import ExitCode
from edeposit.amqp.runtime.topology import Binding, Exchange, Queue, Topology

__all__ = [
    "DEFAULT_SETTLE_TIMEOUT",
    "DIRECT_REPLY_TO",
    "Binding",
    "BrokerAddress",
    "BrokerError",
    "BrokerUnavailableError",
    "Confirmed",
    "Exchange",
    "ExitCode",
    "Handler",
    "Outgoing",
    "PikaDaemon",
    "PublishRejectedError",
    "Queue",
    "ReplyToError",
    "Topology",
    "connection_parameters",
]


def connection_parameters(
    vhost: str | None = None, *, settings: Settings | None = None
) -> list[pika.ConnectionParameters]:
    """Parameters of every broker node of the settings (``RABBITMQ_NODES``, else
    ``RABBITMQ_HOST:RABBITMQ_PORT``), for ``vhost`` (default:
    ``RABBITMQ_ALEPH_VIRTUALHOST``), with the settings' user, password (or password file)
    and TLS: what :class:`PikaDaemon` takes. The nodes come in a random order, so a fleet
    of services spreads over a cluster. ``settings`` default to the process's.
    """
    return node_parameters(settings or settings_module.get(), virtual_host=vhost)
