"""MARC → the values of an ``EPublication``: the mapping of docs/messages.md, for either dialect.

The result is plain values (authors as ``(firstName, lastName, title)`` triples, URLs
as lists), so this layer needs nothing of the message model; ``EPublication.from_marc``
and ``EPublication.from_xml`` build the message from them.

The rules are those NKP's production e-deposit system settled on (its parser is
edeposit/marcxml_parser, ``src/marcxml_parser/query.py``; its model
edeposit/edeposit.amqp.aleph, ``datastructures/epublication.py``); where a rule comes
from there, the function says so. Every text value is clean: the ISBD punctuation the
catalogue writes around it is removed from its ends (:mod:`.punctuation`). Where a
subfield repeats inside its field (``260 $b United Fans : $b Klub Julese Vernea,``) the
values are joined with a space, which reads as the catalogue's own display.
"""

from __future__ import annotations

import re
from typing import Any

from edeposit.amqp.errors import DocumentNotFoundException
from edeposit.amqp.marc.isbn import is_valid_isbn
from edeposit.amqp.marc.punctuation import clean, clean_date
from edeposit.amqp.marc.record import DataField, MarcRecord

__all__ = [
    "MAPPED_TAGS",
    "Person",
    "binding_of",
    "first_value",
    "links_of",
    "publication_values",
    "split_isbn",
    "title_of",
]

#: An author as the mapping finds it: ``(firstName, lastName, title)``.
Person = tuple[str, str, str]

#: Fields the mapping reads; reading only these makes parsing several times faster.
MAPPED_TAGS = frozenset(
    {"001", "020", "040", "100", "240", "245", "250", "260", "264", "300", "520", "700"}
    | {"765", "856", "901", "998", "URL", "DEL"}
)

#: An ISBN at the start of ``020 $a``, optionally after an "ISBN" label; the rest qualifies it.
_ISBN_HEAD = re.compile(r"\s*(?:ISBN:?\s*)?([0-9][0-9 \-]*[0-9Xx]|[0-9Xx])(?:\s+(.*))?\s*$", re.S)
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


def binding_of(qualifier: str) -> str:
    """The binding in what follows an ISBN: ``"(Klub Julese Vernea : brož.) :"`` → ``"brož."``.

    NKP writes the qualifier as ``(binding)`` or ``(publisher or volume : binding)``:
    the binding is its last part (marcxml_parser ``query.py``, ``_filter_binding``).
    """
    return clean(clean(qualifier).rpartition(":")[2])


def _isbns(record: MarcRecord) -> tuple[list[str], list[str], str]:
    """The valid ISBNs of ``020 $a``, the invalid ones, and the binding after the first.

    ``$z`` holds cancelled or wrong ISBNs; an ``$a`` whose check digit fails is no
    better (docs/messages.md). As in marcxml_parser (``get_ISBNs``, ``get_invalid_ISBNs``),
    only the ISBN is kept of either, and an ``$a`` also listed in ``$z`` is not valid.
    RDA's ``$q`` qualifiers (``(online :`` ``pdf)``, ``(soubor :`` ``pdf)``: a file,
    not a set of volumes) are neither bindings nor set ISBNs.
    """
    valid: list[str] = []
    invalid: list[str] = []
    binding = ""
    if "020" not in record.fields:
        return valid, invalid, binding
    for field in record.fields["020"]:
        for code, value in field.subfields:
            if code == "a":
                isbn, qualifier = split_isbn(value)
                if not isbn:
                    continue
                if qualifier and not binding:
                    binding = binding_of(qualifier)
                (valid if is_valid_isbn(isbn) else invalid).append(isbn)
            elif code == "z":
                isbn = split_isbn(value)[0] or clean(value.strip())
                if isbn:
                    invalid.append(isbn)
    if invalid:
        cancelled = set(invalid)
        valid = [isbn for isbn in valid if isbn not in cancelled]
    return _unique(valid), _unique(invalid), binding


def _unique(values: list[str]) -> list[str]:
    """``values`` without repeats, in their first order."""
    return list(dict.fromkeys(values)) if len(values) > 1 else values


def _author(field: DataField) -> Person | None:
    name = field.first("a")
    if not name.strip():
        return None
    title = clean(" ".join(value.strip() for value in field.values("c")))
    if field.ind1 == "0":  # forename form
        forename = clean(name.strip())
        if name.rstrip().endswith(",") and title:
            # NKP's old quirk: "100 0_ $a Milan, $c Hejný," puts the surname in $c.
            return (forename, title, "")
        return (forename, "", title)
    surname, _, forename = name.partition(",")
    return (clean(forename.strip()), clean(surname.strip()), title)


