"""MARC → the values of an ``EPeriodical``: a continuing resource as 2016's clients read it.

NKP's production system gave a continuing resource (a periodical, an e-serial: the
local control field ``FMT`` = ``SE``) a record type of its own (edeposit.amqp.aleph
1.9.3, ``datastructures/eperiodical.py``, over edeposit/marcxml_parser 1.2,
``query.py``). docs/messages.md gives its rules:

- ``ISSN``: the valid ISSNs of ``022 $a``, each cut at its first space;
  ``invalid_ISSNs``: ``022 $z`` (cancelled), ``$y`` (incorrect), then the ``$a`` values
  whose check digit fails; an ``$a`` also given as ``$z`` or ``$y`` is not valid;
  ``ISSNSouboruPublikaci``: ``022 $l``, the linking ISSN (ISSN-L).
- ``nazev``, ``podnazev``: ``245 $a``, ``$b``, as for a publication.
- ``mistoVydani``, ``nakladatelVydavatel``, ``datumVydani``: every ``$a``, ``$b``, ``$c``
  of the ``260`` fields with both indicators blank and of every ``264`` (``260`` first),
  each cleaned (a date by :func:`~.punctuation.clean_date`), repeats dropped in that
  order, joined with ``", "``. A serial's later publishers (``260 2_``, ``260 3_``) are
  left out, as the production parser's ``260a  `` queries left them.
- ``url``, ``internal_url``, ``anotace``, ``id_number``: as for a publication.

The production system dropped repeats through an unordered set; the order here is the
record's, which its clients cannot tell apart and which keeps the output deterministic.
"""

from __future__ import annotations

from typing import Any

from edeposit.amqp.errors import DocumentNotFoundException
from edeposit.amqp.marc.issn import is_valid_issn, issn_of
from edeposit.amqp.marc.mapping import MAPPED_TAGS, first_value, links_of, title_of
from edeposit.amqp.marc.punctuation import clean, clean_date
from edeposit.amqp.marc.record import MarcRecord
from edeposit.amqp.marc.workflow import WORKFLOW_TAGS

__all__ = ["PERIODICAL_TAGS", "RECORD_TAGS", "is_continuing", "periodical_values"]

#: Fields the periodical's values come from.
PERIODICAL_TAGS = frozenset(
    {"001", "022", "245", "260", "264", "520", "856", "998", "URL", "DEL", "FMT"}
)
#: Every field a catalogue record's values come from: its publication, its workflow
#: state and, for a continuing resource, its periodical.
RECORD_TAGS = MAPPED_TAGS | WORKFLOW_TAGS | PERIODICAL_TAGS


def is_continuing(record: MarcRecord) -> bool:
    """Whether the record describes a continuing resource: its ``FMT`` is ``SE``."""
    return record.controls.get("FMT") == "SE"


def _issns(record: MarcRecord) -> tuple[list[str], list[str], list[str]]:
    """The valid ISSNs, the invalid ones and the linking ISSNs of the ``022`` fields."""
    given = {code: [issn_of(value) for value in record.values("022", code)] for code in "azyl"}
    invalid = [issn for issn in (*given["z"], *given["y"]) if issn]
    cancelled = set(invalid)
    valid: list[str] = []
    for issn in given["a"]:
        if not issn or issn in cancelled:
            continue
        (valid if is_valid_issn(issn) else invalid).append(issn)
    linking = [issn for issn in given["l"] if issn]
    return _unique(valid), _unique(invalid), _unique(linking)


def _unique(values: list[str]) -> list[str]:
    """``values`` without repeats, in their first order."""
    return list(dict.fromkeys(values))


def _imprint(record: MarcRecord, code: str) -> str:
    """Every ``code`` value of the blank-indicator ``260`` and of every ``264``, joined."""
    tidy = clean_date if code == "c" else clean
    values: list[str] = []
    for field in record.fields_of("260"):
        if field.ind1 == " " and field.ind2 == " ":
            values.extend(field.values(code))
    for field in record.fields_of("264"):
        values.extend(field.values(code))
    cleaned = (tidy(value.strip()) for value in values)
    return ", ".join(_unique([value for value in cleaned if value]))


def periodical_values(record: MarcRecord) -> dict[str, Any]:
    """The ``EPeriodical`` fields of a MARC record, by name (docs/messages.md).

    Raises:
        DocumentNotFoundException: the record is marked deleted (``DEL``).
    """
    if record.is_deleted:
        ident = record.controls.get("001")
        raise DocumentNotFoundException(f"document {ident} was deleted" if ident else "deleted")
    issns, invalid_issns, linking = _issns(record)
    title = title_of(record)
    urls, internal_urls = links_of(record)
    return {
        "url": urls,
        "ISSN": issns,
        "invalid_ISSNs": invalid_issns,
        "nazev": title.get("a", ""),
        "anotace": first_value(record.fields, "520", "a"),
        "podnazev": title.get("b", ""),
        "id_number": record.controls.get("001", "").strip(),
        "mistoVydani": _imprint(record, "a"),
        "datumVydani": _imprint(record, "c"),
        "internal_url": internal_urls,
        "nakladatelVydavatel": _imprint(record, "b"),
        "ISSNSouboruPublikaci": linking,
    }
