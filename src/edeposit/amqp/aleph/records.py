"""Bibliographic values: :class:`Author`, :class:`EPublication` and :class:`AlephRecord`.

``EPublication`` always has the 18 fields of the original wire format (DESIGN §3.3).
Publications sent for export may come in the looser shapes real clients used (a string
for a list, plain-string authors, nulls, ``cena`` = ``"None"``, the 21-field form); the
constructor and the decoder normalize them, so code downstream sees one shape only.
"""

from __future__ import annotations

import dataclasses
import operator
from typing import TYPE_CHECKING, Any, ClassVar

from edeposit.amqp.wire import kinds
from edeposit.amqp.wire.message import Kind, Message, Reader, WireField, register

if TYPE_CHECKING:
    from edeposit.amqp.marc.record import MarcRecord

__all__ = ["AlephRecord", "Author", "EPublication"]


@register
@dataclasses.dataclass(frozen=True, slots=True)
class Author(Message):
    """A person: ``Author("Eric S.", "Raymond", "")``; ``title`` holds ``$c`` (e.g. ``Ing.``)."""

    firstName: str
    lastName: str
    title: str = ""

    __wire__: ClassVar = {
        "firstName": WireField(kinds.STR_LENIENT),
        "lastName": WireField(kinds.STR_LENIENT),
        "title": WireField(kinds.STR_LENIENT, ""),
    }

    def __post_init__(self) -> None:
        for name in self._fields:  # ``None`` from a client's missing value becomes ""
            if getattr(self, name) is None:
                object.__setattr__(self, name, "")

    @classmethod
    def from_string(cls, name: str) -> Author:
        """``"Surname, Forename"`` (the catalogue's order) → ``Author(Forename, Surname)``."""
        surname, comma, forename = name.partition(",")
        if not comma:
            return cls("", name.strip())
        return cls(forename.strip(), surname.strip())

    def to_string(self) -> str:
        """The catalogue's ``"Surname, Forename"`` form."""
        if not self.firstName:
            return self.lastName
        return f"{self.lastName}, {self.firstName}"


def _str_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return ["" if item is None else item for item in value]


def _authors(value: Any) -> list[Author]:
    if value is None:
        return []
    if isinstance(value, str | Author):
        value = [value]
    return [Author.from_string(item) if isinstance(item, str) else item for item in value]


_LIST_FIELDS = ("ISBN", "ISBNSouboruPublikaci", "originaly")
_TEXT_FIELDS = (
    "nazev",
    "podnazev",
    "vazba",
    "cena",
    "castDil",
    "nazevCasti",
    "nakladatelVydavatel",
    "datumVydani",
    "poradiVydani",
    "zpracovatelZaznamu",
    "format",
    "url",
    "mistoVydani",
    "internal_url",
)


_list_values = operator.attrgetter(*_LIST_FIELDS)
_text_values = operator.attrgetter(*_TEXT_FIELDS)
_AUTHOR_TYPE = frozenset({Author})


def _authors_kind() -> Kind:
    listed = kinds.message_list(lambda: (Author,), strings=Author.from_string)

    def convert(value: Any, reader: Reader) -> Any:
        if type(value) is str:  # one author given as a plain string
            return [Author.from_string(kinds.STR.convert(value, reader))] if value else []
        return listed.convert(value, reader)

    return Kind("array of Author objects or strings", convert, list)


