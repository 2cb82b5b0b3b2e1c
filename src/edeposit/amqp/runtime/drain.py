"""A consumer service's graceful stop: take nothing more, finish what is in hand, close.

In steps, all within one time limit: every consumer is cancelled (the broker sends
nothing more; what it sent after the cancel goes back to the queue), the handlers in
flight finish, and their answers are confirmed and their requests acked. Whatever is
still unsettled when the time is up is left to the broker, which redelivers it once the
connection closes; the log says how much.
"""

from __future__ import annotations

import logging
import time

from edeposit.amqp.errors import BrokerError
from edeposit.amqp.runtime.connection import BrokerConnection
from edeposit.amqp.runtime.workers import WorkerPool

__all__ = ["drain"]

log = logging.getLogger(__name__)


def drain(pool: WorkerPool, connections: list[BrokerConnection], timeout: float) -> bool:
    """Stop consuming on ``connections``, let ``pool``'s handlers finish and their answers
    be settled, within ``timeout`` seconds; whether everything in hand was settled."""
    log.info(
        "stopping: cancelling the consumers, %d message(s) in flight, waiting up to %.0f s",
        pool.pending,
        timeout,
    )
    deadline = time.monotonic() + timeout
    for connection in connections:
        try:
            connection.stop_consuming().result(timeout=min(5.0, timeout))
        except (BrokerError, TimeoutError) as error:
            log.warning("could not cancel the consumer cleanly: %s", error)
    if pool.wait_idle(max(0.0, deadline - time.monotonic())) and all(
        connection.wait_settled(max(0.0, deadline - time.monotonic())) for connection in connections
    ):
        log.info("all messages in flight answered and settled")
        return True
    log.warning(
        "after %.0f s, %d handler(s) still running and %d message(s) unsettled; the broker "
        "redelivers them once the connection closes",
        timeout,
        pool.pending,
        sum(connection.unsettled for connection in connections),
    )
    return False
