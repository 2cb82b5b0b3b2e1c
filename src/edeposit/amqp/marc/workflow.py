"""NKP's workflow fields → the values of a ``SemanticInfo`` (2015 form, docs/messages.md).

Beside the bibliographic fields, NKP's records carry local fields that tell where a
publication stands in the library's work: acquisition (``HLD`` holdings, ``STZ`` its
status), the cataloguers' signs (``IST``: ``jp…`` descriptive cataloguing, ``jr…`` its
review, ``vp…`` subject cataloguing, ``vr…`` its review, ``ii…`` the ISBN agency), a
record closed in favour of another (``BAS $a 90``, with ``PJM`` naming the summary
record), and the format (``FMT``, ``SE`` for serials). The e-deposit front-end tracks a
deposit by them.

Each rule is that of the production system: edeposit/edeposit.amqp.aleph,
``src/edeposit/amqp/aleph/datastructures/semanticinfo.py``, ``SemanticInfo.from_xml``
(the version with ``acquisitionFields``) and its tests on the same NKP records as
``fixtures/aleph``.
"""

from __future__ import annotations

from typing import Any

from edeposit.amqp.marc.record import DataField, MarcRecord

__all__ = [
    "WORKFLOW_TAGS",
    "periodical_workflow_values",
    "summary_record_number",
    "workflow_values",
]

#: The fields the workflow values come from.
WORKFLOW_TAGS = frozenset({"FMT", "HLD", "STZ", "IST", "BAS", "PJM"})

#: ``IST $a`` prefix → the list its sign goes to. The dated signs start with the year
#: (``jp20150225``), hence ``jp2``; the subject signs were matched on two letters.
_SIGNS = (
    ("jp2", "descriptiveCatFields"),
    ("jr2", "descriptiveCatReviewFields"),
    ("vp", "subjectCatFields"),
    ("vr", "subjectCatReviewFields"),
    ("ii2", "ISBNAgencyFields"),
)
#: ``IST $a`` prefix of the sign acquisition gives a continuing resource.
_ACQUISITION_SIGN = "sk"
#: What ``summary_record_number`` strips off a word (the original's list).
_WORD_PUNCTUATION = " .,:;<>(){}[]\\/"


def summary_record_number(text: str) -> str:
    """The record number in ``PJM``'s prose: the first word with more than three digits.

    ``"Seriálový záznam viz nkc20150003043"`` → ``"nkc20150003043"``; ``"Souborný
    záznam viz 978-80-87899-15-1."`` → ``"978-80-87899-15-1"`` (an ISBN serves too);
    ``""`` when no word qualifies (the original's ``_parse_summaryRecordSysNumber``).
    """
    for token in text.split():
        word = token.strip(_WORD_PUNCTUATION)
        if sum(char.isdigit() for char in word) > 3:
            return word
    return ""


def _values(fields: list[DataField], code: str) -> list[str]:
    return [value for field in fields for value in field.values(code)]


def workflow_values(record: MarcRecord) -> dict[str, Any]:
    """The ``SemanticInfo`` fields of a MARC record, by name.

    - ``contentOfFMT``: the ``FMT`` control field; ``isSummaryRecord``: it is ``SE``.
    - ``hasAcquisitionFields``: the record has ``HLD`` (data or control field); then
      ``acquisitionFields``: every ``STZ $a``, then every ``STZ $b``.
    - the five lists of signs: for each ``IST $a`` (spaces removed) with a known
      prefix, the sign and the ``$b`` (who signed) of its field.
    - ``isClosed``: some ``BAS $a`` is ``90``.
    - ``summaryRecordSysNumber``: the ``PJM $a`` values joined by newlines (``""``
      when blank); ``parsedSummaryRecordSysNumber``: the number in it.
    """
    fields = record.fields
    content_of_fmt = record.controls.get("FMT", "")
    has_acquisition = "HLD" in fields or "HLD" in record.controls
    acquisition: list[str] = []
    if has_acquisition and "STZ" in fields:
        acquisition = _values(fields["STZ"], "a") + _values(fields["STZ"], "b")
    signs: dict[str, list[str]] = {name: [] for _, name in _SIGNS}
    for field in record.fields_of("IST"):
        for given in field.values("a"):
            sign = given.replace(" ", "")
            for prefix, name in _SIGNS:
                if sign.startswith(prefix):
                    signs[name] += [sign, *field.values("b")]
                    break
    summary = "\n".join(record.values("PJM", "a"))
    if not summary.strip():
        summary = ""
    return {
        "hasAcquisitionFields": has_acquisition,
        "acquisitionFields": acquisition,
        "ISBNAgencyFields": signs["ISBNAgencyFields"],
        "descriptiveCatFields": signs["descriptiveCatFields"],
        "descriptiveCatReviewFields": signs["descriptiveCatReviewFields"],
        "subjectCatFields": signs["subjectCatFields"],
        "subjectCatReviewFields": signs["subjectCatReviewFields"],
        "isClosed": "90" in record.values("BAS", "a"),
        "isSummaryRecord": content_of_fmt == "SE",
        "contentOfFMT": content_of_fmt,
        "parsedSummaryRecordSysNumber": summary_record_number(summary),
        "summaryRecordSysNumber": summary,
    }


def periodical_workflow_values(record: MarcRecord) -> dict[str, Any]:
    """The ``EPeriodicalSemanticInfo`` fields of a MARC record, by name (docs/messages.md).

    As :func:`workflow_values`, without the cataloguers' signs, and with acquisition's
    own sign for a serial: every ``IST $a`` beginning ``sk`` (spaces removed) marks the
    record acquired and adds the sign and its field's ``$b`` to ``acquisitionFields``
    (edeposit.amqp.aleph 1.9.3, ``eperiodical_semantic_info.py``).
    """
    values = workflow_values(record)
    acquisition = list(values["acquisitionFields"])
    acquired = values["hasAcquisitionFields"]
    for field in record.fields_of("IST"):
        for given in field.values("a"):
            sign = given.replace(" ", "")
            if sign.startswith(_ACQUISITION_SIGN):
                acquired = True
                acquisition += [sign, *field.values("b")]
    return {
        "hasAcquisitionFields": acquired,
        "acquisitionFields": acquisition,
        "isClosed": values["isClosed"],
        "isSummaryRecord": values["isSummaryRecord"],
        "contentOfFMT": values["contentOfFMT"],
        "parsedSummaryRecordSysNumber": values["parsedSummaryRecordSysNumber"],
        "summaryRecordSysNumber": values["summaryRecordSysNumber"],
    }
