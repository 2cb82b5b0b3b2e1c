"""Bibliographic values: :class:`Author` and :class:`EPublication`.

Three generations of clients read these (docs/messages.md). One ``EPublication`` holds what
all need: the 18 fields of the 2014 form, the three the 2015 form added
(``invalid_ISBN``, ``id_number``, ``anotace``), and every URL of the record in the
lists ``urls`` and ``internal_urls``. Its attributes ``url`` and ``internal_url`` stay
what they were for existing code, a string: the first URL of their list, or ``""``.
The codec writes the 2014 form (18 fields, those strings) or the 21-field form of 2015
and 2016 (``url`` and ``internal_url`` being the lists) as its options ask. The record
around it is :class:`~edeposit.amqp.aleph.alephrecord.AlephRecord`.

Publications sent for export may come in the looser shapes real clients used (a string
for a list, plain-string authors, nulls, ``cena`` = ``"None"``, either form); the
constructor and the decoder normalize them, so code downstream sees one shape only.
"""

from __future__ import annotations

import dataclasses
import operator
from typing import TYPE_CHECKING, Any, ClassVar, Self

from edeposit.amqp.wire import kinds
from edeposit.amqp.wire.message import Kind, Message, Reader, WireField, WireForm, register

if TYPE_CHECKING:
    from edeposit.amqp.marc.record import MarcRecord

__all__ = ["Author", "EPublication"]


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
        if None in (self.firstName, self.lastName, self.title):
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


def _authors(value: Any) -> list[Author]:
    if value is None:
        return []
    if isinstance(value, str | Author):
        value = [value]
    return [Author.from_string(item) if isinstance(item, str) else item for item in value]


def _links(first: Any, listed: Any) -> tuple[str, list[str]]:
    """A URL string and the list it leads, made consistent: ``(first of the list, list)``.

    Either may come as a string, a list (the 2015 form sends lists under ``url``) or
    ``None``. A list given for the first URL is the list; a string goes first in it.
    Empty strings (and nulls) are left out.
    """
    links = kinds.lenient_str_list(listed)
    if isinstance(first, list | tuple):
        links = [*kinds.lenient_str_list(first), *links]
    elif first:
        links = [first, *(link for link in links if link != first)]
    links = [link for link in links if link]  # a null or "" is no URL
    return (links[0] if links else ""), links


def _leads(first: Any, listed: Any) -> bool:
    """Whether the URL string ``first`` and the list ``listed`` are already consistent."""
    return (
        type(first) is str
        and type(listed) is list
        and first == (listed[0] if listed else "")
        and "" not in listed
    )


_LIST_FIELDS = ("ISBN", "ISBNSouboruPublikaci", "originaly", "invalid_ISBN")
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
    "mistoVydani",
    "id_number",
    "anotace",
)
#: Each URL attribute (a string) and the list it is the first of.
_LINKS = (("url", "urls"), ("internal_url", "internal_urls"))


_list_values = operator.attrgetter(*_LIST_FIELDS)
_text_values = operator.attrgetter(*_TEXT_FIELDS)
_AUTHOR_TYPE = frozenset({Author})


def _authors_kind() -> Kind:
    listed = kinds.message_list(lambda: (Author,), strings=Author.from_string)

    def convert(value: Any, reader: Reader) -> Any:
        if type(value) is str:  # one author given as a plain string
            return [Author.from_string(kinds.STR.convert(value, reader))] if value else []
        return listed.convert(value, reader)

    def schema() -> dict[str, Any]:
        return {"anyOf": [{"type": "string"}, listed.schema()]}

    return Kind("array of Author objects or strings", convert, list, schema=schema)


_TEXT = WireField(kinds.STR_LENIENT)
_TEXTS = WireField(kinds.STR_LIST_LENIENT)
_URLS = WireField(kinds.STR_OR_STR_LIST)


