"""A MARC record read from either XML dialect Aleph speaks: OAI-MARC or MARC 21 slim.

OAI-MARC (``find_doc``, ``present``) writes ``<fixfield id>``, ``<varfield id i1 i2>`` and
``<subfield label>``; MARC 21 slim (``ill_get_doc``) writes ``<leader>``,
``<controlfield tag>``, ``<datafield tag ind1 ind2>`` and ``<subfield code>``, under any
namespace (the catalogue's is ``http://www.loc.gov/MARC21/slim/`` with a trailing slash)
or none. Both become one :class:`MarcRecord`; field order is kept but never relied on.

Hand-written over lxml rather than pymarc's reader: pymarc has no OAI-MARC dialect and
its SAX-based XML reader is several times slower than walking an lxml tree once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import NamedTuple

from lxml import etree

from edeposit.amqp.marc.safe_xml import local_name, parse_xml

__all__ = [
    "DataField",
    "MarcRecord",
    "find_record_element",
    "iter_record_elements",
    "read_record",
    "record_from_xml",
]

_BLANK = " "


class DataField(NamedTuple):
    """One variable field: tag, indicators (blank is ``" "``) and ``(code, value)`` pairs."""

    tag: str
    ind1: str
    ind2: str
    subfields: tuple[tuple[str, str], ...]

    def values(self, code: str) -> list[str]:
        """Every value of subfield ``code``, in order."""
        return [value for key, value in self.subfields if key == code]

    def first(self, code: str) -> str:
        """The first value of subfield ``code``, or ``""``."""
        for key, value in self.subfields:
            if key == code:
                return value
        return ""


class MarcRecord:
    """Leader, control fields and data fields of one record, looked up by tag."""

    __slots__ = ("controls", "fields", "leader")

    def __init__(
        self, leader: str, controls: dict[str, str], fields: dict[str, list[DataField]]
    ) -> None:
        self.leader = leader
        #: ``001``…``009`` and local fixed fields such as ``FMT``.
        self.controls = controls
        #: Data fields by tag, each list in record order.
        self.fields = fields

    def __repr__(self) -> str:
        return f"MarcRecord(leader={self.leader!r}, 001={self.controls.get('001', '')!r})"

    def fields_of(self, tag: str) -> list[DataField]:
        """The fields with this tag (``[]`` when there is none)."""
        return self.fields.get(tag, [])

    def values(self, tag: str, code: str) -> list[str]:
        """Every value of ``tag $code`` across all fields with that tag."""
        return [value for field in self.fields.get(tag, ()) for value in field.values(code)]

    def first(self, tag: str, code: str) -> str:
        """The first non-empty ``tag $code`` value, or ``""``."""
        for field in self.fields.get(tag, ()):
            value = field.first(code)
            if value:
                return value
        return ""

    @property
    def is_deleted(self) -> bool:
        """Aleph marks deleted records with a ``DEL`` field."""
        return "DEL" in self.fields or "DEL" in self.controls


def _read(
    element: etree._Element,
    tags: Collection[str] | None,
    names: tuple[str, str, str, str, str, str],
) -> MarcRecord:
    """One pass over the record's children; ``names`` are the dialect's element and
    attribute names: data field, control field, leader, tag attribute, indicators.

    Only the tag attribute is read from fields that are not wanted (the cost of a record
    is the number of element properties touched), and an element's name only where the
    tag cannot tell a data field from a control field.
    """
    data_name, control_name, leader_name, tag_key, ind1_key, ind2_key = names
    code_key = "label" if tag_key == "id" else "code"
    leader = ""
    controls: dict[str, str] = {}
    fields: dict[str, list[DataField]] = {}
    for child in element:
        tag = child.get(tag_key)
        if tag is None:
            name = child.tag
            if isinstance(name, str) and name.endswith(leader_name):
                leader = child.text or ""
            continue
        if tags is not None and tag not in tags:
            continue
        # 010-999 are data fields in MARC 21; only other tags need the element's name.
        if not "010" <= tag <= "999":
            name = child.tag
            if not isinstance(name, str):
                continue
            if not name.endswith(data_name):
                if name.endswith(control_name):
                    if tag == "LDR":
                        leader = child.text or ""
                    else:
                        controls[tag] = child.text or ""
                continue
        subfields = tuple([(sub.get(code_key) or "", sub.text or "") for sub in child])
        field = DataField(
            tag, child.get(ind1_key) or _BLANK, child.get(ind2_key) or _BLANK, subfields
        )
        if tag in fields:
            fields[tag].append(field)
        else:
            fields[tag] = [field]
    return MarcRecord(leader, controls, fields)


_OAI_NAMES = ("varfield", "fixfield", "leader", "id", "i1", "i2")
_SLIM_NAMES = ("datafield", "controlfield", "leader", "tag", "ind1", "ind2")


def find_record_element(element: etree._Element) -> etree._Element | None:
    """The element that holds the fields: ``<oai_marc>`` or a MARC 21 slim ``<record>``.

    Accepts the field holder itself, a ``<record>`` wrapping ``<metadata><oai_marc>`` (or
    ``<oai_marc>`` directly), or any element with such a record as a direct child.
    """
    name = local_name(element)
    if name == "oai_marc":
        return element
    for child in element:
        child_name = local_name(child)
        if child_name == "oai_marc":
            return child
        if child_name == "metadata":
            return find_record_element(child)
        if child_name in {"leader", "controlfield", "datafield"}:
            return element
        if child_name == "record":
            return find_record_element(child)
    return None


def read_record(element: etree._Element, tags: Collection[str] | None = None) -> MarcRecord:
    """Read the MARC record held by ``element`` (see :func:`find_record_element`).

    Args:
        element: an ``<oai_marc>``, a MARC 21 slim ``<record>`` or a wrapper of either.
        tags: read only fields with these tags (faster); ``None`` reads all. The
            leader is always read.

    Raises:
        ValueError: ``element`` holds no MARC record.
    """
    holder = find_record_element(element)
    if holder is None:
        raise ValueError(f"<{local_name(element)}> holds no OAI-MARC or MARC 21 record")
    return _read(holder, tags, _OAI_NAMES if local_name(holder) == "oai_marc" else _SLIM_NAMES)


def iter_record_elements(root: etree._Element) -> Iterator[etree._Element]:
    """The MARC 21 slim ``<record>`` children of a ``<collection>`` (or ``root`` itself)."""
    if local_name(root) == "collection":
        for child in root:
            if local_name(child) == "record":
                yield child
    else:
        yield root


def record_from_xml(xml: str | bytes, tags: Collection[str] | None = None) -> MarcRecord:
    """The MARC record in ``xml`` (a record in either dialect, or a reply holding one),
    parsed safely; ``tags`` as for :func:`read_record`.

    Raises:
        XMLError: the text is not (acceptable) XML.
        ValueError: it holds no MARC record.
    """
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    return read_record(parse_xml(data), tags)
