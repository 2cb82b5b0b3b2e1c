"""Corpus loading: MARC records from ISO 2709, MARC XML and OAI-MARC files and folders.

MARC XML may be slim with any namespace (the catalogue writes
``http://www.loc.gov/MARC21/slim/`` with a trailing slash), one ``<record>`` or a
``<collection>``. OAI-MARC may be a bare ``<oai_marc>``/``<record>`` or a whole X-Server
reply (``present``, ``find-doc``), whose ``<doc_number>`` then names the system number.
Files are recognised by their first bytes, so names and extensions do not matter; files
that are neither XML nor ISO 2709 are skipped. XML is read with a hardened parser.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import BinaryIO, Literal

from lxml import etree

from edeposit.amqp.emulator.iso2709 import read_iso2709
from edeposit.amqp.emulator.record import Field, Fields, sanitize

__all__ = [
    "SourceRecord",
    "default_corpus",
    "expand_paths",
    "fingerprint",
    "read_corpus",
    "system_number",
]

log = logging.getLogger(__name__)

Dialect = Literal["oai", "marc"]

#: ``doc_number=NNN`` inside the ``998`` permalink.
_PERMALINK = re.compile(r"doc_number=(\d{1,9})(?!\d)")
#: NKP control numbers: prefix, year, seven digits (the system number's last seven).
_NKP_CONTROL = re.compile(r"[a-z]{3}\d{4}(\d{7})")
_DIGITS = re.compile(r"\d+")
_SLIM_CHILDREN = frozenset({"leader", "controlfield", "datafield"})


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """A record as a corpus file gave it.

    Attributes:
        fields: the record's fields in source order.
        dialect: ``oai`` for OAI-MARC sources, ``marc`` for ISO 2709 and MARC XML.
        doc_number: the system number an X-Server reply stated for it, if any.
    """

    fields: Fields
    dialect: Dialect
    doc_number: int | None = None


def default_corpus() -> list[Path]:
    """The sample corpus shipped with the package: one OAI-MARC file per book or serial.

    The records were written for this project from bibliographic facts of real Czech
    books and journals, in the catalogue's conventions (``-`` leaders, ``020 $a`` with
    qualifier and ``$c`` price, ``FMT SE`` and ``022`` for a serial, ``998`` permalink).
    Their ISBNs and ISSNs carry valid check digits; the system and control numbers are
    illustrative, except the original example's (``001492461``, ``cpk20051492461``).
    """
    folder = resources.files("edeposit.amqp.emulator") / "corpus"
    return [Path(str(folder))]


def expand_paths(paths: Iterable[Path | str]) -> list[Path]:
    """The corpus files named by ``paths``: files as given, folders searched recursively.

    Raises:
        FileNotFoundError: a path does not exist.
    """
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(
                sorted(
                    item
                    for item in path.rglob("*")
                    if item.is_file()
                    and not any(p.startswith(".") for p in item.relative_to(path).parts)
                )
            )
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"corpus path {path} does not exist")
    unique: dict[Path, None] = {}
    for file in files:
        unique.setdefault(file.resolve(), None)
    return list(unique)


def fingerprint(files: Iterable[Path]) -> str:
    """A digest of the files' names, sizes and modification times: equal means unchanged."""
    digest = hashlib.sha256()
    for file in files:
        stat = file.stat()
        digest.update(f"{file}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def system_number(record: SourceRecord) -> int | None:
    """The record's Aleph system number: the reply's, the ``998`` link's, or from ``001``."""
    if record.doc_number:
        return record.doc_number
    control = ""
    for field in record.fields:
        if field.tag == "998" and not field.control:
            for code, value in field.subfields:
                match = _PERMALINK.search(value) if code == "a" else None
                if match and int(match.group(1)):
                    return int(match.group(1))
        elif field.tag == "001" and not control:
            control = field.value if field.control else "".join(v for _, v in field.subfields)
    control = control.strip()
    nkp = _NKP_CONTROL.fullmatch(control)
    if nkp:
        return int(nkp.group(1)) or None
    digits = "".join(_DIGITS.findall(control))
    return int(digits[-9:]) or None if digits else None


def _sniff(path: Path) -> str | None:
    with path.open("rb") as stream:
        head = stream.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "xml"
    if len(head) >= 24 and head[:5].isdigit():
        return "iso2709"
    return None


def read_corpus(
    files: Iterable[Path], progress: Callable[[int], None] | None = None
) -> Iterator[SourceRecord]:
    """Every record of every file, in order; unreadable files are logged and skipped.

    ``progress`` hears, after each record, how many bytes of the files are read so far.
    """
    done = 0
    for path in files:
        kind = _sniff(path)
        if kind is None:
            log.info("corpus: %s is neither XML nor ISO 2709, skipped", path)
        else:
            try:
                with path.open("rb") as stream:
                    records: Iterator[SourceRecord]
                    if kind == "iso2709":
                        records = (SourceRecord(fields, "marc") for fields in read_iso2709(stream))
                    else:
                        records = _read_xml(stream)
                    for record in records:
                        yield record
                        if progress is not None:
                            progress(done + stream.tell())
            except (OSError, etree.XMLSyntaxError) as error:
                log.warning("corpus: cannot read %s: %s", path, error)
        done += path.stat().st_size


def _local(element: etree._Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _indicator(value: str | None) -> str:
    return (value or " ")[:1] or " "


def _data_field(element: etree._Element, tag: str, ind: tuple[str, str], code: str) -> Field:
    """A data field from an element whose ``subfield`` children name their code in ``code``."""
    subfields = tuple(
        (sanitize(sub.get(code) or " ")[:1], sanitize(sub.text or ""))
        for sub in element
        if _local(sub) == "subfield"
    )
    ind1, ind2 = (_indicator(element.get(name)) for name in ind)
    return Field(sanitize(tag), "", ind1, ind2, subfields)


def _oai_fields(oai: etree._Element) -> Fields:
    fields: list[Field] = []
    for child in oai:
        name = _local(child)
        tag = sanitize((child.get("id") or "").strip())
        if name == "fixfield":
            fields.append(Field(tag, sanitize(child.text or ""), control=True))
        elif name == "varfield":
            fields.append(_data_field(child, tag, ("i1", "i2"), "label"))
    return tuple(fields)


def _slim_fields(record: etree._Element) -> Fields:
    fields: list[Field] = []
    for child in record:
        name = _local(child)
        if name == "leader":
            fields.append(Field("LDR", sanitize(child.text or ""), control=True))
        elif name == "controlfield":
            tag = sanitize(child.get("tag") or "")
            fields.append(Field(tag, sanitize(child.text or ""), control=True))
        elif name == "datafield":
            fields.append(_data_field(child, child.get("tag") or "", ("ind1", "ind2"), "code"))
    return tuple(fields)


def _reply_doc_number(oai: etree._Element) -> int | None:
    metadata = oai.getparent()
    record = metadata.getparent() if metadata is not None else None
    if record is None:
        return None
    for child in record:
        if _local(child) == "doc_number":
            text = (child.text or "").strip()
            return int(text) if text.isdigit() and int(text) else None
    return None


def _read_xml(stream: BinaryIO) -> Iterator[SourceRecord]:
    events = etree.iterparse(
        stream,
        events=("end",),
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
    )
    for _, element in events:
        name = _local(element)
        if name == "oai_marc":
            yield SourceRecord(_oai_fields(element), "oai", _reply_doc_number(element))
            element.clear()
        elif name == "record":
            if any(_local(child) in _SLIM_CHILDREN for child in element):
                yield SourceRecord(_slim_fields(element), "marc")
            element.clear()
            parent = element.getparent()
            while parent is not None and element.getprevious() is not None:
                del parent[0]
