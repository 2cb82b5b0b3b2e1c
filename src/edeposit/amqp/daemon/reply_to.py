"""Where a request's ``reply_to`` may send a copy of its answer (``ALEPH_REPLY_TO``).

A copy goes through the default exchange, with the daemon's rights: an unrestricted
``reply_to`` would let any sender write into any queue of the vhost — the daemon's own
request queue included, where the copy comes back as a bogus request. So copies go only
to queues made for replies: server-named exclusive queues (``amq.gen-…``), Direct
Reply-to (``amq.rabbitmq.reply-to…``) and the names or prefixes (``name*``) the setting
lists; never to the service's own queues. A refused ``reply_to`` is counted and logged
once per sender (a bounded memory of senders); the answer still goes to the result queue.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from pika.spec import BasicProperties

from edeposit.amqp.runtime.answering import DIRECT_REPLY_TO
from edeposit.amqp.runtime.frame_limits import cut_text

__all__ = ["ALWAYS_ALLOWED", "ReplyToPolicy"]

log = logging.getLogger(__name__)

#: Prefixes of the queues made for replies, always allowed.
ALWAYS_ALLOWED = ("amq.gen-", DIRECT_REPLY_TO)
#: Senders remembered for "logged once"; past it the memory starts again.
_SENDERS_REMEMBERED = 1024


class ReplyToPolicy:
    """Which ``reply_to`` names get a copy (see the module docstring).

    Args:
        allowed: ``ALEPH_REPLY_TO``: queue names, or prefixes ending in ``*``.
        own_queues: the service's queues, never allowed whatever ``allowed`` says.
        count: told ``reply_to_refused`` for each refusal.
    """

    def __init__(
        self,
        allowed: Iterable[str],
        own_queues: Iterable[str],
        count: Callable[[str], None] = lambda _event: None,
    ) -> None:
        entries = list(allowed)
        self.names = frozenset(entry for entry in entries if not entry.endswith("*"))
        self.prefixes = (
            *ALWAYS_ALLOWED,
            *(entry[:-1] for entry in entries if entry.endswith("*")),
        )
        self.own_queues = frozenset(own_queues)
        self._count = count
        self._told: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def allows(self, name: str) -> bool:
        """Whether a copy may go to queue ``name``."""
        if name in self.own_queues:
            return False
        return name in self.names or name.startswith(self.prefixes)

    def check(self, request: BasicProperties) -> str | None:
        """The request's ``reply_to`` if a copy may go there, else None (a refusal is
        counted, and logged the first time for its sender)."""
        name = request.reply_to
        if not name:
            return None
        if self.allows(name):
            return str(name)
        self._count("reply_to_refused")
        sender = str(request.user_id or request.app_id or "?")
        with self._lock:
            first = (sender, name) not in self._told
            if first:
                if len(self._told) >= _SENDERS_REMEMBERED:
                    self._told.clear()
                self._told.add((sender, name))
        if first:
            log.warning(
                "reply_to %r of sender %r refused: not a reply queue (amq.gen-*, "
                "amq.rabbitmq.reply-to) nor listed in ALEPH_REPLY_TO; the answer goes to the "
                "result queue only (further refusals for this sender are counted, not logged)",
                cut_text(name, 100),
                cut_text(sender, 100),
            )
        return None