@register
@dataclasses.dataclass(frozen=True, slots=True)
class EPublication(Message):
    """A publication as the e-deposit front-end sees it (field names are the original Czech).

    Empty values are ``""`` and ``[]``, never ``None``; ``autori`` holds :class:`Author`.
    """

    ISBN: list[str]
    nazev: str
    podnazev: str
    vazba: str
    cena: str
    castDil: str
    nazevCasti: str
    nakladatelVydavatel: str
    datumVydani: str
    poradiVydani: str
    zpracovatelZaznamu: str
    format: str
    url: str
    mistoVydani: str
    ISBNSouboruPublikaci: list[str]
    autori: list[Author]
    originaly: list[str]
    internal_url: str

    __wire__: ClassVar = {
        **{name: WireField(kinds.STR_LIST_LENIENT) for name in _LIST_FIELDS},
        **{name: WireField(kinds.STR_LENIENT) for name in _TEXT_FIELDS},
        "autori": WireField(_authors_kind()),
    }
    #: Fields of the later 21-field form: accepted on input, not kept.
    __wire_legacy__: ClassVar = frozenset({"invalid_ISBN", "id_number", "anotace"})

    def __post_init__(self) -> None:
        # Frozen: only the constructor may normalize; values already clean (the common
        # case, e.g. every record the catalogue returns) are left as they are, cheaply.
        normalize = object.__setattr__
        for name, value in zip(_LIST_FIELDS, _list_values(self), strict=True):
            if type(value) is not list or None in value:
                normalize(self, name, _str_list(value))
        if None in _text_values(self):
            for name in _TEXT_FIELDS:
                if getattr(self, name) is None:
                    normalize(self, name, "")
        if self.cena == "None":  # what clients sent for "no price"
            normalize(self, "cena", "")
        authors = self.autori
        if type(authors) is not list or not set(map(type, authors)) <= _AUTHOR_TYPE:
            normalize(self, "autori", _authors(authors))

    @classmethod
    def from_marc(cls, record: MarcRecord) -> EPublication:
        """The publication a MARC record describes (DESIGN §3.3).

        Raises:
            DocumentNotFoundException: the record is marked deleted.
        """
        # Imported here: the model stays free of lxml until a record is actually read.
        from edeposit.amqp.marc.mapping import publication_values  # noqa: PLC0415

        values = publication_values(record)
        values["autori"] = [Author(*person) for person in values["autori"]]
        return cls(**values)

    @classmethod
    def from_xml(cls, xml: str | bytes) -> EPublication:
        """The publication of a record's XML: OAI-MARC or MARC 21 slim, or a reply holding one.

        Raises:
            XMLError: the text is not (acceptable) XML.
            ValueError: it holds no MARC record.
            DocumentNotFoundException: the record is marked deleted.
        """
        from edeposit.amqp.marc.mapping import MAPPED_TAGS  # noqa: PLC0415 - see from_marc
        from edeposit.amqp.marc.record import read_record  # noqa: PLC0415
        from edeposit.amqp.marc.safe_xml import parse_xml  # noqa: PLC0415

        data = xml.encode("utf-8") if isinstance(xml, str) else xml
        return cls.from_marc(read_record(parse_xml(data), MAPPED_TAGS))

    @classmethod
    def empty(cls, **values: Any) -> EPublication:
        """A publication with every field empty except those given."""
        blank: dict[str, Any] = {name: [] for name in (*_LIST_FIELDS, "autori")}
        blank.update(dict.fromkeys(_TEXT_FIELDS, ""))
        blank.update(values)
        return cls(**blank)


def _doc_number(value: Any, reader: Reader) -> int:
    if type(value) is str and value.isascii() and value.isdigit():
        return int(value)
    return kinds.INT.convert(value, reader)  # type: ignore[no-any-return]


@register
@dataclasses.dataclass(frozen=True, slots=True)
class AlephRecord(Message):
    """One catalogue record: where it lives, its XML as Aleph sent it, and its parsed values."""

    base: str
    library: str
    docNumber: int
    xml: str
    epublication: EPublication

    __wire__: ClassVar = {
        "base": WireField(kinds.STR_LENIENT),
        "library": WireField(kinds.STR_LENIENT),
        "docNumber": WireField(Kind("integer", _doc_number, int)),
        "xml": WireField(kinds.STR),
        "epublication": WireField(kinds.message(lambda: (EPublication,))),
    }
