"""The emulator's MARC value types and their compact storage form.

A record is a tuple of :class:`Field` in the order its source gave them. Control fields
(``LDR``, ``001``…, OAI-MARC ``fixfield``) hold a value; data fields hold indicators and
subfields. The index stores records *packed* into one string with the ISO 2709
separators, which is several times smaller and faster to read back than XML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["Field", "Fields", "pack", "sanitize", "subfield_values", "unpack"]

_FIELD_SEP = "\x1e"
_TAG_SEP = "\x1d"
_SUB_SEP = "\x1f"
#: Characters XML 1.0 cannot carry (and the packing separators): dropped at load.
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class Field:
    """One MARC field: a control field (``value``) or a data field (indicators, subfields)."""

    tag: str
    value: str = ""
    ind1: str = " "
    ind2: str = " "
    subfields: tuple[tuple[str, str], ...] = ()
    control: bool = False


Fields = tuple[Field, ...]


def sanitize(text: str) -> str:
    """``text`` without characters that XML 1.0 cannot carry."""
    return _INVALID.sub("", text) if _INVALID.search(text) else text


def pack(fields: Iterable[Field]) -> str:
    """One string holding ``fields``; :func:`unpack` gives them back."""
    parts = []
    for field in fields:
        if field.control:
            parts.append(f"F{field.tag}{_TAG_SEP}{field.value}")
        else:
            subfields = "".join(f"{_SUB_SEP}{code}{value}" for code, value in field.subfields)
            parts.append(f"V{field.tag}{_TAG_SEP}{field.ind1}{field.ind2}{subfields}")
    return _FIELD_SEP.join(parts)


def unpack(packed: str) -> Fields:
    """The fields that :func:`pack` stored in ``packed``."""
    fields = []
    for part in packed.split(_FIELD_SEP) if packed else ():
        tag, _, rest = part[1:].partition(_TAG_SEP)
        if part[0] == "F":
            fields.append(Field(tag, rest, control=True))
        else:
            subfields = tuple((chunk[:1], chunk[1:]) for chunk in rest[2:].split(_SUB_SEP)[1:])
            fields.append(Field(tag, "", rest[0], rest[1], subfields))
    return tuple(fields)


def subfield_values(fields: Iterable[Field], tags: Iterable[str], codes: str) -> Iterator[str]:
    """Values of subfields ``codes`` of the data fields tagged ``tags``, in record order."""
    wanted = frozenset(tags)
    for field in fields:
        if field.tag in wanted and not field.control:
            for code, value in field.subfields:
                if code in codes:
                    yield value
