"""The Aleph message model: requests, queries, results, records and errors.

Clients build a request, serialize it (:mod:`edeposit.amqp.wire.codec`) and publish it;
the Aleph daemon answers with the matching result::

    SearchRequest(ISBNQuery("80-251-0225-4"))  ->  SearchResult([AlephRecord(...)])
    SearchRequest(ISSNQuery("1213-8215"))      ->  SearchResult([AlephRecord(...)])
    CountRequest(AuthorQuery("Raymond"))       ->  CountResult(1)
    ISBNValidationRequest("80-251-0225-4")     ->  ISBNValidationResult(True)
    ExportRequest(EPublication(...))           ->  ExportResult("80-251-0225-4")

:func:`reactToAMQPMessage` answers a request in-process against the catalogue the
settings name. Failures travel as error replies whose ``exception_name`` is one of the
exception classes exported here.
"""

from typing import Any

from edeposit.amqp.aleph.alephrecord import AlephRecord
from edeposit.amqp.aleph.periodicals import EPeriodical
from edeposit.amqp.aleph.queries import (
    DEFAULT_BASE,
    DEFAULT_LIBRARY,
    QUERY_TYPES,
    AuthorQuery,
    DocumentQuery,
    GenericQuery,
    ICZQuery,
    ISBNQuery,
    ISSNQuery,
    PublisherQuery,
    TitleQuery,
)
from edeposit.amqp.aleph.records import Author, EPublication
from edeposit.amqp.aleph.requests import (
    REQUEST_TYPES,
    CountRequest,
    ExportRequest,
    ISBNValidationRequest,
    SearchRequest,
)
from edeposit.amqp.aleph.results import (
    RESULT_TYPES,
    CountResult,
    ExportResult,
    ISBNValidationResult,
    SearchResult,
)
from edeposit.amqp.aleph.semantic import EPeriodicalSemanticInfo, SemanticInfo
from edeposit.amqp.errors import (
    AlephException,
    DocumentNotFoundException,
    ExportException,
    ExportRejectedException,
    InvalidAlephBaseException,
    InvalidAlephFieldException,
    InvalidISBNException,
    InvalidISSNError,
    LibraryNotFoundException,
)

__all__ = [
    "DEFAULT_BASE",
    "DEFAULT_LIBRARY",
    "QUERY_TYPES",
    "REQUEST_TYPES",
    "RESULT_TYPES",
    "AlephException",
    "AlephRecord",
    "Author",
    "AuthorQuery",
    "CountRequest",
    "CountResult",
    "DocumentNotFoundException",
    "DocumentQuery",
    "EPeriodical",
    "EPeriodicalSemanticInfo",
    "EPublication",
    "ExportException",
    "ExportRejectedException",
    "ExportRequest",
    "ExportResult",
    "GenericQuery",
    "ICZQuery",
    "ISBNQuery",
    "ISBNValidationRequest",
    "ISBNValidationResult",
    "ISSNQuery",
    "InvalidAlephBaseException",
    "InvalidAlephFieldException",
    "InvalidISBNException",
    "InvalidISSNError",
    "LibraryNotFoundException",
    "PublisherQuery",
    "SearchRequest",
    "SearchResult",
    "SemanticInfo",
    "TitleQuery",
    "reactToAMQPMessage",
]


def __getattr__(name: str) -> Any:
    # The contract's entry point talks to the catalogue: imported on first use, so the
    # message model never pulls in the HTTP client (and the catalogue may import it).
    if name == "reactToAMQPMessage":
        from edeposit.amqp.catalogue.service import reactToAMQPMessage  # noqa: PLC0415

        return reactToAMQPMessage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
