"""Records written as the X-Server writes them: OAI-MARC and MARC 21 slim, one element a line.

OAI-MARC (``present``, ``find-doc``) keeps every field, local ones (``FMT``, ``BAS``…)
included. MARC 21 slim (``ill-get-doc``) uses the catalogue's namespace with its
trailing slash, a four-line opening tag, and numeric tags only, without the ``998``
permalink that the OAI view adds.
"""

from __future__ import annotations

from collections.abc import Iterable

from edeposit.amqp.emulator.record import Field

__all__ = ["escape", "marcxml_lines", "oai_marc_lines"]

_SLIM_OPEN = (
    '<record xmlns="http://www.loc.gov/MARC21/slim/"\n'
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"\n'
    'xsi:schemaLocation="http://www.loc.gov/MARC21/slim\n'
    'http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd">'
)


def escape(text: str) -> str:
    """``text`` as the X-Server escapes it: ``& < > " '`` as entities (``'`` as ``&apos;``)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if '"' in text:
        text = text.replace('"', "&quot;")
    if "'" in text:
        text = text.replace("'", "&apos;")
    return text


def oai_marc_lines(fields: Iterable[Field]) -> list[str]:
    """The ``<oai_marc>`` element of a record, a line per element."""
    lines = ["<oai_marc>"]
    for field in fields:
        tag = escape(field.tag)
        if field.control:
            lines.append(f'<fixfield id="{tag}">{escape(field.value)}</fixfield>')
            continue
        lines.append(f'<varfield id="{tag}" i1="{escape(field.ind1)}" i2="{escape(field.ind2)}">')
        lines.extend(
            f'<subfield label="{escape(code)}">{escape(value)}</subfield>'
            for code, value in field.subfields
        )
        lines.append("</varfield>")
    lines.append("</oai_marc>")
    return lines


def marcxml_lines(fields: Iterable[Field]) -> list[str]:
    """The MARC 21 slim ``<record>`` of a record, as the catalogue's ``ill-get-doc`` writes it."""
    lines = [_SLIM_OPEN]
    for field in fields:
        if field.tag == "LDR":
            lines.append(f"<leader>{escape(field.value)}</leader>")
            continue
        if not field.tag.isdigit() or field.tag == "998":
            continue
        if field.control:
            lines.append(f'<controlfield tag="{field.tag}">{escape(field.value)}</controlfield>')
            continue
        lines.append(
            f'<datafield tag="{field.tag}" ind1="{escape(field.ind1)}" ind2="{escape(field.ind2)}">'
        )
        lines.extend(
            f'<subfield code="{escape(code)}">{escape(value)}</subfield>'
            for code, value in field.subfields
        )
        lines.append("</datafield>")
    lines.append("</record>")
    return lines
