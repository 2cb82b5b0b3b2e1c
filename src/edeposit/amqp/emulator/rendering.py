"""Records written as the X-Server writes them: OAI-MARC and MARC 21 slim, one element a line.

OAI-MARC (``present``, ``find-doc``) keeps every field, local ones (``FMT``, ``BAS``…)
included. MARC 21 slim (``ill-get-doc``) uses the catalogue's namespace with its
trailing slash, a four-line opening tag, and numeric tags only, without the ``998``
permalink that the OAI view adds.

Records are rendered straight from their packed form (:func:`.record.pack`): the whole
string is escaped once and its separators are turned into markup with string methods
without building a Python object per field, which keeps a ``present`` of a hundred records
cheap enough for many concurrent clients.
"""

from __future__ import annotations

__all__ = ["escape", "marcxml_text", "oai_marc_text"]

_SLIM_OPEN = (
    '<record xmlns="http://www.loc.gov/MARC21/slim/"\n'
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"\n'
    'xsi:schemaLocation="http://www.loc.gov/MARC21/slim\n'
    'http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd">'
)


def _subfields(escaped: str, element: str, attribute: str) -> str:
    """Subfield lines of an escaped packed data field (``\x1f`` + code + value, repeated)."""
    chunks = escaped.split("\x1f")[1:]
    if "\x1f&" not in escaped:  # one-character codes: the common, fast path
        return "".join([f'\n<{element} {attribute}="{c[:1]}">{c[1:]}</{element}>' for c in chunks])
    lines = []
    for chunk in chunks:
        cut = chunk.index(";") + 1 if chunk.startswith("&") and ";" in chunk else 1
        lines.append(f'\n<{element} {attribute}="{chunk[:cut]}">{chunk[cut:]}</{element}>')
    return "".join(lines)


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


def oai_marc_text(packed: str) -> str:
    """The ``<oai_marc>`` element of a packed record, a line per element (no final newline)."""
    lines = ["<oai_marc>"]
    for part in escape(packed).split("\x1e") if packed else ():
        tag, _, rest = part[1:].partition("\x1d")
        if part[0] == "F":
            lines.append(f'<fixfield id="{tag}">{rest}</fixfield>')
        else:
            subfields = _subfields(rest[2:], "subfield", "label")
            lines.append(
                f'<varfield id="{tag}" i1="{rest[0]}" i2="{rest[1]}">{subfields}\n</varfield>'
            )
    lines.append("</oai_marc>")
    return "\n".join(lines)


def marcxml_text(packed: str) -> str:
    """The MARC 21 slim ``<record>`` of a packed record, as ``ill-get-doc`` writes it."""
    lines = [_SLIM_OPEN]
    for part in escape(packed).split("\x1e") if packed else ():
        tag, _, rest = part[1:].partition("\x1d")
        if tag == "LDR":
            lines.append(f"<leader>{rest}</leader>")
        elif not tag.isdigit() or tag == "998":
            continue
        elif part[0] == "F":
            lines.append(f'<controlfield tag="{tag}">{rest}</controlfield>')
        else:
            subfields = _subfields(rest[2:], "subfield", "code")
            opening = f'<datafield tag="{tag}" ind1="{rest[0]}" ind2="{rest[1]}">'
            lines.append(f"{opening}{subfields}\n</datafield>")
    lines.append("</record>")
    return "\n".join(lines)
