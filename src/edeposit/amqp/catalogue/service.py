"""The Aleph service: answers a request from the catalogue the settings name.

One :class:`AlephService` holds one ``urllib3.PoolManager`` shared by its X-Services
client and its exporter, and the rate limiter and circuit breaker of each catalogue
origin they call (:mod:`~edeposit.amqp.catalogue.guards`), made from its own settings. It is
thread-safe: :meth:`~AlephService.handle` is called from many worker threads at once
and keeps no state between calls but its answer cache (``ALEPH_CACHE_TTL``,
:mod:`~edeposit.amqp.catalogue.cache`), which its own exports clear. Which work answers
which request is the table :data:`ANSWERS`, so an unknown type is a clear
``ValueError``, never a silent ``None``.

``reactToAMQPMessage`` is the original entry point: it answers with a process-wide
service built lazily from the process settings (and rebuilt after
:func:`edeposit.amqp.settings.reload`, which closes the old one: calls still running on
it then fail; services that reload own an ``AlephService``).

::

    with AlephService(settings.get()) as service:
        result = service.handle(SearchRequest(ISBNQuery("80-251-0225-4")))
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import urllib3

from edeposit.amqp import settings as settings_module
from edeposit.amqp.aleph.alephrecord import AlephRecord
from edeposit.amqp.aleph.queries import ISBNQuery, Query
from edeposit.amqp.aleph.records import EPublication
from edeposit.amqp.aleph.requests import (
    CountRequest,
    ExportRequest,
    ISBNValidationRequest,
    SearchRequest,
)
from edeposit.amqp.aleph.results import (
    CountResult,
    ExportResult,
    ISBNValidationResult,
    SearchResult,
)
from edeposit.amqp.catalogue import search as searching
from edeposit.amqp.catalogue.cache import MISS, AnswerCache
from edeposit.amqp.catalogue.deadline import request_deadline
from edeposit.amqp.catalogue.export import Exporter
from edeposit.amqp.catalogue.guards import Guards
from edeposit.amqp.catalogue.observer import NO_OBSERVER, CatalogueObserver
from edeposit.amqp.catalogue.ratelimiter import RateLimiter
from edeposit.amqp.catalogue.transport import HTTPUser
from edeposit.amqp.catalogue.xservices import XServicesClient
from edeposit.amqp.config import Settings
from edeposit.amqp.errors import MessageError
from edeposit.amqp.marc.isbn import is_valid_isbn
from edeposit.amqp.wire.message import Message

__all__ = ["ANSWERS", "AlephService", "close_default_service", "reactToAMQPMessage"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class AlephService(HTTPUser):
    """Answers Aleph requests against the catalogue the settings name.

    Args:
        settings: the ``ALEPH_*`` settings (URL, default base and library, timeouts,
            retries, rate limit, reply and record limits, export signature).
        client: a ``urllib3.PoolManager`` to share (kept open); by default one is made and
            closed by :meth:`close` (also a context manager).
        observer: hears about every catalogue call, retry and rate-limit wait (metrics).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        client: urllib3.PoolManager | None = None,
        observer: CatalogueObserver = NO_OBSERVER,
    ) -> None:
        super().__init__(client, settings.ALEPH_TIMEOUT, settings.ALEPH_DAEMON_WORKERS)
        self.settings = settings
        #: The pace and breaker of each catalogue origin this service calls.
        self.guards = Guards.from_settings(settings)
        self.xservices = XServicesClient.from_settings(
            settings, client=self._client, guards=self.guards
        )
        self.exporter = Exporter.from_settings(settings, client=self._client, guards=self.guards)
        self.observer = self.xservices.observer = self.exporter.observer = observer
        #: Searches and counts answered lately (off unless ``ALEPH_CACHE_TTL``).
        self.cache = AnswerCache(settings.ALEPH_CACHE_TTL, settings.ALEPH_CACHE_ENTRIES)

    def limiters(self) -> list[RateLimiter]:
        """The rate limiters this service's calls wait for (one when X-Services and the
        export form share an origin)."""
        limiters = [self.xservices.limiter]
        if self.exporter.limiter is not self.xservices.limiter:
            limiters.append(self.exporter.limiter)
        return limiters

    def __repr__(self) -> str:
        return f"AlephService({self.settings.ALEPH_URL!r})"

    def handle(self, request: object) -> Message:
        """The result for a Search, Count, ISBNValidation or Export request.

        Raises:
            MessageError: (a ``ValueError``) not a request, or a request of a query it
                cannot hold: nothing was asked of the catalogue.
            AlephException, ExportException: (or a subclass) the catalogue's work failed.
        """
        try:
            respond = ANSWERS[type(request)]
        except KeyError:
            names = ", ".join(cls.__name__ for cls in ANSWERS)
            raise MessageError(
                f"cannot answer a message of type {type(request).__name__}; requests are {names}"
            ) from None
        with request_deadline(self.settings.ALEPH_REQUEST_DEADLINE):
            return respond(self, request)

    def search(self, query: Query) -> list[AlephRecord]:
        """The records matching ``query`` (at most ``ALEPH_MAX_RECORDS``)."""
        library = self.settings.ALEPH_DEFAULT_LIBRARY
        base = self.settings.ALEPH_DEFAULT_BASE
        limit = self.settings.ALEPH_MAX_RECORDS
        records = self._cached(
            ("search", query, library, base, limit),
            lambda: searching.search(
                self.xservices, query, library=library, document_base=base, max_records=limit
            ),
        )
        return list(records)

    def count(self, query: Query) -> int:
        """How many records match ``query`` (one catalogue call)."""
        return self._cached(("count", query), lambda: searching.count(self.xservices, query))

    def export(self, epublication: EPublication) -> str:
        """Post ``epublication`` to the e-deposit form; the accepted ISBN.

        Whatever the outcome (a failed call may still have reached the catalogue), the
        cache is cleared afterwards: no search answered from memory misses the record.
        """
        try:
            return self.exporter.export(epublication)
        finally:
            self.cache.clear()

    def _cached(self, key: tuple[Any, ...], work: Callable[[], T]) -> T:
        """The answer under ``key`` from the cache, else from ``work`` (and remembered)."""
        if not self.cache.enabled:
            return work()
        try:
            hash(key)
        except TypeError:  # a query holding a list (lenient decoding): not cacheable
            return work()
        answer, generation = self.cache.lookup(key)
        self.observer.cache_looked_up(key[0], answer is not MISS)
        if answer is not MISS:
            return answer  # type: ignore[no-any-return]
        answer = work()
        self.cache.store(key, answer, generation)
        return answer


