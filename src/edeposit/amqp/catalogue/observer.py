"""What the catalogue's clients tell an observer: calls, retries, rate-limit waits, and
whether an answer came from the cache.

The daemon measures its catalogue (metrics) without this layer knowing how: a
:class:`CatalogueObserver` is handed to the clients, and :data:`NO_OBSERVER` does
nothing. Callbacks run on the calling worker thread and must be quick.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["NO_OBSERVER", "CatalogueObserver", "NullObserver"]


class CatalogueObserver(Protocol):
    """Hears about every call the catalogue clients make."""

    def call_finished(self, op: str, outcome: str, seconds: float) -> None:
        """A call of ``op`` (``find``, ``present``, ``ill_get_doc``, ``export``) ended after
        ``seconds``, retries included: ``outcome`` is ``ok`` or the error's class name."""

    def retried(self, op: str) -> None:
        """A call of ``op`` failed and is tried again."""

    def rate_limited(self, seconds: float) -> None:
        """A call waited ``seconds`` for the process's rate limit (0 when it did not)."""

    def cache_looked_up(self, kind: str, hit: bool) -> None:
        """A ``search`` or ``count`` was answered from the cache (``hit``) or not."""


class NullObserver:
    """An observer that ignores everything."""

    def call_finished(self, op: str, outcome: str, seconds: float) -> None:
        pass

    def retried(self, op: str) -> None:
        pass

    def rate_limited(self, seconds: float) -> None:
        pass

    def cache_looked_up(self, kind: str, hit: bool) -> None:
        pass


#: The observer of clients nobody observes.
NO_OBSERVER: CatalogueObserver = NullObserver()
