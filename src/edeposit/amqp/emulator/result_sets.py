"""Result sets made by ``find``: numbered, ordered record ids, kept for later ``present``s.

Sets are numbered ``000001``, ``000002``… (six digits, wrapping after 999999) and only
the newest ones are kept, as the catalogue drops old sets too; a dropped set answers
like an unknown one.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ResultSet", "ResultSets"]

#: How many sets are kept before the oldest is forgotten.
DEFAULT_CAPACITY = 2000


@dataclass(frozen=True, slots=True)
class ResultSet:
    """One ``find`` result: ``hits`` records found, the first ``len(ids)`` stored."""

    number: str
    hits: int
    ids: array[int]
    base: str

    @property
    def entries(self) -> int:
        """How many entries can be presented (``no_entries``)."""
        return len(self.ids)


class ResultSets:
    """The sets of one emulator; thread-safe."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._sets: OrderedDict[str, ResultSet] = OrderedDict()
        self._counter = 0
        self._lock = threading.Lock()

    def create(self, hits: int, ids: Sequence[int], base: str) -> ResultSet:
        """Stores a new set and returns it with its number."""
        with self._lock:
            self._counter = self._counter % 999_999 + 1
            result = ResultSet(f"{self._counter:06d}", hits, array("q", ids), base)
            self._sets.pop(result.number, None)
            self._sets[result.number] = result
            while len(self._sets) > self._capacity:
                self._sets.popitem(last=False)
            return result

    def get(self, number: str) -> ResultSet | None:
        """The set called ``number`` (padded or not), if it is still kept."""
        text = number.strip()
        if not text.isascii() or not text.isdigit() or len(text) > 6:
            return None
        with self._lock:
            return self._sets.get(f"{int(text):06d}")
