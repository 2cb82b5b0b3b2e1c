"""Remember recent requests so a redelivered one is never answered twice by this daemon.

A request is redelivered when the broker did not see its ack: the connection dropped
while it was being handled, or after its answer was confirmed but before the ack
arrived. The ledger, keyed by the request's ``UUID`` header and a digest of its body,
tells the redelivered copy what already happened: still being worked on (wait for
it), answer computed but not confirmed (publish that answer, without asking Aleph again),
or answered (just ack). Entries expire after ``ttl`` seconds; the ledger is bounded.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import threading
import time
from typing import Any

__all__ = ["AnswerLedger", "Entry", "request_key"]


def request_key(uuid: Any, body: bytes) -> tuple[str, bytes]:
    """Identity of a request: its UUID header (any type) and a digest of its body."""
    return repr(uuid), hashlib.blake2b(body, digest_size=16).digest()


@dataclasses.dataclass(slots=True)
class Entry:
    """What this daemon did with one request."""

    working: bool = True
    answered: bool = False
    answer: Any = None
    touched: float = dataclasses.field(default_factory=time.monotonic)


class AnswerLedger:
    """Thread-safe record of requests in progress and recently answered.

    One condition, shared by all entries, wakes a redelivery waiting for its first
    attempt: an event per entry would cost ~1 KB each, a third of the ledger's memory.
    """

    def __init__(self, max_entries: int = 20_000, ttl: float = 900.0) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self._entries: collections.OrderedDict[tuple[str, bytes], Entry] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)

    def begin(self, key: tuple[str, bytes], wait: float) -> Entry | None:
        """Start work on ``key``; or, if seen before, the earlier entry once it is settled.

        Returns None when the caller should handle the request itself (new, or the
        earlier attempt left nothing usable); else the earlier :class:`Entry`.
        """
        with self._lock:
            earlier = self._entries.get(key)
            if earlier is None or (
                not earlier.working and not earlier.answered and earlier.answer is None
            ):
                self._entries[key] = Entry()
                self._entries.move_to_end(key)
                self._prune()
                return None
            self._settled.wait_for(lambda: not earlier.working, wait)
            if earlier.working:  # still not done: take it over
                return None
            earlier.working = True
            return earlier

    def start(self, key: tuple[str, bytes], wait: float = 0.0) -> None:
        """Record that a first delivery of ``key`` is being worked on; when this daemon
        is still at work on ``key`` (a copy it is sending round again), wait for that
        first, at most ``wait`` seconds."""
        with self._lock:
            earlier = self._entries.get(key)
            if earlier is not None and earlier.working and wait > 0:
                self._settled.wait_for(lambda: not earlier.working, wait)
            self._entries[key] = Entry()
            self._entries.move_to_end(key)
            self._prune()

    def finish(self, key: tuple[str, bytes], *, answer: Any, answered: bool) -> None:
        """Record the outcome: the answer (kept until confirmed) and whether it was confirmed."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return
            entry.working = False
            entry.answered = entry.answered or answered
            entry.answer = None if entry.answered else answer
            entry.touched = time.monotonic()
            self._settled.notify_all()

    def _prune(self) -> None:
        now = time.monotonic()
        while self._entries:
            key, oldest = next(iter(self._entries.items()))
            expired = now - oldest.touched > self.ttl
            if not expired and len(self._entries) <= self.max_entries:
                break
            if oldest.working and not expired:
                self._entries.move_to_end(key)
                break
            del self._entries[key]