def _isbn_to_validate(value: object) -> str:
    if isinstance(value, ISBNQuery):
        return value.ISBN
    if isinstance(value, str):
        return value
    raise MessageError(
        f"ISBNValidationRequest.ISBN must be a string or an ISBNQuery, not {value!r}"
    )


#: Request type → how the service answers it.
ANSWERS: dict[type[object], Callable[[AlephService, Any], Message]] = {
    SearchRequest: lambda service, request: SearchResult(service.search(request.query)),
    CountRequest: lambda service, request: CountResult(service.count(request.query)),
    ISBNValidationRequest: lambda service, request: ISBNValidationResult(
        is_valid_isbn(_isbn_to_validate(request.ISBN))
    ),
    ExportRequest: lambda service, request: ExportResult(service.export(request.epublication)),
}


_lock = threading.Lock()
_default: tuple[Settings, AlephService] | None = None


def _default_service() -> AlephService:
    global _default
    current = settings_module.get()
    with _lock:
        if _default is not None and _default[0] is current:
            return _default[1]
        stale, _default = _default, (current, AlephService(current))
        service = _default[1]
    if stale is not None:  # settings were reloaded: the old connections go
        stale[1].close()
    return service


def close_default_service() -> None:
    """Close the service ``reactToAMQPMessage`` built (it is rebuilt when next needed)."""
    global _default
    with _lock:
        stale, _default = _default, None
    if stale is not None:
        stale[1].close()


atexit.register(close_default_service)


def reactToAMQPMessage(request: object, send_back: object = None) -> Message:
    """Answer ``request`` (a Search/Count/ISBNValidation/Export request) with its result.

    ``send_back`` is accepted for compatibility with the original signature, which passed
    a progress callback; it is not used.

    Raises:
        ValueError: ``request`` or its query is of an unknown type.
        AlephException, ExportException: the catalogue's work failed.
    """
    return _default_service().handle(request)
