"""Answers to searches and counts remembered for a while (``ALEPH_CACHE_TTL``).

A catalogue licence counts calls, and requests repeat: the same ISBN is looked up by
several steps of one workflow within seconds. :class:`AnswerCache` keeps the answer of a
search or count under the normalized query (the kind of work, the frozen query value with
its base, and the library and record limit it ran with) for ``ttl`` seconds, the least
recently used dropped first past ``entries``.

Exports are never cached, and an export clears everything remembered: a search answered
from memory after this daemon's export could otherwise miss the record it just added.
A lookup that started before an export cannot store its (possibly older) answer after
it: :meth:`AnswerCache.lookup` hands out the generation it saw, and :meth:`AnswerCache.store`
drops an answer of an earlier generation. All methods are thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["MISS", "AnswerCache"]


class _Miss:
    def __repr__(self) -> str:
        return "MISS"


#: What :meth:`AnswerCache.lookup` gives when it has no fresh answer.
MISS: Any = _Miss()


class AnswerCache:
    """A bounded, expiring map from a query's key to its answer (see the module docstring).

    Args:
        ttl: seconds an answer is served (0 = the cache is off: nothing is kept).
        entries: answers kept at most.
    """

    def __init__(
        self, ttl: float, entries: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if ttl < 0 or entries < 0:
            raise ValueError(f"ttl and entries must not be negative, not {ttl!r}, {entries!r}")
        self.ttl = ttl
        self.entries = entries
        self._clock = clock
        self._lock = threading.Lock()
        self._answers: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._generation = 0

    @property
    def enabled(self) -> bool:
        return self.ttl > 0 and self.entries > 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._answers)

    def lookup(self, key: Hashable) -> tuple[Any, int]:
        """The fresh answer under ``key`` (or :data:`MISS`), and the generation to store with."""
        with self._lock:
            generation = self._generation
            entry = self._answers.get(key)
            if entry is None:
                return MISS, generation
            expires, answer = entry
            if self._clock() >= expires:
                del self._answers[key]
                return MISS, generation
            self._answers.move_to_end(key)
            return answer, generation

    def store(self, key: Hashable, answer: Any, generation: int) -> None:
        """Remember ``answer``, unless something cleared the cache since ``generation``."""
        if not self.enabled:
            return
        with self._lock:
            if generation != self._generation:
                return
            self._answers[key] = (self._clock() + self.ttl, answer)
            self._answers.move_to_end(key)
            while len(self._answers) > self.entries:
                self._answers.popitem(last=False)

    def clear(self) -> None:
        """Forget every answer, and refuse those of lookups that began before now."""
        with self._lock:
            self._answers.clear()
            self._generation += 1
