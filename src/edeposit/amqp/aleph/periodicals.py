"""``EPeriodical``: a continuing resource (a periodical, an e-serial) as 2016's clients read it.

NKP's production system gave records whose ``FMT`` is ``SE`` a type of their own in
its last release (edeposit.amqp.aleph 1.9.3 to 1.9.5): an ``AlephRecord`` of the 2016
form carries an ``EPeriodical`` as its ``parsed_info`` where it carries an
``EPublication`` for any other record (docs/messages.md). The field names and their order
are that release's; the rules that read them from MARC are in
:mod:`edeposit.amqp.marc.periodical`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

from edeposit.amqp.wire import kinds
from edeposit.amqp.wire.message import Message, WireField, register

if TYPE_CHECKING:
    from edeposit.amqp.marc.record import MarcRecord

__all__ = ["EPeriodical"]

_TEXT = WireField(kinds.STR_LENIENT)
_TEXTS = WireField(kinds.STR_LIST_LENIENT)
_LIST_FIELDS = ("url", "ISSN", "invalid_ISSNs", "internal_url", "ISSNSouboruPublikaci")
_TEXT_FIELDS = (
    "nazev",
    "anotace",
    "podnazev",
    "id_number",
    "mistoVydani",
    "datumVydani",
    "nakladatelVydavatel",
)


@register
@dataclasses.dataclass(frozen=True, slots=True)
class EPeriodical(Message):
    """A continuing resource as the e-deposit front-end sees it (the original Czech names).

    Attributes:
        url: the producer's pages (``856 4 2``).
        ISSN: the valid ISSNs (``022 $a``).
        invalid_ISSNs: cancelled, incorrect or wrongly checked ISSNs (``022 $z $y``, ``$a``).
        nazev: the title (``245 $a``).
        anotace: the annotation (``520 $a``).
        podnazev: the subtitle (``245 $b``).
        id_number: the control number (``001``).
        mistoVydani: the places of publication, joined by ``", "``.
        datumVydani: the dates of publication (``2015-``: still published).
        internal_url: links to the e-deposit copy, Aleph, the deposited file.
        nakladatelVydavatel: the publishers, joined by ``", "``.
        ISSNSouboruPublikaci: the linking ISSN (ISSN-L, ``022 $l``).

    Empty values are ``""`` and ``[]``; ``None`` (the production system sent ``null``
    for ``anotace``) and a string where a list belongs are made so.
    """

    url: list[str]
    ISSN: list[str]
    invalid_ISSNs: list[str]
    nazev: str
    anotace: str
    podnazev: str
    id_number: str
    mistoVydani: str
    datumVydani: str
    internal_url: list[str]
    nakladatelVydavatel: str
    ISSNSouboruPublikaci: list[str]

    __wire__: ClassVar = {
        "url": _TEXTS,
        "ISSN": _TEXTS,
        "invalid_ISSNs": _TEXTS,
        "nazev": _TEXT,
        "anotace": _TEXT,
        "podnazev": _TEXT,
        "id_number": _TEXT,
        "mistoVydani": _TEXT,
        "datumVydani": _TEXT,
        "internal_url": _TEXTS,
        "nakladatelVydavatel": _TEXT,
        "ISSNSouboruPublikaci": _TEXTS,
    }

    def __post_init__(self) -> None:
        # Frozen: only the constructor may normalize; clean values are left as they are.
        for name in _LIST_FIELDS:
            value = getattr(self, name)
            if type(value) is not list or None in value:
                object.__setattr__(self, name, kinds.lenient_str_list(value))
        for name in _TEXT_FIELDS:
            if getattr(self, name) is None:
                object.__setattr__(self, name, "")

    @classmethod
    def from_marc(cls, record: MarcRecord) -> EPeriodical:
        """The periodical a MARC record describes (docs/messages.md).

        Raises:
            DocumentNotFoundException: the record is marked deleted.
        """
        # Imported here: the model stays free of lxml until a record is actually read.
        from edeposit.amqp.marc.periodical import periodical_values  # noqa: PLC0415

        return cls(**periodical_values(record))

    @classmethod
    def from_xml(cls, xml: str | bytes) -> EPeriodical:
        """The periodical of a record's XML: OAI-MARC or MARC 21 slim, or a reply holding one.

        Any record is read so, whatever its ``FMT``; an ``AlephRecord`` carries an
        ``EPeriodical`` only for a continuing resource.

        Raises:
            XMLError: the text is not (acceptable) XML.
            ValueError: it holds no MARC record.
            DocumentNotFoundException: the record is marked deleted.
        """
        from edeposit.amqp.marc.periodical import PERIODICAL_TAGS  # noqa: PLC0415
        from edeposit.amqp.marc.record import record_from_xml  # noqa: PLC0415 - see from_marc

        return cls.from_marc(record_from_xml(xml, PERIODICAL_TAGS))

    @classmethod
    def empty(cls, **values: Any) -> EPeriodical:
        """A periodical with every field empty except those given."""
        blank: dict[str, Any] = {name: [] for name in _LIST_FIELDS}
        blank.update(dict.fromkeys(_TEXT_FIELDS, ""))
        blank.update(values)
        return cls(**blank)
