"""``AlephRecord``: one catalogue record, and every view of it the generations of clients read.

docs/messages.md: the 2014 form carries ``base``, ``library``, ``docNumber``, ``xml`` and an
``epublication``; the 2015 form adds the record's ``semantic_info``; the 2016 form names
the publication ``parsed_info`` and gives a continuing resource (``FMT`` ``SE``) an
:class:`EPeriodical` and an :class:`EPeriodicalSemanticInfo` in place of the
``EPublication`` and ``SemanticInfo`` that any other record keeps. One ``AlephRecord``
holds all four views, so that one record is written in whichever form is asked for.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

from edeposit.amqp.aleph.periodicals import EPeriodical
from edeposit.amqp.aleph.records import EPublication
from edeposit.amqp.aleph.semantic import EPeriodicalSemanticInfo, SemanticInfo
from edeposit.amqp.errors import DocumentNotFoundException
from edeposit.amqp.wire import kinds
from edeposit.amqp.wire.message import Kind, Message, Reader, WireField, WireForm, register

if TYPE_CHECKING:
    from edeposit.amqp.marc.record import MarcRecord

__all__ = ["AlephRecord"]


def _doc_number(value: Any, reader: Reader) -> int:
    if type(value) is str and value.isascii() and value.isdigit():
        return int(value)
    return kinds.INT.convert(value, reader)  # type: ignore[no-any-return]


def _doc_number_schema() -> dict[str, Any]:
    # "(?!\n)": Python's "$" also matches before a final newline; "12\n" is no number.
    return {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": r"^[0-9]+$(?!\n)"}]}


def _semantic_info_kind() -> Kind:
    nested = kinds.message(lambda: (SemanticInfo, EPeriodicalSemanticInfo))

    def convert(value: Any, reader: Reader) -> Any:
        return None if value is None else nested.convert(value, reader)

    def schema() -> dict[str, Any]:
        return {"anyOf": [nested.schema(), {"type": "null"}]}

    return Kind("SemanticInfo object or null", convert, dict, schema=schema)


#: What an ``AlephRecord`` reads from its ``xml`` when it was not given: its views.
_VIEWS = ("epublication", "semantic_info", "periodical", "periodical_semantic_info")
#: Marks a periodical view that was not given (``None`` says: no continuing resource).
_DERIVED: Any = object()


def _is_set(record: AlephRecord, name: str) -> bool:
    try:
        object.__getattribute__(record, name)
    except AttributeError:  # an empty slot
        return False
    return True


def _views(record: MarcRecord) -> dict[str, Any]:
    """The values of every view of a record; a deleted one has empty bibliographic values."""
    # Imported here: the model stays free of lxml until a record is actually read.
    from edeposit.amqp.marc.periodical import is_continuing  # noqa: PLC0415

    try:
        publication = EPublication.from_marc(record)
    except DocumentNotFoundException:
        publication = EPublication.empty()
    views: dict[str, Any] = {
        "epublication": publication,
        "semantic_info": SemanticInfo.from_marc(record),
        "periodical": None,
        "periodical_semantic_info": None,
    }
    if is_continuing(record):
        try:
            views["periodical"] = EPeriodical.from_marc(record)
        except DocumentNotFoundException:
            views["periodical"] = EPeriodical.empty()
        views["periodical_semantic_info"] = EPeriodicalSemanticInfo.from_marc(record)
    return views


@register
@dataclasses.dataclass(frozen=True, slots=True, init=False)
class AlephRecord(Message):
    """One catalogue record: where it lives, its XML as Aleph sent it, and its parsed values.

    Built as each generation's clients built it: ``AlephRecord(base, library,
    docNumber, xml, epublication)`` (2014), with ``semantic_info`` (2015), or
    ``AlephRecord(base, library, docNumber, xml, parsed_info, semantic_info)`` (2016,
    where ``parsed_info`` is an :class:`EPeriodical` and ``semantic_info`` an
    :class:`EPeriodicalSemanticInfo` for a continuing resource). It holds every view
    that any generation writes:

    - ``epublication``: the record as an :class:`EPublication` (every record, a
      continuing resource too: the 2014 and 2015 forms carry it);
    - ``semantic_info``: its :class:`SemanticInfo`;
    - ``periodical``, ``periodical_semantic_info``: a continuing resource's
      :class:`EPeriodical` and :class:`EPeriodicalSemanticInfo`, ``None`` for any other
      record; :attr:`parsed_info` and :attr:`parsed_semantic_info` give what the 2016
      form writes.

    A view not given is read from ``xml`` when first asked for, as the original did
    (XML that holds no record, or a deleted one, gives empty values).
    """

    base: str
    library: str
    docNumber: int
    xml: str
    epublication: EPublication = None  # type: ignore[assignment]
    semantic_info: SemanticInfo = None  # type: ignore[assignment]
    periodical: EPeriodical | None = None
    periodical_semantic_info: EPeriodicalSemanticInfo | None = None

    __wire__: ClassVar = {
        "base": WireField(kinds.STR_LENIENT),
        "library": WireField(kinds.STR_LENIENT),
        "docNumber": WireField(Kind("integer", _doc_number, int, schema=_doc_number_schema)),
        "xml": WireField(kinds.STR),
        "epublication": WireField(
            kinds.message(lambda: (EPublication, EPeriodical)), aliases=("parsed_info",)
        ),
        "semantic_info": WireField(_semantic_info_kind(), None),
    }
    __wire_forms__: ClassVar = {
        "2014": WireForm(tuple(__wire__)[:5]),
        "2015": WireForm(tuple(__wire__)),
        "2016": WireForm(
            ("base", "library", "docNumber", "xml", "parsed_info", "semantic_info"),
            sources={
                "parsed_info": ("parsed_info", dict),
                "semantic_info": ("parsed_semantic_info", dict),
            },
        ),
    }

    def __init__(  # noqa: PLR0917 - the original's positional fields
        self,
        base: str,
        library: str,
        docNumber: int,
        xml: str,
        epublication: EPublication | EPeriodical | None = None,
        semantic_info: SemanticInfo | EPeriodicalSemanticInfo | None = None,
        *,
        parsed_info: EPublication | EPeriodical | None = None,
        periodical: EPeriodical | None = _DERIVED,
        periodical_semantic_info: EPeriodicalSemanticInfo | None = _DERIVED,
    ) -> None:
        if parsed_info is not None:
            if epublication is not None:
                raise TypeError("AlephRecord takes epublication or parsed_info, not both")
            epublication = parsed_info
        if isinstance(epublication, EPeriodical):  # 2016: a continuing resource's view
            epublication, periodical = None, epublication
        if isinstance(semantic_info, EPeriodicalSemanticInfo):
            semantic_info, periodical_semantic_info = None, semantic_info
        for name, value in zip(self._fields[:4], (base, library, docNumber, xml), strict=True):
            object.__setattr__(self, name, value)
        # A view not given leaves its slot empty: the first read derives it (__getattr__).
        if epublication is not None:
            object.__setattr__(self, "epublication", epublication)
        if semantic_info is not None:
            object.__setattr__(self, "semantic_info", semantic_info)
        if periodical is not _DERIVED:  # None: known to be no continuing resource
            object.__setattr__(self, "periodical", periodical)
        if periodical_semantic_info is not _DERIVED:
            object.__setattr__(self, "periodical_semantic_info", periodical_semantic_info)

    @classmethod
    def from_marc(
        cls,
        base: str,
        library: str,
        docNumber: int,
        xml: str,
        record: MarcRecord,
    ) -> AlephRecord:
        """The record with every view read from ``record`` (the MARC record of ``xml``,
        read with ``marc.periodical.RECORD_TAGS`` at least).

        Raises:
            DocumentNotFoundException: the record is marked deleted.
        """
        # Imported here: the model stays free of lxml until a record is actually read.
        from edeposit.amqp.marc.periodical import is_continuing  # noqa: PLC0415

        publication = EPublication.from_marc(record)
        semantic_info = SemanticInfo.from_marc(record)
        continuing = is_continuing(record)
        return cls(
            base,
            library,
            docNumber,
            xml,
            publication,
            semantic_info,
            periodical=EPeriodical.from_marc(record) if continuing else None,
            periodical_semantic_info=(
                EPeriodicalSemanticInfo.from_marc(record) if continuing else None
            ),
        )

    @property
    def parsed_info(self) -> EPublication | EPeriodical:
        """The record as 2016's clients read it: the periodical of a continuing resource,
        else the publication."""
        periodical = self.periodical
        return self.epublication if periodical is None else periodical

    @property
    def parsed_semantic_info(self) -> SemanticInfo | EPeriodicalSemanticInfo:
        """The workflow state as 2016's clients read it (their ``semantic_info``)."""
        periodical_info = self.periodical_semantic_info
        return self.semantic_info if periodical_info is None else periodical_info

    def __getattr__(self, name: str) -> Any:
        if name not in _VIEWS:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        missing = [view for view in _VIEWS if not _is_set(self, view)]
        derived = self._read_views()
        for view in missing:
            object.__setattr__(self, view, derived[view])
        return object.__getattribute__(self, name)

    def _read_views(self) -> dict[str, Any]:
        from edeposit.amqp.marc.periodical import RECORD_TAGS  # noqa: PLC0415 - see from_marc
        from edeposit.amqp.marc.record import record_from_xml  # noqa: PLC0415

        try:
            return _views(record_from_xml(self.xml, RECORD_TAGS))
        except ValueError:  # XMLError too: no record to read
            return {
                "epublication": EPublication.empty(),
                "semantic_info": SemanticInfo(),
                "periodical": None,
                "periodical_semantic_info": None,
            }
