"""What a broker connection went through, for ``status``, health checks and metrics.

A :class:`~edeposit.amqp.runtime.connection.BrokerConnection` reports to its
:class:`ConnectionWatch` from its I/O thread: opened (to which node), ready (consuming),
failed or lost (why), pausing before the next attempt, and a tick every
:data:`TICK_PERIOD` seconds while its I/O loop runs. Other threads only read the
attributes (each a single assignment, so a reader never sees half an update): the
daemon's state file, ``/healthz``, ``/readyz``, the systemd watchdog and the metrics
are all answered from here, never by opening a connection of their own.
"""

from __future__ import annotations

import time

__all__ = ["TICK_PERIOD", "ConnectionWatch"]

#: Seconds between two ticks of a running I/O loop.
TICK_PERIOD = 1.0
#: A loop whose last tick is older than this (and which is not pausing) is stuck.
STUCK_AFTER = 5 * TICK_PERIOD


class ConnectionWatch:
    """The life of one connection as the I/O thread reports it (see the module docstring)."""

    def __init__(self) -> None:
        #: The broker node of the current (or last) connection, ``amqp://host:port/vhost``.
        self.node: str | None = None
        #: Open, channel declared and consuming.
        self.ready = False
        #: Wall-clock time of the last change between ready and not ready.
        self.since = time.time()
        #: Times the channel became ready; reconnects are the ones after the first.
        self.connections = 0
        #: Why the connection last failed or was lost, and when (wall clock).
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self._last_tick = time.monotonic()
        self._pause_until = 0.0

    @property
    def address(self) -> str | None:
        """``host:port`` of :attr:`node` (IPv6 in brackets)."""
        return self.node.split("://", 1)[-1].split("/", 1)[0] if self.node else None

    @property
    def reconnects(self) -> int:
        """Connections made after the first one."""
        return max(0, self.connections - 1)

    # --- reports from the I/O thread ---------------------------------------------------

    def opened(self, node: str) -> None:
        self.node = node
        self.tick()

    def became_ready(self) -> None:
        self.connections += 1
        self.ready = True
        self.since = time.time()

    def failed(self, reason: str) -> None:
        """The connection failed or was lost for ``reason``."""
        if self.ready:
            self.since = time.time()
        self.ready = False
        self.last_error = reason
        self.last_error_at = time.time()

    def closed(self) -> None:
        """Closed on purpose (a stop)."""
        if self.ready:
            self.since = time.time()
        self.ready = False

    def pausing(self, seconds: float) -> None:
        """The I/O thread waits ``seconds`` before the next attempt (no loop runs then)."""
        self._pause_until = time.monotonic() + seconds

    def tick(self) -> None:
        self._last_tick = time.monotonic()

    # --- questions from other threads -------------------------------------------------

    def io_healthy(self) -> bool:
        """Whether the I/O thread is alive and not stuck: its loop ticked lately, or it is
        in a pause between connection attempts that it announced."""
        now = time.monotonic()
        return now - self._last_tick < STUCK_AFTER or now < self._pause_until + STUCK_AFTER
