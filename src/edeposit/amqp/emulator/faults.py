"""Faults on demand: a real catalogue's bad days, reproduced for tests and benchmarks.

All faults are off by default. Rates are probabilities per request (0 = never, 1 =
always), drawn from a seeded generator so runs repeat. The licence fault counts X
sessions (every X reply opens one) in a sliding window, as the catalogue's
``MAX-WEB-USERS`` licence does, and refuses further sessions once ``licence_limit`` is
reached until old ones leave the window.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, fields
from enum import Enum
from typing import Any

__all__ = ["Fault", "FaultPlan", "Faults"]


@dataclass(frozen=True, slots=True)
class Faults:
    """What goes wrong, and how often.

    Attributes:
        latency: seconds added to every reply.
        latency_jitter: up to this many seconds more, uniformly at random.
        drop_rate: share of requests whose connection is closed without a reply.
        forbidden_rate: share answered with an HTML ``403 Forbidden`` page.
        maintenance_rate: share answered ``200`` with an HTML maintenance page (a
            ``<!DOCTYPE html>`` document, as a catalogue's front shows while it restarts).
        malformed_rate: share answered with XML cut off in the middle.
        hang_seconds: every request waits this long before anything (0 = no hang).
        licence_limit: sessions allowed per ``licence_window`` seconds (None = unlimited).
        licence_window: the licence's window in seconds (the catalogue's: 120).
    """

    latency: float = 0.0
    latency_jitter: float = 0.0
    drop_rate: float = 0.0
    forbidden_rate: float = 0.0
    maintenance_rate: float = 0.0
    malformed_rate: float = 0.0
    hang_seconds: float = 0.0
    licence_limit: int | None = None
    licence_window: float = 120.0

    def __post_init__(self) -> None:
        for name in ("latency", "latency_jitter", "hang_seconds"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be a number of seconds ≥ 0")
        for name in ("drop_rate", "forbidden_rate", "maintenance_rate", "malformed_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.licence_limit is not None and self.licence_limit < 0:
            raise ValueError("licence_limit must be ≥ 0 or None")
        if not self.licence_window > 0:
            raise ValueError("licence_window must be > 0")

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> Faults:
        """Faults from a JSON object of the same keyword names.

        Raises:
            ValueError: an unknown name or a value of the wrong type or range.
        """
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(unknown)}")
        checked: dict[str, Any] = {}
        for name, value in values.items():
            if name == "licence_limit" and value is None:
                checked[name] = None
            elif name == "licence_limit" and isinstance(value, int) and not isinstance(value, bool):
                checked[name] = value
            elif name != "licence_limit" and isinstance(value, int | float):
                if isinstance(value, bool):
                    raise ValueError(f"{name} must be a number")
                checked[name] = float(value)
            else:
                raise ValueError(f"{name} has a value of the wrong type: {value!r}")
        return cls(**checked)

    def to_mapping(self) -> dict[str, Any]:
        """The settings as a JSON-ready mapping."""
        return asdict(self)


class Fault(Enum):
    """What to do instead of (or before) answering a request normally."""

    NONE = "none"
    DROP = "drop"
    FORBIDDEN = "forbidden"
    MAINTENANCE = "maintenance"
    MALFORMED = "malformed"
    LICENCE = "licence"


class FaultPlan:
    """Decides, request by request, which fault strikes; thread-safe."""

    def __init__(self, faults: Faults | None = None, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._sessions: deque[float] = deque()
        self.faults = faults or Faults()

    @property
    def faults(self) -> Faults:
        """The fault settings in force."""
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults
            self._sessions.clear()

    def delay(self) -> float:
        """Seconds to wait before answering this request."""
        faults = self._faults
        with self._lock:
            jitter = self._random.uniform(0, faults.latency_jitter) if faults.latency_jitter else 0
        return faults.hang_seconds + faults.latency + jitter

    def choose(self, counts_session: bool) -> Fault:
        """The fault for one request; ``counts_session`` for X requests (licence counting)."""
        faults = self._faults
        with self._lock:
            for rate, fault in (
                (faults.drop_rate, Fault.DROP),
                (faults.forbidden_rate, Fault.FORBIDDEN),
                (faults.maintenance_rate, Fault.MAINTENANCE),
                (faults.malformed_rate, Fault.MALFORMED),
            ):
                if rate and self._random.random() < rate:
                    return fault
            if counts_session and faults.licence_limit is not None:
                now = time.monotonic()
                while self._sessions and self._sessions[0] <= now - faults.licence_window:
                    self._sessions.popleft()
                if len(self._sessions) >= faults.licence_limit:
                    return Fault.LICENCE
                self._sessions.append(now)
        return Fault.NONE
