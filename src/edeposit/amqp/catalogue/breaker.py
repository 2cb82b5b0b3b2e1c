"""A circuit breaker per catalogue: fail at once while it is known to be down.

After ``failures`` transport failures in a row the circuit opens: every call fails at
once with :class:`~edeposit.amqp.errors.AlephUnavailableError` instead of waiting for
its timeouts, so workers stay free and requests are answered in milliseconds. After
``reset_after`` seconds one call is let through as a probe; its success closes the
circuit, its failure opens it again. Like the rate limit, the breaker belongs to the
process, shared by every client of the same catalogue.
"""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import urlsplit

from edeposit.amqp.errors import AlephUnavailableError

__all__ = ["CircuitBreaker", "process_breaker"]

log = logging.getLogger(__name__)


class CircuitBreaker:
    """Closed, open or probing (see the module docstring); ``failures`` 0 disables it."""

    def __init__(self, name: str, failures: int, reset_after: float) -> None:
        self.name = name
        self.failures = failures
        self.reset_after = reset_after
        self._lock = threading.Lock()
        self._in_a_row = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    def before_call(self, what: str) -> None:
        """Let the call through, or fail it at once while the circuit is open.

        Raises:
            AlephUnavailableError: the catalogue failed too often just now.
        """
        if not self.failures:
            return
        with self._lock:
            opened = self._opened_at
            if opened is None:
                return
            waited = time.monotonic() - opened
            if waited >= self.reset_after and not self._probing:
                self._probing = True  # this call is the probe
                return
        raise AlephUnavailableError(
            f"{what}: the catalogue at {self.name} failed {self.failures} times in a row; "
            f"not asked again for {max(0.0, self.reset_after - waited):.1f} s"
        )

    def succeeded(self) -> None:
        with self._lock:
            was_open = self._opened_at is not None
            self._in_a_row = 0
            self._opened_at = None
            self._probing = False
        if was_open:
            log.warning("catalogue %s answers again: circuit closed", self.name)

    def failed(self) -> None:
        if not self.failures:
            return
        with self._lock:
            self._in_a_row += 1
            opening = self._probing or (self._opened_at is None and self._in_a_row >= self.failures)
            if opening:
                self._opened_at = time.monotonic()
                self._probing = False
        if opening:
            log.warning(
                "catalogue %s failed %d times in a row: circuit open, calls fail at once "
                "for %.0f s",
                self.name,
                self._in_a_row,
                self.reset_after,
            )


_registry: dict[str, CircuitBreaker] = {}
_registry_lock = threading.Lock()


def process_breaker(url: str, failures: int, reset_after: float) -> CircuitBreaker:
    """The process-wide breaker of the server at ``url`` (its origin), made on first use."""
    parts = urlsplit(url)
    key = f"{parts.scheme}://{parts.netloc}".lower()
    with _registry_lock:
        breaker = _registry.get(key)
        if breaker is None:
            breaker = _registry[key] = CircuitBreaker(key, failures, reset_after)
        breaker.failures, breaker.reset_after = failures, reset_after  # the latest settings
        return breaker