@register
@dataclasses.dataclass(frozen=True, slots=True)
class EPublication(Message):
    """A publication as the e-deposit front-end sees it (field names are the original Czech).

    Built like the original: ``EPublication(ISBN, nazev, …, internal_url)`` with the 18
    fields of 2014, plus ``invalid_ISBN``, ``id_number`` and ``anotace`` as keywords.
    ``url`` and ``internal_url`` are strings, the first of ``urls`` and
    ``internal_urls``; given a list (as the 2015 form sends), a constructor takes it as
    the whole list. Change URLs with :meth:`_replace`, which keeps the two in step.

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
    invalid_ISBN: list[str] = dataclasses.field(default_factory=list)
    id_number: str = ""
    anotace: str = ""
    #: Every URL of the producer (``856 4 2``); ``url`` is the first.
    urls: list[str] = dataclasses.field(default_factory=list)
    #: Every link to the e-deposit copy, Aleph or the file; ``internal_url`` the first.
    internal_urls: list[str] = dataclasses.field(default_factory=list)

    __wire__: ClassVar = {
        "ISBN": _TEXTS,
        "nazev": _TEXT,
        "podnazev": _TEXT,
        "vazba": _TEXT,
        "cena": _TEXT,
        "castDil": _TEXT,
        "nazevCasti": _TEXT,
        "nakladatelVydavatel": _TEXT,
        "datumVydani": _TEXT,
        "poradiVydani": _TEXT,
        "zpracovatelZaznamu": _TEXT,
        "format": _TEXT,
        "url": _URLS,
        "mistoVydani": _TEXT,
        "ISBNSouboruPublikaci": _TEXTS,
        "autori": WireField(_authors_kind()),
        "originaly": _TEXTS,
        "internal_url": _URLS,
        "invalid_ISBN": WireField(kinds.STR_LIST_LENIENT, list),
        "id_number": WireField(kinds.STR_LENIENT, ""),
        "anotace": WireField(kinds.STR_LENIENT, ""),
    }
    __wire_forms__: ClassVar = {
        "2014": WireForm(tuple(__wire__)[:18]),
        "2015": WireForm(
            tuple(__wire__),
            sources={"url": ("urls", list), "internal_url": ("internal_urls", list)},
        ),
    }
    __wire_forms__["2016"] = __wire_forms__["2015"]  # 2016 changed only the record around it

    def __post_init__(self) -> None:
        # Frozen: only the constructor may normalize; values already clean (the common
        # case, e.g. every record the catalogue returns) are left as they are, cheaply.
        normalize = object.__setattr__
        for name, value in zip(_LIST_FIELDS, _list_values(self), strict=True):
            if type(value) is not list or None in value:
                normalize(self, name, kinds.lenient_str_list(value))
        if None in _text_values(self):
            for name in _TEXT_FIELDS:
                if getattr(self, name) is None:
                    normalize(self, name, "")
        if self.cena == "None":  # what clients sent for "no price"
            normalize(self, "cena", "")
        authors = self.autori
        if type(authors) is not list or not set(map(type, authors)) <= _AUTHOR_TYPE:
            normalize(self, "autori", _authors(authors))
        for one, many in _LINKS:
            first, listed = getattr(self, one), getattr(self, many)
            if type(first) is str and listed == []:  # the 2014 form: one URL, or none
                if first:
                    normalize(self, many, [first])
            elif not _leads(first, listed):
                first, listed = _links(first, listed)
                normalize(self, one, first)
                normalize(self, many, listed)

    def _replace(self, **changes: Any) -> Self:
        """A copy with some fields changed; a new ``url`` (``internal_url``) replaces its
        list, a new ``urls`` (``internal_urls``) its first URL."""
        for one, many in _LINKS:
            if one in changes and many not in changes:
                changes[many] = []
            elif many in changes and one not in changes:
                changes[one] = ""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_marc(cls, record: MarcRecord) -> EPublication:
        """The publication a MARC record describes (docs/messages.md).

        Raises:
            DocumentNotFoundException: the record is marked deleted.
        """
        # Imported here: the model stays free of lxml until a record is actually read.
        from edeposit.amqp.marc.mapping import publication_values  # noqa: PLC0415

        values = publication_values(record)
        values["autori"] = [Author(*person) for person in values["autori"]]
        urls, internal_urls = values["urls"], values["internal_urls"]
        values["url"] = urls[0] if urls else ""
        values["internal_url"] = internal_urls[0] if internal_urls else ""
        return cls(**values)

    @classmethod
    def from_xml(cls, xml: str | bytes) -> EPublication:
        """The publication of a record's XML: OAI-MARC or MARC 21 slim, or a reply holding one.

        Raises:
            XMLError: the text is not (acceptable) XML.
            ValueError: it holds no MARC record.
            DocumentNotFoundException: the record is marked deleted.
        """
        from edeposit.amqp.marc.mapping import MAPPED_TAGS  # noqa: PLC0415
        from edeposit.amqp.marc.record import record_from_xml  # noqa: PLC0415 - see from_marc

        return cls.from_marc(record_from_xml(xml, MAPPED_TAGS))

    @classmethod
    def empty(cls, **values: Any) -> EPublication:
        """A publication with every field empty except those given."""
        blank: dict[str, Any] = {name: [] for name in (*_LIST_FIELDS, "autori")}
        blank.update(dict.fromkeys(_TEXT_FIELDS, ""))
        blank.update(url="", internal_url="")
        blank.update(values)
        return cls(**blank)
