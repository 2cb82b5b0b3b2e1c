"""The main thread's rounds while a consumer daemon runs: readiness, state, watchdog.

Every round (a few times a second) a :class:`Supervisor` asks the connection's
:class:`~edeposit.amqp.runtime.watch.ConnectionWatch` how things stand and

* reports readiness the first time the daemon consumes (``start`` returns 0, systemd
  gets ``READY=1``),
* rewrites the state file that ``status`` reads, once a second,
* pings systemd's watchdog while the I/O loop is healthy (its ticks are fresh), so a
  wedged I/O thread — or a wedged main thread — gets the daemon restarted,
* keeps systemd's one-line ``STATUS=`` current.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from edeposit.amqp.runtime.state import remove_state, write_state

if TYPE_CHECKING:
    from edeposit.amqp.runtime.connection import BrokerConnection
    from edeposit.amqp.runtime.runner import DaemonRunnerWrapper

__all__ = ["Supervised", "Supervisor"]

log = logging.getLogger(__name__)

#: Seconds between two writes of the state file.
STATE_PERIOD = 1.0


class Supervised(Protocol):
    """What a supervisor reads of the daemon it watches."""

    @property
    def consuming(self) -> list[str]: ...

    @property
    def in_flight(self) -> int: ...

    @property
    def draining(self) -> bool: ...

    def counters(self) -> Mapping[str, int]: ...

    def status_facts(self) -> Mapping[str, str]: ...


class Supervisor:
    """See the module docstring; :meth:`round` from the main loop, :meth:`close` at the end."""

    def __init__(
        self, runner: DaemonRunnerWrapper, daemon: Supervised, connection: BrokerConnection
    ) -> None:
        self.runner = runner
        self.daemon = daemon
        self.connection = connection
        self.started = time.time()
        self._next_write = 0.0
        self._write_failed = False
        self._serving = False

    @property
    def serving(self) -> bool:
        """Consuming, and not stopping."""
        return self.connection.is_ready and not self.daemon.draining

    def activity(self) -> str:
        """What the daemon does, in a few words."""
        watch = self.connection.watch
        if self.daemon.draining:
            return "stopping: answering the requests in flight"
        if self.serving:
            return f"consuming {', '.join(self.daemon.consuming)} on {watch.node}"
        if watch.last_error:
            return f"not connected: {watch.last_error}"
        return f"connecting to {self.connection.node}"

    def snapshot(self) -> dict[str, Any]:
        """The state ``status`` shows (see :mod:`~edeposit.amqp.runtime.state`)."""
        watch = self.connection.watch
        return {
            "pid": os.getpid(),
            "started": self.started,
            "serving": self.serving,
            "activity": self.activity(),
            "node": watch.node or self.connection.node,
            "connected": watch.ready,
            "since": watch.since,
            "reconnects": watch.reconnects,
            "consuming": self.daemon.consuming if watch.ready else [],
            "in_flight": self.daemon.in_flight,
            "counters": dict(self.daemon.counters()),
            "details": dict(self.daemon.status_facts()),
            "last_error": watch.last_error,
            "last_error_at": watch.last_error_at,
            "io_healthy": watch.io_healthy(),
        }

    def round(self) -> None:
        notifier = self.runner.notifier
        serving = self.serving
        if serving != self._serving or time.monotonic() >= self._next_write:
            self._serving = serving
            self.write()  # before READY: `status` right after `start` sees it serve
        if serving and not notifier.reported:
            self.runner.notify_ready(self.activity())
        if self.connection.watch.io_healthy():
            notifier.watchdog()

    def write(self) -> None:
        """Write the state file now (and systemd's status line)."""
        self._next_write = time.monotonic() + STATE_PERIOD
        try:
            write_state(self.runner.state_path, self.snapshot())
        except OSError as error:
            if not self._write_failed:
                log.warning("cannot write the state file %s: %s", self.runner.state_path, error)
            self._write_failed = True
        self.runner.notifier.status(self.activity())

    def close(self) -> None:
        """The daemon ends: its state goes with it."""
        remove_state(self.runner.state_path)
