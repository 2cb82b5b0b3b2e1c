"""The unix daemon runner of the contract: ``DaemonRunnerWrapper``.

Implemented in :mod:`edeposit.amqp.runtime.runner`; this module is its public face.
"""

from edeposit.amqp.runtime.runner import DaemonRunnerWrapper

__all__ = ["DaemonRunnerWrapper"]
