"""What every call to one catalogue passes: its pace and its circuit breaker.

A service's X-Services client and export form may share an origin (``ALEPH_URL`` and
``ALEPH_EXPORT_URL`` on one server): then they share one :class:`Guard`, so the licence's
rate counts both and one breaker knows the server is down. The guards belong to the
service that made them, with that service's settings: a service built after a settings
reload gets guards of the new settings (a looser rate limit included), and two services
never change each other's.
"""

from __future__ import annotations

import dataclasses
import threading
from urllib.parse import urlsplit

from edeposit.amqp.catalogue.breaker import CircuitBreaker
from edeposit.amqp.catalogue.ratelimiter import RateLimiter
from edeposit.amqp.config import Settings

__all__ = ["Guard", "Guards", "origin"]


def origin(url: str) -> str:
    """``scheme://host:port`` of ``url``, lower-cased: what a guard is kept per."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclasses.dataclass(frozen=True, slots=True)
class Guard:
    """The rate limiter and circuit breaker of one catalogue origin."""

    limiter: RateLimiter
    breaker: CircuitBreaker


class Guards:
    """One :class:`Guard` per origin, all made with the same limits.

    Args:
        rate_limit: calls per second at most to each origin (0 = unlimited).
        circuit_failures: failures in a row that open a circuit (0: never).
        circuit_reset: seconds an open circuit fails calls before a probe.
        probe_timeout: seconds after which a probe that never reported is abandoned.
    """

    def __init__(
        self,
        rate_limit: float,
        circuit_failures: int,
        circuit_reset: float,
        probe_timeout: float = 60.0,
    ) -> None:
        self.rate_limit = rate_limit
        self.circuit_failures = circuit_failures
        self.circuit_reset = circuit_reset
        self.probe_timeout = probe_timeout
        self._guards: dict[str, Guard] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Guards:
        """Guards with the ``ALEPH_*`` limits of ``settings``; a probe is abandoned after
        a request's deadline (or, without one, all attempts of one call)."""
        probe_timeout = settings.ALEPH_REQUEST_DEADLINE or settings.ALEPH_TIMEOUT * (
            settings.ALEPH_RETRIES + 1
        )
        return cls(
            settings.ALEPH_RATE_LIMIT,
            settings.ALEPH_CIRCUIT_FAILURES,
            settings.ALEPH_CIRCUIT_RESET,
            probe_timeout,
        )

    def of(self, url: str) -> Guard:
        """The guard of ``url``'s origin, made on first use."""
        key = origin(url)
        with self._lock:
            guard = self._guards.get(key)
            if guard is None:
                guard = self._guards[key] = Guard(
                    RateLimiter(self.rate_limit),
                    CircuitBreaker(
                        key,
                        self.circuit_failures,
                        self.circuit_reset,
                        probe_timeout=self.probe_timeout,
                    ),
                )
            return guard

    def limiters(self) -> list[RateLimiter]:
        """The rate limiters of every origin called so far."""
        with self._lock:
            return [guard.limiter for guard in self._guards.values()]
