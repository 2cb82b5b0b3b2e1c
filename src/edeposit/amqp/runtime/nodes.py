"""The broker nodes one connection may use, and the pause before trying the next.

A connection keeps to its node while it works. When the node goes (stopped, lost,
frozen past the heartbeats) or an attempt fails, it moves to the next node of the list
after a short pause: another node of a cluster is most likely up, so the first attempt
there is quick. Only once every node failed in turn does the exponential backoff of
:class:`~edeposit.amqp.runtime.backoff.Backoff` apply, so a fleet does not hammer a
cluster that is down. A single node behaves as before: backoff from the first failure.
"""

from __future__ import annotations

import random

import pika

from edeposit.amqp.runtime.backoff import Backoff
from edeposit.amqp.runtime.parameters import BrokerAddress, broker_parameters, for_this_process

__all__ = ["NEXT_NODE_PAUSE", "Nodes"]

#: Seconds (lowest, highest) before the first attempt on another node.
NEXT_NODE_PAUSE = (0.05, 0.25)


class Nodes:
    """Connection parameters of each node, in the order they are tried.

    Args:
        parameters: one node's parameters (or URL), or several (tried in this order,
            round): see :func:`~edeposit.amqp.runtime.parameters.broker_parameters`.
        backoff: the pauses once every node failed in turn.
    """

    def __init__(self, parameters: BrokerAddress, backoff: Backoff) -> None:
        # Named for the process that connects (a daemon builds them before it detaches).
        self.all = [for_this_process(node) for node in broker_parameters(parameters)]
        self.backoff = backoff
        self._index = 0
        self._failed_in_turn = 0  # nodes that failed since the last success

    @property
    def current(self) -> pika.connection.Parameters:
        """The node to connect to (or connected to) now."""
        return self.all[self._index]

    @property
    def failed_in_turn(self) -> int:
        """Nodes that failed since the last success: all of them, a whole round failed."""
        return self._failed_in_turn

    def connected(self) -> None:
        """The current node works: the next failure starts a new turn."""
        self._failed_in_turn = 0
        self.backoff.reset()

    def failed(self) -> float:
        """The current node failed or was lost: move on; the pause before the next attempt."""
        self._failed_in_turn += 1
        self._index = (self._index + 1) % len(self.all)
        if self._failed_in_turn < len(self.all):
            return random.uniform(*NEXT_NODE_PAUSE)
        return self.backoff.next_delay()
