"""Results: what the Aleph daemon answers, one type per request type."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from edeposit.amqp.aleph.alephrecord import AlephRecord
from edeposit.amqp.wire import kinds
from edeposit.amqp.wire.message import Message, WireField, register

__all__ = [
    "RESULT_TYPES",
    "CountResult",
    "ExportResult",
    "ISBNValidationResult",
    "SearchResult",
]


@register
@dataclasses.dataclass(frozen=True, slots=True)
class SearchResult(Message):
    """The records found, in the catalogue's set order."""

    records: list[AlephRecord]

    __wire__: ClassVar = {"records": WireField(kinds.message_list(lambda: (AlephRecord,)))}


@register
@dataclasses.dataclass(frozen=True, slots=True)
class CountResult(Message):
    """How many records match the query."""

    num_of_records: int

    __wire__: ClassVar = {"num_of_records": WireField(kinds.INT)}


@register
@dataclasses.dataclass(frozen=True, slots=True)
class ISBNValidationResult(Message):
    """Whether the ISBN was valid."""

    is_valid: bool

    __wire__: ClassVar = {"is_valid": WireField(kinds.BOOL)}


@register
@dataclasses.dataclass(frozen=True, slots=True)
class ExportResult(Message):
    """The ISBN of the publication the catalogue accepted."""

    ISBN: str

    __wire__: ClassVar = {"ISBN": WireField(kinds.STR)}


#: Every result class.
RESULT_TYPES: tuple[type[Message], ...] = (
    SearchResult,
    CountResult,
    ISBNValidationResult,
    ExportResult,
)
