"""MARC → :class:`EPublication`: the mapping of DESIGN §3.3, for either XML dialect.

Values keep the catalogue's ISBD punctuation (``"Brno :"``, ``"Umění programování v
UNIXu /"``) as the original service did; only names are cleaned, because a name is split
into parts and the trailing comma before ``$d`` belongs to neither. Where a subfield
repeats inside its field (``260 $b United Fans : $b Klub Julese Vernea,``) the values
are joined with a space, which reads as the catalogue's own display.
"""

from __future__ import annotations

import re

from lxml import etree

from edeposit.amqp.aleph.marc import DataField, MarcRecord, read_record
from edeposit.amqp.aleph.records import Author, EPublication
from edeposit.amqp.errors import DocumentNotFoundException

__all__ = ["MAPPED_TAGS", "element_to_epublication", "to_epublication"]

#: Data fields the mapping reads; reading only these makes parsing several times faster.
MAPPED_TAGS = frozenset(
    {"020", "040", "100", "240", "245", "250", "260", "264", "300", "700", "765", "856", "DEL"}
)

#: An ISBN at the start of ``020 $a``, optionally after an "ISBN" label; the rest qualifies it.
_ISBN_HEAD = re.compile(r"\s*(?:ISBN:?\s*)?([0-9][0-9 \-]*[0-9Xx]|[0-9Xx])(?:\s+(.*))?\s*$", re.S)
#: What ends a name part in the catalogue's punctuation (``May, Karl,`` ``$d 1842-1912``).
_NAME_TRAIL = " ,;:/"
#: Relator codes for which a person counts among the authors (none given = author).
_AUTHOR_ROLES = frozenset({"aut"})


def _joined(field: DataField, code: str) -> str:
    return " ".join(value.strip() for value in field.values(code) if value.strip())


def _text(record: MarcRecord, tag: str, code: str) -> str:
    """``tag $code`` of the first such field that has it (repeats joined with a space)."""
    for field in record.fields_of(tag):
        value = _joined(field, code)
        if value:
            return value
    return ""


def _imprint(record: MarcRecord, code: str) -> str:
    """Place, publisher or date: ``260``, or the RDA publication statement ``264`` without it."""
    value = _text(record, "260", code)
    if value:
        return value
    published = [field for field in record.fields_of("264") if field.ind2 == "1"]
    for field in published or record.fields_of("264"):
        value = _joined(field, code)
        if value:
            return value
    return ""


def split_isbn(text: str) -> tuple[str, str]:
    """``"80-251-0225-4 (brož.) :"`` → ``("80-251-0225-4", "(brož.) :")``; ``("", "")`` if none."""
    match = _ISBN_HEAD.match(text)
    if match is None:
        return "", ""
    return match.group(1).strip(), (match.group(2) or "").strip()


def _isbns(record: MarcRecord) -> tuple[list[str], list[str], str]:
    """The ISBNs of ``020 $a``, the set ISBNs among them, and the first binding qualifier."""
    isbns: list[str] = []
    set_isbns: list[str] = []
    binding = ""
    for field in record.fields_of("020"):
        for value in field.values("a"):
            isbn, qualifier = split_isbn(value)
            if not isbn:
                continue
            qualifier = qualifier or _joined(field, "q")  # RDA puts the qualifier in $q
            isbns.append(isbn)
            if "soubor" in qualifier.lower():  # NKP's mark of the ISBN of a whole set
                set_isbns.append(isbn)
            if qualifier and not binding:
                binding = qualifier
    return isbns, set_isbns, binding


def _name_part(value: str) -> str:
    return value.strip().rstrip(_NAME_TRAIL).strip()


def _author(field: DataField) -> Author | None:
    name = field.first("a")
    if not name.strip():
        return None
    title = _name_part(" ".join(field.values("c")))
    if field.ind1 == "0":  # forename form
        forename = _name_part(name)
        if name.rstrip().endswith(",") and title:
            # NKP's old quirk: "100 0_ $a Milan, $c Hejný," puts the surname in $c.
            return Author(forename, title, "")
        return Author(forename, "", title)
    surname, _, forename = name.partition(",")
    return Author(_name_part(forename), _name_part(surname), title)


def _authors(record: MarcRecord) -> list[Author]:
    authors: list[Author] = []
    for tag in ("100", "700"):
        for field in record.fields_of(tag):
            roles = {role.strip().lower() for role in field.values("4")}
            if roles and not roles & _AUTHOR_ROLES:
                continue  # illustrator, translator, editor…
            author = _author(field)
            if author is not None and author not in authors:
                authors.append(author)
    return authors


def _originals(record: MarcRecord) -> list[str]:
    titles: list[str] = []
    for tag, code in (("765", "t"), ("240", "a")):
        for field in record.fields_of(tag):
            title = _joined(field, code)
            if title and title not in titles:
                titles.append(title)
    return titles


def to_epublication(record: MarcRecord) -> EPublication:
    """Map a MARC record to an :class:`EPublication` (DESIGN §3.3).

    Raises:
        DocumentNotFoundException: the record is marked deleted (``DEL``).
    """
    if record.is_deleted:
        ident = record.controls.get("001")
        raise DocumentNotFoundException(f"document {ident} was deleted" if ident else "deleted")
    isbns, set_isbns, binding = _isbns(record)
    return EPublication(
        ISBN=isbns,
        nazev=_text(record, "245", "a"),
        podnazev=_text(record, "245", "b"),
        vazba=binding,
        cena=_text(record, "020", "c"),
        castDil=_text(record, "245", "n"),
        nazevCasti=_text(record, "245", "p"),
        nakladatelVydavatel=_imprint(record, "b"),
        datumVydani=_imprint(record, "c"),
        poradiVydani=_text(record, "250", "a"),
        zpracovatelZaznamu=_text(record, "040", "a"),
        format=_text(record, "300", "c"),
        url=_text(record, "856", "u"),
        mistoVydani=_imprint(record, "a"),
        ISBNSouboruPublikaci=set_isbns,
        autori=_authors(record),
        originaly=_originals(record),
        internal_url="",
    )


def element_to_epublication(element: etree._Element) -> EPublication:
    """Read the MARC record in ``element`` (either dialect) and map it."""
    return to_epublication(read_record(element, MAPPED_TAGS))
