"""Exponential backoff with jitter and a cap, between reconnect attempts.

The pause doubles from ``base`` with each failed attempt up to ``cap``, and half of it
is random ("equal jitter"), so a fleet that lost its broker together does not come
back together. A successful connection resets it.
"""

from __future__ import annotations

import random

__all__ = ["Backoff"]


class Backoff:
    """Pauses for consecutive failed attempts; :meth:`reset` after a success."""

    def __init__(self, base: float, cap: float) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0

    def next_delay(self) -> float:
        """The pause before the next attempt (and count this failure)."""
        self.attempt += 1
        ceiling = min(self.cap, self.base * 2**self.attempt)
        return float(ceiling * random.uniform(0.5, 1.0))

    def reset(self) -> None:
        self.attempt = 0
