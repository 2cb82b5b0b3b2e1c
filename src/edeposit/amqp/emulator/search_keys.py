"""What each index code finds in a record: the text the search index holds per column.

Word indexes hold text that SQLite's ``unicode61`` tokenizer folds (case and accents:
``Hejny`` finds ``Hejný``). Identifier indexes hold one compact token per value:
ISBNs without hyphens or qualifiers and in both their ISBN-10 and ISBN-13 forms, so
either finds the other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from edeposit.amqp.emulator.record import Field

__all__ = [
    "COLUMNS",
    "INDEX_COLUMNS",
    "compact_identifier",
    "isbn_forms",
    "keys_of",
]

#: Columns of the search index, in order.
COLUMNS = ("sbn", "ssn", "wtl", "wau", "wpb", "wpp", "wyr", "wkw", "wrd", "icz", "sys", "cnb")
#: Index code → the columns it searches.
INDEX_COLUMNS: dict[str, tuple[str, ...]] = {
    **{column: (column,) for column in COLUMNS},
    "isn": ("sbn", "ssn"),
}

_ALPHANUM = re.compile(r"[^0-9A-Za-z]")
_ISBN_CANDIDATE = re.compile(r"(?<![0-9])(?:97[89][- ]?)?[0-9][0-9 -]{7,15}[0-9Xx](?![0-9])")
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")

_TITLE_TAGS = {
    "245": "abnpfgks",
    "246": "abnp",
    "240": "anp",
    "130": "anp",
    "730": "anp",
    "740": "anp",
    "210": "ab",
    "222": "ab",
    "765": "ts",
    "767": "ts",
}
_NAME_TAGS = ("100", "110", "111", "700", "710", "711")
_SUBJECT_TAGS = tuple(str(tag) for tag in range(600, 700))
_SBN, _SSN, _WTL, _WAU, _WPB, _WPP, _WYR, _WKW, _WRD, _ICZ, _SYS, _CNB = range(len(COLUMNS))
#: Data field tag → (column, subfield codes) that the column takes from it.
_RULES: dict[str, tuple[tuple[int, str], ...]] = {
    "020": ((_SBN, "az"),),
    "022": ((_SSN, "azy"),),
    "015": ((_CNB, "az"),),
    "260": ((_WPB, "b"), (_WPP, "a"), (_WYR, "c")),
    "264": ((_WPB, "b"), (_WPP, "a"), (_WYR, "c")),
    **{tag: ((_WTL, codes),) for tag, codes in _TITLE_TAGS.items()},
    **dict.fromkeys(_NAME_TAGS, ((_WAU, "abcdq"),)),
    **dict.fromkeys(_SUBJECT_TAGS, ((_WKW, "abcdvxyz"),)),
}


def compact_identifier(text: str) -> str:
    """``text`` with everything but ASCII letters and digits removed, lower case."""
    return _ALPHANUM.sub("", text).lower()


def _check10(digits: str) -> str:
    total = sum((10 - i) * int(d) for i, d in enumerate(digits[:9]))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def _check13(digits: str) -> str:
    total = sum((3 if i % 2 else 1) * int(d) for i, d in enumerate(digits[:12]))
    return str((10 - total % 10) % 10)


def isbn_forms(text: str) -> list[str]:
    """The compact ISBNs in ``text`` (qualifiers and hyphens dropped), 10- and 13-digit forms.

    A value that is not ISBN-shaped gives its compact text, so it can still be found
    as the catalogue wrote it.
    """
    forms: list[str] = []
    for match in _ISBN_CANDIDATE.finditer(text):
        compact = match.group(0).replace("-", "").replace(" ", "").upper()
        if len(compact) == 10 and compact[:9].isdigit():
            forms += [compact, "978" + compact[:9] + _check13("978" + compact[:9])]
        elif len(compact) == 13 and compact.isdigit():
            forms.append(compact)
            if compact.startswith("978"):
                forms.append(compact[3:12] + _check10(compact[3:12]))
    if not forms:
        compact = compact_identifier(text.split("(", maxsplit=1)[0])
        if compact:
            forms.append(compact.upper())
    return forms


def _years(values: Iterable[str]) -> list[str]:
    return [year for value in values for year in _YEAR.findall(value)]


def keys_of(fields: tuple[Field, ...], doc_number: int) -> tuple[str, ...]:
    """The text of every index column for a record (see :data:`COLUMNS`), in one pass."""
    found: list[list[str]] = [[] for _ in COLUMNS]
    control = ""
    words = found[_WRD]
    for field in fields:
        tag = field.tag
        if field.control:
            if tag == "001" and not control:
                control = field.value
            elif tag == "008" and field.value[7:11].isdigit():
                found[_WYR].append(field.value[7:11])
            continue
        if not tag.isdigit() or tag == "998":
            continue
        if tag == "001" and not control:
            control = " ".join(v for _, v in field.subfields[:1])
        rules = _RULES.get(tag, ())
        for code, value in field.subfields:
            if code.isalpha():
                words.append(value)
            for column, codes in rules:
                if code in codes:
                    found[column].append(value)
    found[_SBN] = [form for value in found[_SBN] for form in isbn_forms(value)]
    for column in (_SSN, _CNB):
        found[column] = [compact_identifier(value) for value in found[column]]
    found[_WYR] = list(dict.fromkeys(_years(found[_WYR])))
    found[_ICZ] = [compact_identifier(control)]
    found[_SYS] = [f"{doc_number:09d}"]
    return tuple(" ".join(values) for values in found)
