"""The X-Server reply envelope, byte for byte (ALEPH-XSERVICES.md §1.2).

Every reply starts with ``<?xml version = "1.0" encoding = "UTF-8"?>``, puts one element
on each line, ends its root with a fresh 50-character ``<session-id>`` and closes with
``\\n`` and one space. Session ids are derived from a counter, so a run is repeatable.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Iterable

from edeposit.amqp.emulator.rendering import escape

__all__ = ["DECLARATION", "SessionIds", "element", "error_reply", "reply"]

DECLARATION = '<?xml version = "1.0" encoding = "UTF-8"?>\n'
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#: Maps every byte value onto the alphabet (modulo its length).
_TO_ALPHABET = bytes(_ALPHABET[value % len(_ALPHABET)] for value in range(256))
#: Length of an X-Server session id.
SESSION_ID_LENGTH = 50


class SessionIds:
    """Deterministic session ids: the n-th id of a seed is always the same; thread-safe."""

    def __init__(self, seed: str = "aleph-emulator") -> None:
        self._seed = seed
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def next(self) -> str:
        """A fresh 50-character ``[A-Z0-9]`` id."""
        with self._lock:
            number = next(self._counter)
        digest = hashlib.shake_256(f"{self._seed}:{number}".encode()).digest(SESSION_ID_LENGTH)
        return digest.translate(_TO_ALPHABET).decode("ascii")


def element(name: str, text: str) -> str:
    """One line holding ``<name>text</name>``, the text escaped."""
    return f"<{name}>{escape(text)}</{name}>"


def reply(root: str, lines: Iterable[str], session_id: str) -> bytes:
    """The whole reply body: declaration, ``<root>``, ``lines``, session id and trailer."""
    body = "\n".join(lines)
    return (
        f"{DECLARATION}<{root}>\n{body}{chr(10) if body else ''}"
        f"<session-id>{session_id}</session-id>\n</{root}>\n "
    ).encode()


def error_reply(root: str, text: str, session_id: str) -> bytes:
    """A reply holding only ``<error>text</error>`` (and the session id)."""
    return reply(root, [element("error", text)], session_id)
