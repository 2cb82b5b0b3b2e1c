"""ISBD punctuation: what the catalogue writes around a value, taken off its ends.

NKP catalogues in ISBD, so a subfield carries the punctuation that joins it to the next
one: ``260 $a Brno : $b Computer Press, $c 2004``, ``245 $a Umění programování v UNIXu
/``, ``020 $a 80-251-0225-4 (brož.) :``. The production e-deposit system removed it
from both ends of every value (docs/messages.md): ``Brno``, ``Computer Press``, ``brož.``.

The characters are ``/:;,- []<>()``: the set the production cleaning actually applied.
Its parser declared another (`` :;<>(){}[]\\/``, without the comma and the hyphen), but
the decorator that cleaned the values binds the ``remove_hairs`` package's default
``/:;,- []<>()`` when it is defined (Bystroushaak/remove_hairs,
``remove_hairs_decorator(fn=None, hairs=HAIRS)``; edeposit/marcxml_parser ``query.py``
sets ``remove_hairs.HAIRS`` only afterwards), and its own tests expect that set
(``"Vydavatelství Stáza,"`` → ``"Vydavatelství Stáza"``). So braces and the backslash
stay. Dates have their own rule (:func:`clean_date`), which keeps ``2002-`` open.

One refinement over stripping a character set: a bracket at an end is taken off only
when it pairs with nothing inside the value or with the bracket at the other end, so
``Praha (112 29 Praha 1, Vodičkova 40) :`` keeps its parenthesis while ``(brož.) :``
loses both of its own.
"""

from __future__ import annotations

import re

__all__ = ["ISBD_PUNCTUATION", "clean", "clean_date"]

#: Characters removed from both ends of every text value.
ISBD_PUNCTUATION = "/:;,- []<>()"
#: The characters among them that are no brackets.
_PLAIN = "/:;,- "
#: The opening bracket of each closing one, and the other way round.
_OPENER_OF = {")": "(", "]": "[", ">": "<"}
_CLOSER_OF = {opener: closer for closer, opener in _OPENER_OF.items()}
_BRACKETS = "()[]<>"


def clean(value: str) -> str:
    """``value`` without the ISBD punctuation at its ends (brackets only when unpaired).

    ``"Brno :"`` → ``"Brno"``; ``"(Klub Julese Vernea : brož.) :"`` → ``"Klub Julese
    Vernea : brož."``; ``"[Brno :"`` → ``"Brno"``.
    """
    if not value or (value[0] not in ISBD_PUNCTUATION and value[-1] not in ISBD_PUNCTUATION):
        return value  # the usual case: nothing to take off
    text = value.strip(_PLAIN)
    if text and text[0] not in _BRACKETS and text[-1] not in _BRACKETS:
        return text  # the next most usual: "Brno :", "Computer Press,"
    while text:
        first, last = text[0], text[-1]
        if last in _OPENER_OF:  # a closing bracket: content if it closes one opened inside
            opened_at = _opener_of(text)
            if opened_at is None:
                text = text[:-1].strip(_PLAIN)
                continue
            if opened_at == 0:
                text = text[1:-1].strip(_PLAIN)
                continue
        elif last in _CLOSER_OF:  # an opening bracket at the end opens nothing
            text = text[:-1].strip(_PLAIN)
            continue
        if first in _CLOSER_OF:  # an opening bracket: content if it closes inside
            if _closer_of(text) is None:
                text = text[1:].strip(_PLAIN)
                continue
        elif first in _OPENER_OF:  # a closing bracket at the start closes nothing
            text = text[1:].strip(_PLAIN)
            continue
        break
    return text


def _opener_of(text: str) -> int | None:
    """Where the bracket that the last character of ``text`` closes opens, if it does."""
    closer = text[-1]
    opener = _OPENER_OF[closer]
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        char = text[index]
        if char == closer:
            depth += 1
        elif char == opener:
            depth -= 1
            if depth == 0:
                return index
    return None


def _closer_of(text: str) -> int | None:
    """Where the bracket that the first character of ``text`` opens closes, if it does."""
    opener = text[0]
    closer = _CLOSER_OF[opener]
    depth = 0
    for index, char in enumerate(text):
        if char == opener:
            depth += 1
        elif char == closer:
            depth -= 1
            if depth == 0:
                return index
    return None


def clean_date(value: str) -> str:
    """A date of ``260 $c``/``264 $c``: digits, spaces and a ``-`` after a digit only.

    ``"[2014?]-"`` → ``"2014"`` (the hyphen follows a bracket), ``"2002-"`` →
    ``"2002-"`` (still published), ``"1953-1992"`` unchanged, ``"c2015"`` → ``"2015"``.
    The rule of NKP's parser (edeposit/marcxml_parser ``query.py``,
    ``get_pub_date``/``clean_date``), then the spaces at the ends removed.
    """
    year = value.strip(" .,:;[]")  # "2004.", "[1995]": only digits left, the usual case
    if year.isascii() and year.isdigit():
        return year
    return _NOT_DATE.sub("", value).strip()


#: What a date loses: anything but digits, spaces and hyphens, and a hyphen that does not
#: follow a digit.
_NOT_DATE = re.compile(r"[^0-9 -]|(?<![0-9])-")
