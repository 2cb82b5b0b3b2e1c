"""Requests: what a client asks the Aleph daemon to do; each has one result type."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from edeposit.amqp.aleph.queries import QUERY_TYPES, ISBNQuery, Query
from edeposit.amqp.aleph.records import EPublication
from edeposit.amqp.wire import kinds
from edeposit.amqp.wire.message import Message, WireField, register

__all__ = [
    "REQUEST_TYPES",
    "CountRequest",
    "ExportRequest",
    "ISBNValidationRequest",
    "SearchRequest",
]

_QUERY = WireField(kinds.message(lambda: QUERY_TYPES))


@register
@dataclasses.dataclass(frozen=True, slots=True)
class SearchRequest(Message):
    """Find the records matching ``query``; answered with a ``SearchResult``."""

    query: Query

    __wire__: ClassVar = {"query": _QUERY}


@register
@dataclasses.dataclass(frozen=True, slots=True)
class CountRequest(Message):
    """Count the records matching ``query`` (one catalogue call); answered with ``CountResult``."""

    query: Query

    __wire__: ClassVar = {"query": _QUERY}


@register
@dataclasses.dataclass(frozen=True, slots=True)
class ISBNValidationRequest(Message):
    """Is ``ISBN`` (a string or an ``ISBNQuery``) valid? Answered with ``ISBNValidationResult``."""

    ISBN: str | ISBNQuery

    __wire__: ClassVar = {"ISBN": WireField(kinds.str_or_message(lambda: (ISBNQuery,)))}


@register
@dataclasses.dataclass(frozen=True, slots=True)
class ExportRequest(Message):
    """Send a new publication to the catalogue's e-deposit form; answered with ``ExportResult``."""

    epublication: EPublication

    __wire__: ClassVar = {"epublication": WireField(kinds.message(lambda: (EPublication,)))}


#: Every request class.
REQUEST_TYPES: tuple[type[Message], ...] = (
    SearchRequest,
    CountRequest,
    ISBNValidationRequest,
    ExportRequest,
)
