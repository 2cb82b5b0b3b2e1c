"""The catalogue's e-deposit export form (ALEPH-XSERVICES.md §10): checks and HTML verdicts.

A publication is accepted when the form carries a sender signature, a valid ISBN
(checked with python-stdnum), a valid set ISBN if one is given, and every required
field. A rejection is told by an ``Aleph-Info: error…`` header, or — in the pre-2015
*legacy* behaviour — by the text ``Požadavek byl odmítnut`` in the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from stdnum import isbn as stdnum_isbn

from edeposit.amqp.emulator.record import Field, Fields
from edeposit.amqp.emulator.rendering import escape

__all__ = ["REJECTION_TEXT", "Verdict", "check_form", "record_of", "verdict_page"]

#: What the form's page said when it rejected a publication, before the header existed.
REJECTION_TEXT = "Požadavek byl odmítnut"
#: Required form fields and what they mean.
REQUIRED = {
    "P07012001_a": "title",
    "P0901210__a": "place of publication",
    "P0903210__d": "date of publication",
    "P0801205__a": "edition",
    "P1502IST1_b": "record processor",
    "P0502010__b": "binding or form",
    "P0902210__c": "publisher",
}
_AUTHORS = ("P1301ZAK__b", "P1302ZAK__c", "P1303ZAK__c")
_DEFAULT_LEADER = "-----nam-a22------a-4500"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The form's answer: accepted, or the reasons it was not."""

    reasons: tuple[str, ...]

    @property
    def accepted(self) -> bool:
        """Whether the publication was accepted."""
        return not self.reasons


def _valid_isbn(value: str) -> bool:
    compact = value.replace("-", "").replace(" ", "")
    return len(compact) in (10, 13) and bool(stdnum_isbn.is_valid(compact))


def check_form(form: Mapping[str, str]) -> Verdict:
    """Checks a posted form; every problem found is a reason."""
    reasons: list[str] = []
    if not form.get("sid", "").strip():
        reasons.append("missing sender signature (sid)")
    isbn = form.get("P0501010__a", "").strip()
    if not isbn:
        reasons.append("missing ISBN (P0501010__a)")
    elif not _valid_isbn(isbn):
        reasons.append(f"invalid ISBN {isbn!r} (P0501010__a)")
    set_isbn = form.get("P0601010__a", "").strip()
    if set_isbn and not _valid_isbn(set_isbn):
        reasons.append(f"invalid ISBN of the set {set_isbn!r} (P0601010__a)")
    reasons += [
        f"missing {meaning} ({name})"
        for name, meaning in REQUIRED.items()
        if not form.get(name, "").strip()
    ]
    binding = form.get("P0502010__b", "").strip().lower()
    if binding == "online" and not form.get("P0503010__x", "").strip():
        reasons.append("missing format of the online publication (P0503010__x)")
    return Verdict(tuple(reasons))


def verdict_page(verdict: Verdict, *, legacy: bool) -> tuple[int, dict[str, str], bytes]:
    """(HTTP status, headers, HTML body) answering a posted form."""
    headers = {"Content-Type": "text/html; charset=utf-8"}
    if verdict.accepted:
        title, text = "Požadavek byl přijat", "Záznam byl předán ke zpracování."
    else:
        reasons = "; ".join(verdict.reasons)
        title = REJECTION_TEXT if legacy else "Chyba"
        text = reasons
        if not legacy:
            header = f"error: {reasons}".encode("ascii", "replace").decode("ascii")
            headers["Aleph-Info"] = " ".join(header.split())
    body = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>\n"
        f"<body><h1>{escape(title)}</h1>\n<p>{escape(text)}</p></body></html>\n"
    )
    return 200, headers, body.encode()


def record_of(form: Mapping[str, str]) -> Fields:
    """A catalogue record for an accepted form, so the publication can be found by ISBN."""

    def value(name: str) -> str:
        return form.get(name, "").strip()

    def data(tag: str, ind: str, *pairs: tuple[str, str]) -> list[Field]:
        subfields = tuple((code, text) for code, text in pairs if text)
        return [Field(tag, "", ind[0], ind[1], subfields)] if subfields else []

    binding = value("P0502010__b")
    isbn = value("P0501010__a") + (f" ({binding})" if binding else "")
    authors = [value(name) for name in _AUTHORS if value(name)]
    fields: list[Field] = [
        Field("LDR", value("P0100LDR__") or _DEFAULT_LEADER, control=True),
        Field("FMT", value("P0200FMT__") or "BK", control=True),
        *data("BAS", "  ", ("a", value("P0300BAS__a"))),
        *data("020", "  ", ("a", isbn), ("q", value("P0503010__x")), ("c", value("P0504010__d"))),
        *data("020", "  ", ("a", value("P0601010__a")), ("q", "soubor")),
        *data("040", "  ", ("a", value("P1502IST1_b"))),
        *data("100", "1 ", ("a", authors[0] if authors else "")),
        *data(
            "245",
            "10",
            ("a", value("P07012001_a")),
            ("h", value("P07022001_b")),
            ("b", value("P07032001_e")),
            ("n", value("P07042001_h")),
            ("p", value("P07052001_i")),
        ),
        *data("250", "  ", ("a", value("P0801205__a"))),
        *data(
            "260",
            "  ",
            ("a", value("P0901210__a")),
            ("b", value("P0902210__c")),
            ("c", value("P0903210__d")),
        ),
        *data("490", "0 ", ("a", value("P10012252_a")), ("v", value("P10022252_v"))),
        *[field for author in authors[1:] for field in data("700", "1 ", ("a", author))],
        *data("856", "4 ", ("u", value("P110185640u"))),
    ]
    return tuple(fields)
