"""Queries: what to look for in the catalogue. Wrapped in a Search or Count request.

A query left without ``base`` (or a ``DocumentQuery`` without ``library``) takes the
configured default (``ALEPH_DEFAULT_BASE``, ``ALEPH_DEFAULT_LIBRARY``; ``nkc`` and
``NKC01`` unless overridden), both in Python and on the wire.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from edeposit.amqp import settings
from edeposit.amqp.wire import kinds
from edeposit.amqp.wire.message import Message, WireField, register

__all__ = [
    "QUERY_TYPES",
    "AuthorQuery",
    "DocumentQuery",
    "GenericQuery",
    "ICZQuery",
    "ISBNQuery",
    "PublisherQuery",
    "Query",
    "TitleQuery",
]


class SettingDefault(str):
    """A default argument that stands for a setting's value at construction time."""

    setting: str

    def __new__(cls, setting: str, shown: str) -> SettingDefault:
        default = super().__new__(cls, shown)
        default.setting = setting
        return default


DEFAULT_BASE = SettingDefault("ALEPH_DEFAULT_BASE", "nkc")
DEFAULT_LIBRARY = SettingDefault("ALEPH_DEFAULT_LIBRARY", "NKC01")


def _default_base() -> str:
    return settings.get().ALEPH_DEFAULT_BASE


def _default_library() -> str:
    return settings.get().ALEPH_DEFAULT_LIBRARY


class Query(Message):
    """Base of the query classes: resolves settings-backed defaults when built."""

    __slots__ = ()

    def __post_init__(self) -> None:
        current = None
        for name in self._fields:
            value = getattr(self, name)
            if type(value) is SettingDefault:
                current = current or settings.get()
                object.__setattr__(self, name, getattr(current, value.setting))


_BASE = WireField(kinds.STR, _default_base)


@register
@dataclasses.dataclass(frozen=True, slots=True)
class ISBNQuery(Query):
    """Records with this ISBN (ISBN-10 or ISBN-13, hyphens allowed); Aleph index ``sbn``."""

    ISBN: str
    base: str = DEFAULT_BASE

    __wire__: ClassVar = {"ISBN": WireField(kinds.STR), "base": _BASE}


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
        "library": WireField(kinds.STR, _default_library),
    }


@register
@dataclasses.dataclass(frozen=True, slots=True)
class ICZQuery(Query):
    """Records with this identification number (field 001, e.g. ``cpk20051492461``)."""

    icz: str
    base: str = DEFAULT_BASE

    __wire__: ClassVar = {"icz": WireField(kinds.STR), "base": _BASE}


#: Every query class, in the order of the original documentation.
QUERY_TYPES: tuple[type[Query], ...] = (
    ISBNQuery,
    AuthorQuery,
    PublisherQuery,
    TitleQuery,
    GenericQuery,
    DocumentQuery,
    ICZQuery,
)
