"""MARC → the values of an ``EPublication``: the mapping of DESIGN §3.3, for either dialect.

The result is plain values (authors as ``(firstName, lastName, title)`` triples), so
this layer needs nothing of the message model; ``EPublication.from_marc`` and
``EPublication.from_xml`` build the message from them.

Values keep the catalogue's ISBD punctuation (``"Brno :"``, ``"Umění programování v
UNIXu /"``) as the original service did; only names are cleaned, because a name is split
into parts and the trailing comma before ``$d`` belongs to neither. Where a subfield
repeats inside its field (``260 $b United Fans : $b Klub Julese Vernea,``) the values
are joined with a space, which reads as the catalogue's own display.
"""

from __future__ import annotations

import re
from typing import Any

from edeposit.amqp.errors import DocumentNotFoundException
from edeposit.amqp.marc.record import DataField, MarcRecord

__all__ = ["MAPPED_TAGS", "Person", "publication_values", "split_isbn"]

#: An author as the mapping finds it: ``(firstName, lastName, title)``.
Person = tuple[str, str, str]

#: Data fields the mapping reads; reading only these makes parsing several times faster.
MAPPED_TAGS = frozenset(
    {"001", "020", "040", "100", "240", "245", "250", "260", "264", "300", "700", "765", "856"}
    | {"DEL"}
)

#: An ISBN at the start of ``020 $a``, optionally after an "ISBN" label; the rest qualifies it.
_ISBN_HEAD = re.compile(r"\s*(?:ISBN:?\s*)?([0-9][0-9 \-]*[0-9Xx]|[0-9Xx])(?:\s+(.*))?\s*$", re.S)
#: What ends a name part in the catalogue's punctuation (``May, Karl,`` ``$d 1842-1912``).
_NAME_TRAIL = " ,;:/"
#: Relator codes for which a person counts among the authors (none given = author).
_AUTHOR_ROLES = frozenset({"aut"})


def _joined(field: DataField, code: str) -> str:
    return " ".join([value.strip() for key, value in field.subfields if key == code and value])


def _texts(fields: list[DataField], codes: str) -> dict[str, str]:
    """For each of ``codes``: its values in the first field that has one, joined by a space.

    One pass over the fields' subfields, however many codes are asked for.
    """
    found: dict[str, str] = {}
    for field in fields:
        current: dict[str, str] = {}
        for code, raw in field.subfields:
            if code in codes and code not in found:
                value = raw.strip()
                if not value:
                    continue
                current[code] = current[code] + " " + value if code in current else value
        found.update(current)
        if len(found) == len(codes):
            break
    return found


_NO_FIELDS: list[DataField] = []


def _imprint(record: MarcRecord) -> dict[str, str]:
    """Place, publisher and date: ``260``; what it lacks from RDA's publication ``264``."""
    imprint = _texts(record.fields.get("260", _NO_FIELDS), "abc")
    if len(imprint) < 3 and "264" in record.fields:
        rda = record.fields["264"]
        published = [field for field in rda if field.ind2 == "1"] or rda
        for code, value in _texts(published, "abc").items():
            imprint.setdefault(code, value)
    return imprint


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


def _author(field: DataField) -> Person | None:
    name = field.first("a")
    if not name.strip():
        return None
    title = _name_part(" ".join(field.values("c")))
    if field.ind1 == "0":  # forename form
        forename = _name_part(name)
        if name.rstrip().endswith(",") and title:
            # NKP's old quirk: "100 0_ $a Milan, $c Hejný," puts the surname in $c.
            return (forename, title, "")
        return (forename, "", title)
    surname, _, forename = name.partition(",")
    return (_name_part(forename), _name_part(surname), title)


def _authors(record: MarcRecord) -> list[Person]:
    authors: list[Person] = []
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


def publication_values(record: MarcRecord) -> dict[str, Any]:
    """The ``EPublication`` fields of a MARC record, by field name (DESIGN §3.3).

    Raises:
        DocumentNotFoundException: the record is marked deleted (``DEL``).
    """
    if record.is_deleted:
        ident = record.controls.get("001")
        raise DocumentNotFoundException(f"document {ident} was deleted" if ident else "deleted")
    fields = record.fields
    isbns, set_isbns, binding = _isbns(record)
    title = _texts(fields.get("245", _NO_FIELDS), "abnp")
    imprint = _imprint(record)
    return {
        "ISBN": isbns,
        "nazev": title.get("a", ""),
        "podnazev": title.get("b", ""),
        "vazba": binding,
        "cena": _texts(fields.get("020", _NO_FIELDS), "c").get("c", ""),
        "castDil": title.get("n", ""),
        "nazevCasti": title.get("p", ""),
        "nakladatelVydavatel": imprint.get("b", ""),
        "datumVydani": imprint.get("c", ""),
        "poradiVydani": _texts(fields.get("250", _NO_FIELDS), "a").get("a", ""),
        "zpracovatelZaznamu": _texts(fields.get("040", _NO_FIELDS), "a").get("a", ""),
        "format": _texts(fields.get("300", _NO_FIELDS), "c").get("c", ""),
        "url": _texts(fields.get("856", _NO_FIELDS), "u").get("u", ""),
        "mistoVydani": imprint.get("a", ""),
        "ISBNSouboruPublikaci": set_isbns,
        "autori": _authors(record),
        "originaly": _originals(record),
        "internal_url": "",
    }
