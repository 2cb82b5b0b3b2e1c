"""A consumer service's graceful stop: take nothing more, finish what is in hand, close.

In steps, all within one time limit: every consumer is cancelled (the broker sends
nothing more; what it sent after the cancel goes back to the queue), the handlers in
flight finish, and their answers are confirmed and their requests acked. Whatever is
still unsettled when the time is up — or once every handler finished and every answer
was confirmed (a handler that returned False without settling its message) — is left to
the broker, which redelivers it once the connection closes; the last log line always
says how many messages were left unsettled.
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
    be settled, within ``timeout`` seconds; whether everything in hand was settled.

    The last line it logs always says how many messages were left unsettled.
    """
    log.info(
        "stopping: cancelling the consumers, %d message(s) in flight, waiting up to %.0f s",
        pool.pending,
        timeout,
    )
    started = time.monotonic()
    deadline = started + timeout
    for connection in connections:
        try:
            connection.stop_consuming().result(timeout=min(5.0, timeout))
        except (BrokerError, TimeoutError) as error:
            log.warning("could not cancel the consumer cleanly: %s", error)
    finished = pool.wait_idle(max(0.0, deadline - time.monotonic())) and all(
        connection.wait_settled(max(0.0, deadline - time.monotonic())) for connection in connections
    )
    unsettled = sum(connection.unsettled for connection in connections)
    took = time.monotonic() - started
    if finished and not unsettled:
        log.info("drained in %.1f s: every message taken was settled (0 unsettled)", took)
        return True
    if finished:  # handlers done, answers confirmed: nothing will settle the rest
        log.warning(
            "drained in %.1f s, but %d message(s) unsettled: their handlers returned False "
            "without acking, rejecting or answering them; the broker redelivers them once "
            "the connection closes",
            took,
            unsettled,
        )
        return False
    log.warning(
        "after %.1f s, %d handler(s) still running and %d message(s) unsettled; the broker "
        "redelivers them once the connection closes",
        took,
        pool.pending,
        unsettled,
    )
    return False
