"""A hardened XML parser for what the catalogue sends: no DTDs, no entities, bounded size.

Every byte that comes from Aleph is untrusted. The parser never loads a DTD, never
reaches the network, never substitutes entities (so neither an external entity nor an
entity-expansion bomb can do anything), keeps libxml2's limits on depth and text size,
and refuses any document that declares a DOCTYPE at all: X-Services replies never have
one, so its presence alone means the reply is not what the protocol describes.
"""

from __future__ import annotations

import threading

from lxml import etree

from edeposit.amqp.errors import MalformedXMLError, RefusedXMLError

__all__ = [
    "MalformedXMLError",
    "RefusedXMLError",
    "local_name",
    "parse_xml",
]


_DOCTYPE = b"<!DOCTYPE"
_ENTITY = b"<!ENTITY"
_local = threading.local()  # lxml parser objects must not be shared between threads


def _parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_pis=True,
        )
        _local.parser = parser
    return parser


def parse_xml(data: bytes, *, max_bytes: int | None = None) -> etree._Element:
    """Parse untrusted XML bytes and return the root element.

    Raises:
        RefusedXMLError: the document is larger than ``max_bytes`` or declares a DOCTYPE.
        MalformedXMLError: the bytes are not well-formed XML.
    """
    if max_bytes is not None and len(data) > max_bytes:
        raise RefusedXMLError(f"reply of {len(data)} bytes exceeds the limit of {max_bytes}")
    if _DOCTYPE in data or _ENTITY in data:  # before libxml2 sees it: refused, not malformed
        raise RefusedXMLError("document declares a DOCTYPE or entities (never accepted)")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as error:
        raise MalformedXMLError(f"not well-formed XML: {error}") from error
    if root is None:  # an empty document with recover off never gets here; be explicit
        raise MalformedXMLError("empty document")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise RefusedXMLError("document declares a DOCTYPE (never accepted)")
    return root


def local_name(element: etree._Element) -> str:
    """The element's tag without its namespace (``{ns}record`` → ``record``); "" for comments."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag[tag.rfind("}") + 1 :]
