"""X-Services replies: their shapes, what they hold, and which error each ``<error>`` means.

Pure functions over parsed XML (no I/O), so the protocol's rules live in one place:
the root element is named after the op (``<login>`` when the X-Server refused the call),
``<error>`` elements carry the catalogue's complaints, numbers are zero-padded. The
catalogue's error texts are mostly undocumented, so they are matched by their words and
otherwise mapped by the op they answer (ALEPH-XSERVICES.md §4).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from lxml import etree

from edeposit.amqp.errors import (
    AlephException,
    AlephReplyError,
    DocumentNotFoundException,
    InvalidAlephBaseException,
    InvalidAlephFieldException,
    LibraryNotFoundException,
)
from edeposit.amqp.marc.safe_xml import local_name

__all__ = [
    "EMPTY_SET",
    "FoundSet",
    "PresentedRecord",
    "child_text",
    "error_for",
    "errors_of",
    "read_find",
    "read_present",
    "shortened",
]

#: Longest piece of a reply quoted in an error message.
MAX_SHOWN = 300
#: The ``find`` error that means "no hits" rather than a failure.
EMPTY_SET = "empty set"
#: The ``present`` error for entries past the end of the set: the end, not a failure.
_PAST_END = "there is no entry number"

_LICENCE = re.compile(r"licen[cs]e|overloaded", re.IGNORECASE)
_BASE = re.compile(r"\bbase\b", re.IGNORECASE)
_FIELD = re.compile(
    r"\b(?:unknown|invalid|wrong)\b.*\b(?:code|index|field)\b"
    r"|\b(?:code|index|field)\b.*\b(?:unknown|not defined|does not exist|invalid)\b",
    re.IGNORECASE,
)
_LIBRARY = re.compile(r"\blibrary\b", re.IGNORECASE)
_DOCUMENT = re.compile(
    r"error reading document"
    r"|\b(?:doc|document|record)\b.*\b(?:not found|does not exist|deleted)"
    r"|\b(?:no such|unknown) (?:doc|document|record)\b",
    re.IGNORECASE,
)


@dataclasses.dataclass(frozen=True, slots=True)
class FoundSet:
    """What ``find`` created: a result set and its sizes (0 and "" for an empty set)."""

    set_number: str
    no_records: int  #: hits
    no_entries: int  #: entries stored in the set (at most the site's set limit)


@dataclasses.dataclass(frozen=True, slots=True)
class PresentedRecord:
    """One ``<record>`` of a ``present`` reply, with its system number."""

    doc_number: int
    element: etree._Element


def child_text(parent: etree._Element, name: str) -> str | None:
    """Stripped text of the first direct child called ``name`` (any namespace), or None."""
    for child in parent:
        if local_name(child) == name:
            return (child.text or "").strip()
    return None


def errors_of(root: etree._Element) -> list[str]:
    """The texts of the reply's ``<error>`` elements, in order."""
    return [(child.text or "").strip() for child in root if local_name(child) == "error"]


def _number(root: etree._Element, name: str, op: str) -> int:
    text = child_text(root, name)
    if text is None or not text.isascii() or not text.isdigit():
        raise AlephReplyError(f"{op} reply has no numeric <{name}> (got {text!r})")
    return int(text)


#: (applies to (op, root name, text), exception class, note) — the first match wins.
_RULES: tuple[tuple[Callable[[str, str, str], object], type[AlephException], str], ...] = (
    (lambda op, root, text: _LICENCE.search(text), AlephException, "licence limit or overload"),
    (
        lambda op, root, text: root == "login" and (op == "ill_get_doc" or _LIBRARY.search(text)),
        LibraryNotFoundException,
        "",
    ),
    (lambda op, root, text: root == "login", AlephException, "the X-Server refused the call"),
    (
        lambda op, root, text: op in ("ill_get_doc", "ill_get_set") and _LIBRARY.search(text),
        LibraryNotFoundException,
        "",
    ),
    (lambda op, root, text: _BASE.search(text), InvalidAlephBaseException, ""),
    (lambda op, root, text: op == "find" and _FIELD.search(text), InvalidAlephFieldException, ""),
    # An unknown document is the only documented ill_get_doc error.
    (
        lambda op, root, text: op == "ill_get_doc" or _DOCUMENT.search(text),
        DocumentNotFoundException,
        "",
    ),
)


def shortened(text: str, limit: int = MAX_SHOWN) -> str:
    """``text`` cut to ``limit`` characters: what a reply says travels in error messages
    (and so in the error replies' headers), and a reply may say a lot."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_for(op: str, root_name: str, text: str) -> AlephException:
    """The exception for an ``<error>`` the catalogue sent in answer to ``op``."""
    text = shortened(" ".join(text.split()))
    message = f"Aleph {op}: {text}" if text else f"Aleph {op} failed without a message"
    for applies, error_class, note in _RULES:
        if applies(op, root_name, text):
            return error_class(f"{message} ({note})" if note else message)
    return AlephException(message)


def read_find(root: etree._Element) -> FoundSet:
    """The result set of a ``find`` reply; ``empty set`` gives an empty :class:`FoundSet`.

    Raises:
        AlephException: (or a subclass) any other ``<error>``.
        AlephReplyError: the numbers are missing.
    """
    errors = errors_of(root)
    if errors:
        if errors[0].lower() == EMPTY_SET:
            return FoundSet("", 0, 0)
        raise error_for("find", local_name(root), "; ".join(errors))
    set_number = child_text(root, "set_number")
    if not set_number:
        raise AlephReplyError("find reply has no <set_number>")
    no_records = _number(root, "no_records", "find")
    no_entries = _number(root, "no_entries", "find")
    return FoundSet(set_number, no_records, min(no_entries, no_records))


def read_present(root: etree._Element) -> tuple[list[PresentedRecord], bool]:
    """The records of a ``present`` reply, and whether it said the set ended before the range.

    Raises:
        AlephException: an ``<error>`` other than "There is no entry number".
        AlephReplyError: a record without a numeric ``<doc_number>``.
    """
    records: list[PresentedRecord] = []
    for child in root:
        if local_name(child) == "record":
            records.append(PresentedRecord(_number(child, "doc_number", "present"), child))
    errors = errors_of(root)
    failures = [text for text in errors if not text.lower().startswith(_PAST_END)]
    if failures:
        raise error_for("present", local_name(root), "; ".join(failures))
    return records, bool(errors)
