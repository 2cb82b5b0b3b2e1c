"""Queries: what to look for in the catalogue. Wrapped in a Search or Count request.

Built in Python without ``base`` (or a ``DocumentQuery`` without ``library``), a query
takes the contract's constants, ``nkc`` and ``NKC01``. Decoded without them, it takes
the defaults whoever decodes passes to the codec: the contract's ``deserialize`` those
of the process settings (``ALEPH_DEFAULT_BASE``, ``ALEPH_DEFAULT_LIBRARY``), a daemon
those of its own settings. The model itself never reads settings.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from edeposit.amqp.wire import kinds
from edeposit.amqp.wire.message import Message, WireField, register

__all__ = [
    "DEFAULT_BASE",
    "DEFAULT_LIBRARY",
    "QUERY_TYPES",
    "AuthorQuery",
    "DocumentQuery",
    "GenericQuery",
    "ICZQuery",
    "ISBNQuery",
    "ISSNQuery",
    "PublisherQuery",
    "Query",
    "TitleQuery",
]


#: The catalogue base a query searches unless it names one (the contract's constant).
DEFAULT_BASE = "nkc"
#: The library a ``DocumentQuery`` looks in unless it names one.
DEFAULT_LIBRARY = "NKC01"


class Query(Message):
    """Base of the query classes."""

    __slots__ = ()


#: Left out on the wire, a query's base is the decoding caller's default ``"base"``.
_BASE = WireField(kinds.STR, default_from="base")


@register
@dataclasses.dataclass(frozen=True, slots=True)
class ISBNQuery(Query):
    """Records with this ISBN (ISBN-10 or ISBN-13, hyphens allowed); Aleph index ``sbn``."""

    ISBN: str
    base: str = DEFAULT_BASE

    __wire__: ClassVar = {"ISBN": WireField(kinds.STR), "base": _BASE}


@register
@dataclasses.dataclass(frozen=True, slots=True)
class ISSNQuery(Query):
    """Records with this ISSN (``1213-8215``, a continuing resource's); Aleph index ``ssn``.

    The daemon checks the ISSN's form and check digit before it asks the catalogue: an
    invalid one is answered with ``InvalidISSNError``. (The production clients searched
    ISSNs as ``GenericQuery(base, issn, False, "ssn")``, which still works, unchecked.)
    """

    ISSN: str
    base: str = DEFAULT_BASE

    __wire__: ClassVar = {"ISSN": WireField(kinds.STR), "base": _BASE}


@register
@dataclasses.dataclass(frozen=True, slots=True)
class AuthorQuery(Query):
    """Records by this author (person or corporate body); Aleph index ``wau``."""

    author: str
    base: str = DEFAULT_BASE

    __wire__: ClassVar = {"author": WireField(kinds.STR), "base": _BASE}


@register
@dataclasses.dataclass(frozen=True, slots=True)
class PublisherQuery(Query):
    """Records from this publisher; Aleph index ``wpb``."""

    publisher: str
    base: str = DEFAULT_BASE

    __wire__: ClassVar = {"publisher": WireField(kinds.STR), "base": _BASE}


@register
@dataclasses.dataclass(frozen=True, slots=True)
class TitleQuery(Query):
    """Records whose title has these words; Aleph index ``wtl``."""

    title: str
    base: str = DEFAULT_BASE

    __wire__: ClassVar = {"title": WireField(kinds.STR), "base": _BASE}


@register
@dataclasses.dataclass(frozen=True, slots=True)
class GenericQuery(Query):
    """``phrase`` searched in any index code ``field`` (``wrd``, ``wyr``, ``cnb``…).

    ``considerSimilar`` is kept for compatibility; Aleph ignores it.
    """

    base: str
    phrase: str
    considerSimilar: bool
    field: str

    __wire__: ClassVar = {
        "base": _BASE,
        "phrase": WireField(kinds.STR),
        "considerSimilar": WireField(kinds.BOOL, False),
        "field": WireField(kinds.STR),
    }


@register
@dataclasses.dataclass(frozen=True, slots=True)
class DocumentQuery(Query):
    """The one record with this system number (``doc_id``, e.g. ``1492461``) in ``library``."""

    doc_id: str | int
    library: str = DEFAULT_LIBRARY

    __wire__: ClassVar = {
        "doc_id": WireField(kinds.DOC_ID),
        "library": WireField(kinds.STR, default_from="library"),
    }


@register
@dataclasses.dataclass(frozen=True, slots=True)
class ICZQuery(Query):
    """Records with this identification number (field 001, e.g. ``cpk20051492461``)."""

    icz: str
    base: str = DEFAULT_BASE

    __wire__: ClassVar = {"icz": WireField(kinds.STR), "base": _BASE}


#: Every query class, in the order of the original documentation, then the later ones.
QUERY_TYPES: tuple[type[Query], ...] = (
    ISBNQuery,
    AuthorQuery,
    PublisherQuery,
    TitleQuery,
    GenericQuery,
    DocumentQuery,
    ICZQuery,
    ISSNQuery,  # for new clients; the production clients used GenericQuery's "ssn"
)
