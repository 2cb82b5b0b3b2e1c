"""Group commit of a transactional channel: answers and the acks of their requests together.

With publisher confirms, an answer the broker kept but whose confirm a broker restart
cut off is published again when its request comes back: a second answer. In a
transaction (AMQP ``tx``) the answer and the ack of its request take effect together at
the commit; a connection lost before it leaves neither, so the request comes back and is
answered once; a commit that went through leaves both, so it does not come back.

Commits are grouped: everything published or settled during one turn of the I/O loop
goes into one commit. RabbitMQ accepts nothing else on a channel while it commits, so
what comes meanwhile waits here and goes out, as the next transaction, as soon as the
commit is through: a busy daemon commits many answers at once. Used on the I/O thread
only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from edeposit.amqp.errors import BrokerError
from edeposit.amqp.runtime.confirms import Confirmed

__all__ = ["Transactions"]

#: One publish, ack or rejection to make on the channel.
ChannelOperation = Callable[[], None]


class Transactions:
    """The operations of a transactional channel and the outcomes it owes their callers."""

    def __init__(self, name: str, loop: Any) -> None:
        self.name = name
        self._loop = loop
        self._channel: Any = None
        self._open: list[Confirmed] = []  # outcomes of the operations sent, not committed
        self._uncommitted = 0
        self._committing: list[Confirmed] | None = None
        self._waiting: list[tuple[ChannelOperation, Confirmed | None]] = []
        self._scheduled = False
        #: When the commit on its way was sent (monotonic), None without one.
        self.oldest: float | None = None

    def __len__(self) -> int:
        """Operations not committed yet (sent, waiting, or in the commit on its way).

        Read by other threads (a drain waiting for the last commit): each attribute is
        read once, as the I/O thread may replace it between two reads.
        """
        committing = self._committing
        return self._uncommitted + (len(committing) if committing else 0) + len(self._waiting)

    def new_channel(self, channel: Any) -> None:
        self._channel = channel

    def send(self, operation: ChannelOperation, confirmed: Confirmed | None = None) -> None:
        """Make ``operation`` on the channel now (or once the commit on its way is through);
        ``confirmed`` hears the outcome of the commit that carries it."""
        if self._committing is not None:
            self._waiting.append((operation, confirmed))
            return
        self._send(operation, confirmed)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_later(0, self._commit)  # after the rest of this turn's work

    def _send(self, operation: ChannelOperation, confirmed: Confirmed | None) -> None:
        operation()
        self._uncommitted += 1
        if confirmed is not None:
            self._open.append(confirmed)

    def _commit(self) -> None:
        self._scheduled = False
        channel = self._channel
        if self._committing is not None or not self._uncommitted or channel is None:
            return
        self._committing, self._open = self._open, []
        self._uncommitted = 0
        self.oldest = time.monotonic()
        channel.tx_commit(callback=self._committed)

    def _committed(self, _frame: Any) -> None:
        done, self._committing = self._committing or [], None
        self.oldest = None
        for committed in done:
            committed(None)
        waiting, self._waiting = self._waiting, []
        for operation, confirmed in waiting:
            self._send(operation, confirmed)
        self._commit()

    def fail_all(self, error: BrokerError) -> None:
        """The channel is gone before a commit: nothing of it took effect, or (its answer
        lost with the connection) all of it did; either way, no answer twice."""
        outcomes = [
            *(self._committing or []),
            *self._open,
            *(confirmed for _, confirmed in self._waiting if confirmed is not None),
        ]
        self._committing, self._open, self._waiting, self._uncommitted = None, [], [], 0
        self.oldest = None
        self._channel = None
        for confirmed in outcomes:
            confirmed(error)
