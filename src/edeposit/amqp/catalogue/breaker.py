"""A circuit breaker per catalogue: fail at once while it is known to be down.

Three states, each with a way out:

* **closed**: calls go through; ``failures`` failures of the catalogue in a row open it;
* **open**: calls fail at once with :class:`~edeposit.amqp.errors.AlephUnavailableError`
  instead of waiting for their timeouts, so workers stay free and requests are answered
  in milliseconds; after ``reset_after`` seconds the next call becomes the probe;
* **probing** (half-open): one call is let through. Its success closes the circuit; any
  failure of it — a dropped connection, an HTTP error, a maintenance page that is not
  X-Services XML, whatever ended it — opens it again for another ``reset_after``. A
  probe that neither succeeds nor fails within ``probe_timeout`` (a hung call, a thread
  that never reported) is abandoned and the next call probes instead.

So once the catalogue heals, the circuit closes within one ``reset_after`` (plus the
probe's own call). A call that never reached the catalogue (the daemon's own overload,
a bad URL) tells nothing about it: :meth:`Permit.release` gives its probe back.

Each :class:`~edeposit.amqp.catalogue.service.AlephService` owns the breaker of each
catalogue origin it calls (:class:`Guards`), made from its own settings.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType

from edeposit.amqp.errors import AlephUnavailableError

__all__ = ["CircuitBreaker", "Permit"]

log = logging.getLogger(__name__)


class Permit:
    """Leave for one call; the call reports its outcome once (later reports do nothing).

    A context manager: leaving the block without a report counts as a failure (an
    exception) or gives the probe back (no exception), so no outcome is ever lost.
    """

    __slots__ = ("_breaker", "_done", "probe")

    def __init__(self, breaker: CircuitBreaker, probe: bool) -> None:
        self._breaker = breaker
        #: Whether this call is the probe of a circuit that was open.
        self.probe = probe
        self._done = False

    def succeeded(self) -> None:
        if not self._done:
            self._done = True
            self._breaker._succeeded(self)

    def failed(self, *, counts: bool = True) -> None:
        """The call failed; ``counts``: as a failure of the catalogue (a probe's failure
        always counts)."""
        if not self._done:
            self._done = True
            self._breaker._failed(self, counts=counts)

    def release(self) -> None:
        """The call never reached the catalogue: nothing learnt, a probe given back."""
        if not self._done:
            self._done = True
            self._breaker._released(self)

    def __enter__(self) -> Permit:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            self.release()
        else:
            self.failed()


class CircuitBreaker:
    """Closed, open or probing (see the module docstring); ``failures`` 0 disables it.

    Args:
        name: the catalogue's origin, for messages.
        failures: failures in a row that open the circuit (0: never).
        reset_after: seconds an open circuit fails calls before a probe.
        probe_timeout: seconds after which a probe that did not report is abandoned.
        clock: monotonic seconds (tests drive it).
    """

    def __init__(
        self,
        name: str,
        failures: int,
        reset_after: float,
        *,
        probe_timeout: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failures = failures
        self.reset_after = reset_after
        self.probe_timeout = probe_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._in_a_row = 0
        self._opened_at: float | None = None
        self._probe: Permit | None = None
        self._probe_since = 0.0

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``probing``."""
        with self._lock:
            if self._opened_at is None:
                return "closed"
            return "probing" if self._live_probe(self._clock()) else "open"

    @property
    def is_open(self) -> bool:
        """Open or probing: calls other than the probe fail at once."""
        return self._opened_at is not None

    def permit(self, what: str) -> Permit:
        """Leave for one call, or an error at once while the circuit is open.

        Raises:
            AlephUnavailableError: the catalogue failed too often just now.
        """
        if not self.failures:
            return Permit(self, probe=False)
        with self._lock:
            opened = self._opened_at
            if opened is None:
                return Permit(self, probe=False)
            now = self._clock()
            waited = now - opened
            if waited >= self.reset_after and not self._live_probe(now):
                if self._probe is not None:
                    log.warning(
                        "catalogue %s: the probe started %.0f s ago never reported; another "
                        "call probes",
                        self.name,
                        now - self._probe_since,
                    )
                self._probe = Permit(self, probe=True)
                self._probe_since = now
                return self._probe
        raise AlephUnavailableError(
            f"{what}: the catalogue at {self.name} failed {self.failures} times in a row; "
            f"not asked again for {max(0.0, self.reset_after - waited):.1f} s"
        )

    def _live_probe(self, now: float) -> bool:
        return self._probe is not None and now - self._probe_since < self.probe_timeout

    def _succeeded(self, permit: Permit) -> None:
        with self._lock:
            was_open = self._opened_at is not None
            if permit.probe and permit is not self._probe:
                return  # an abandoned probe reporting late: the current one decides
            self._in_a_row = 0
            self._opened_at = None
            self._probe = None
        if was_open:
            log.warning("catalogue %s answers again: circuit closed", self.name)

    def _failed(self, permit: Permit, *, counts: bool) -> None:
        if not self.failures:
            return
        with self._lock:
            if permit.probe:
                if permit is not self._probe:
                    return
                self._probe = None
                opening = True
            elif not counts or self._opened_at is not None:
                return
            else:
                self._in_a_row += 1
                opening = self._in_a_row >= self.failures
            if opening:
                self._opened_at = self._clock()
        if opening:
            log.warning(
                "catalogue %s %s: circuit open, calls fail at once for %.0f s",
                self.name,
                "still fails" if permit.probe else f"failed {self._in_a_row} times in a row",
                self.reset_after,
            )

    def _released(self, permit: Permit) -> None:
        with self._lock:
            if permit.probe and permit is self._probe:
                self._probe = None