def _authors(record: MarcRecord) -> list[Person]:
    """Persons of ``100`` and ``700`` whose relator ``$4`` is ``aut`` or absent.

    marcxml_parser (``_parse_persons``, roles ``["aut"]``) keeps a person without
    ``$4`` and one with any ``aut`` among its ``$4``; illustrators, translators and
    editors are not authors.
    """
    authors: list[Person] = []
    for tag in ("100", "700"):
        for field in record.fields_of(tag):
            roles = field.values("4")
            if roles and not {role.strip().lower() for role in roles} & _AUTHOR_ROLES:
                continue
            author = _author(field)
            if author is not None and author not in authors:
                authors.append(author)
    return authors


def _originals(record: MarcRecord) -> list[str]:
    """``765 $t`` (marcxml_parser ``get_originals``), else the uniform title ``240 $a``."""
    for tag, code in (("765", "t"), ("240", "a")):
        if tag not in record.fields:
            continue
        titles = [clean(_joined(field, code)) for field in record.fields[tag]]
        titles = _unique([title for title in titles if title])
        if titles:
            return titles
    return []


def links_of(record: MarcRecord) -> tuple[list[str], list[str]]:
    """The producer's URLs, and the internal ones (marcxml_parser ``get_urls``,
    ``get_internal_urls``).

    The producer's page is ``856`` with indicators ``4 2`` (related resource); links to
    the e-deposit copy (``856 4 0``, the resource itself), to Aleph (``998 $a``) and to
    the deposited file (NKP's local ``URL $u``) are internal, in that order. Other
    ``856`` indicators name neither. A URL is kept exactly, punctuation and all.
    """
    urls: list[str] = []
    internal: list[str] = []
    if not ("856" in record.fields or "998" in record.fields or "URL" in record.fields):
        return urls, internal
    for field in record.fields_of("856"):
        if field.ind1 == "4" and field.ind2 in ("0", "2"):
            target = urls if field.ind2 == "2" else internal
            target.extend(value.strip() for value in field.values("u") if value.strip())
    for tag, code in (("998", "a"), ("URL", "u")):
        for field in record.fields_of(tag):
            internal.extend(value.strip() for value in field.values(code) if value.strip())
    return _unique(urls), _unique(internal)


def first_value(fields: dict[str, list[DataField]], tag: str, code: str) -> str:
    """``tag $code`` of the first field that has it, repeats joined by a space, clean."""
    for field in fields.get(tag, _NO_FIELDS):
        found = ""
        for key, value in field.subfields:
            if key == code and (text := value.strip()):
                found = f"{found} {text}" if found else text
        if found:
            return clean(found)
    return ""


def title_of(record: MarcRecord) -> dict[str, str]:
    """``245 $a $b $n $p`` of the first field that has each, clean, by subfield code."""
    found = _texts(record.fields.get("245", _NO_FIELDS), "abnp")
    return {code: clean(value) for code, value in found.items()}


def publication_values(record: MarcRecord) -> dict[str, Any]:
    """The ``EPublication`` fields of a MARC record, by name (docs/messages.md).

    Every field of the model is there: the 21 of the 2015 form, with the URLs as the
    lists ``urls`` and ``internal_urls``.

    Raises:
        DocumentNotFoundException: the record is marked deleted (``DEL``).
    """
    if record.is_deleted:
        ident = record.controls.get("001")
        raise DocumentNotFoundException(f"document {ident} was deleted" if ident else "deleted")
    fields = record.fields
    isbns, invalid_isbns, binding = _isbns(record)
    title = title_of(record)
    imprint = _imprint(record)
    urls, internal_urls = links_of(record)
    return {
        "ISBN": isbns,
        "nazev": title.get("a", ""),
        "podnazev": title.get("b", ""),
        "vazba": binding,
        "cena": first_value(fields, "020", "c"),
        "castDil": title.get("n", ""),
        "nazevCasti": title.get("p", ""),
        "nakladatelVydavatel": clean(imprint.get("b", "")),
        "datumVydani": clean_date(imprint.get("c", "")),
        # NKP's own edition statement (901 $f, marcxml_parser get_pub_order) first.
        "poradiVydani": first_value(fields, "901", "f") or first_value(fields, "250", "a"),
        "zpracovatelZaznamu": first_value(fields, "040", "a"),
        "format": first_value(fields, "300", "c"),
        "urls": urls,
        "mistoVydani": clean(imprint.get("a", "")),
        # Filled by clients on export; "(soubor : pdf)" qualifies a file, not a set.
        "ISBNSouboruPublikaci": [],
        "autori": _authors(record),
        "originaly": _originals(record),
        "internal_urls": internal_urls,
        "invalid_ISBN": invalid_isbns,
        "id_number": record.controls.get("001", "").strip(),
        "anotace": first_value(fields, "520", "a"),
    }
