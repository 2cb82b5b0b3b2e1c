"""Requests → results: which work answers which request, and ``reactToAMQPMessage``.

:func:`answer` maps each of the four request types to its result through a table, so an
unknown type is a clear ``ValueError``, never a silent ``None``. ``reactToAMQPMessage``
is the original entry point: it answers with a process-wide
:class:`~edeposit.amqp.aleph.service.AlephService` built lazily from the current settings
(and rebuilt after :func:`edeposit.amqp.settings.reload`, which closes the old one: calls
still running on it then fail; services that reload should own an ``AlephService``).
Importing this module does not import the HTTP stack; the service is imported on first use.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from edeposit.amqp import settings
from edeposit.amqp.aleph.isbn import is_valid_isbn
from edeposit.amqp.aleph.message import Message
from edeposit.amqp.aleph.queries import ISBNQuery, Query
from edeposit.amqp.aleph.records import AlephRecord, EPublication
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

if TYPE_CHECKING:
    from edeposit.amqp.aleph.service import AlephService
    from edeposit.amqp.config import Settings

__all__ = ["ANSWERS", "Worker", "answer", "close_default_service", "reactToAMQPMessage"]


class Worker(Protocol):
    """What answering needs: the catalogue work of :class:`AlephService`."""

    def search(self, query: Query) -> list[AlephRecord]: ...

    def count(self, query: Query) -> int: ...

    def export(self, epublication: EPublication) -> str: ...


def _isbn_to_validate(value: object) -> str:
    if isinstance(value, ISBNQuery):
        return value.ISBN
    if isinstance(value, str):
        return value
    raise ValueError(f"ISBNValidationRequest.ISBN must be a string or an ISBNQuery, not {value!r}")


#: Request type → how it is answered.
ANSWERS: dict[type[object], Callable[[Worker, Any], Message]] = {
    SearchRequest: lambda worker, request: SearchResult(worker.search(request.query)),
    CountRequest: lambda worker, request: CountResult(worker.count(request.query)),
    ISBNValidationRequest: lambda worker, request: ISBNValidationResult(
        is_valid_isbn(_isbn_to_validate(request.ISBN))
    ),
    ExportRequest: lambda worker, request: ExportResult(worker.export(request.epublication)),
}


def answer(worker: Worker, request: object) -> Message:
    """The result for ``request``.

    Raises:
        ValueError: ``request`` (or its query) is of a type nobody answers.
        AlephException, ExportException: the catalogue's work failed.
    """
    try:
        respond = ANSWERS[type(request)]
    except KeyError:
        names = ", ".join(cls.__name__ for cls in ANSWERS)
        raise ValueError(
            f"cannot answer a {type(request).__name__}; requests are {names}"
        ) from None
    return respond(worker, request)


_lock = threading.Lock()
_default: tuple[Settings, AlephService] | None = None


def _default_service() -> AlephService:
    global _default
    current = settings.get()
    with _lock:
        if _default is not None and _default[0] is current:
            return _default[1]
        from edeposit.amqp.aleph.service import AlephService  # noqa: PLC0415 - see module doc

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
    return answer(_default_service(), request)
