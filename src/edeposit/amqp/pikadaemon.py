"""The generic RabbitMQ consumer service of the contract: ``PikaDaemon``.

Implemented in :mod:`edeposit.amqp.runtime.consumer`; this module is its public face.
"""

from edeposit.amqp.runtime.consumer import PikaDaemon

__all__ = ["PikaDaemon"]
