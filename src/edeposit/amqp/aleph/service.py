"""The Aleph service: everything the daemon needs to answer requests, built from settings.

One :class:`AlephService` holds one ``urllib3.PoolManager`` shared by its X-Services
client and its exporter, and the process-wide rate limit of the catalogue. It is
thread-safe: :meth:`~AlephService.handle` is called from many worker threads at once
and keeps no state between calls.

::

    with AlephService(settings.get()) as service:
        result = service.handle(SearchRequest(ISBNQuery("80-251-0225-4")))
"""

from __future__ import annotations

import logging

import urllib3

from edeposit.amqp.aleph import search as searching
from edeposit.amqp.aleph.dispatch import answer
from edeposit.amqp.aleph.export import Exporter
from edeposit.amqp.aleph.isbn import is_valid_isbn
from edeposit.amqp.aleph.message import Message
from edeposit.amqp.aleph.queries import Query
from edeposit.amqp.aleph.records import AlephRecord, EPublication
from edeposit.amqp.aleph.transport import HTTPUser
from edeposit.amqp.aleph.xservices import XServicesClient
from edeposit.amqp.config import Settings

__all__ = ["AlephService"]

logger = logging.getLogger(__name__)


class AlephService(HTTPUser):
    """Answers Aleph requests against the catalogue the settings name.

    Args:
        settings: the ``ALEPH_*`` settings (URL, default base and library, timeouts,
            retries, rate limit, reply and record limits, export signature).
        client: a ``urllib3.PoolManager`` to share (kept open); by default one is made and
            closed by :meth:`close` (also a context manager).
    """

    def __init__(self, settings: Settings, *, client: urllib3.PoolManager | None = None) -> None:
        super().__init__(client, settings.ALEPH_TIMEOUT, settings.ALEPH_DAEMON_WORKERS)
        self.settings = settings
        self.xservices = XServicesClient.from_settings(settings, client=self._client)
        self.exporter = Exporter.from_settings(settings, client=self._client)

    def __repr__(self) -> str:
        return f"AlephService({self.settings.ALEPH_URL!r})"

    def handle(self, request: object) -> Message:
        """The result for a Search, Count, ISBNValidation or Export request.

        Raises:
            ValueError: an unknown request or query type.
            AlephException, ExportException: (or a subclass) the catalogue's work failed.
        """
        return answer(self, request)

    def search(self, query: Query) -> list[AlephRecord]:
        """The records matching ``query`` (at most ``ALEPH_MAX_RECORDS``)."""
        return searching.search(
            self.xservices,
            query,
            library=self.settings.ALEPH_DEFAULT_LIBRARY,
            document_base=self.settings.ALEPH_DEFAULT_BASE,
            max_records=self.settings.ALEPH_MAX_RECORDS,
        )

    def count(self, query: Query) -> int:
        """How many records match ``query`` (one catalogue call)."""
        return searching.count(self.xservices, query)

    def validate(self, isbn: str) -> bool:
        """Whether ``isbn`` is a valid ISBN-10 or ISBN-13 (no catalogue call)."""
        return is_valid_isbn(isbn)

    def export(self, epublication: EPublication) -> str:
        """Post ``epublication`` to the e-deposit form; the accepted ISBN."""
        return self.exporter.export(epublication)
