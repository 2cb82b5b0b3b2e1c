"""ISBN validation: ISBN-10 (check digit ``X`` or ``x``) and ISBN-13, hyphens and spaces allowed.

The shape test refuses what a lenient validator would quietly repair (a 9-digit SBN,
other dash characters, an ``ISBN`` label), because an e-deposit ISBN must be written as
one; then the check digit decides (ISO 2108: ISBN-10 modulo 11, ISBN-13 an EAN-13 of
the prefix 978 or 979). The arithmetic is done here rather than by python-stdnum
because every ``020`` of every record read is checked (``invalid_ISBN``, docs/messages.md):
stdnum takes 5-10 µs an ISBN, this a fraction of that. A test holds the two equal.
:func:`isbn_problem` says in words why a text is not a valid ISBN, for people.
"""

from __future__ import annotations

from collections.abc import Iterator
from operator import mul

from stdnum import ean
from stdnum import isbn as stdnum_isbn
from stdnum.exceptions import ValidationError

__all__ = ["compact_isbn", "is_valid_isbn", "isbn_problem"]

_ISBN10_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)
_EAN_WEIGHTS = (1, 3) * 6


def compact_isbn(text: str) -> str:
    """The ISBN without hyphens and spaces, check digit upper-cased."""
    return text.replace("-", "").replace(" ", "").upper()


def is_valid_isbn(text: object) -> bool:
    """Whether ``text`` is a valid ISBN-10 or ISBN-13 (hyphens and spaces allowed).

    Its shape: a digit (or ``X``) first, then digits, hyphens and spaces, the check
    digit ``X`` or ``x`` of an ISBN-10 last.
    """
    if not isinstance(text, str):
        return False
    text = text.strip()
    if not text or text[0] == "-":
        return False
    digits = text.replace("-", "").replace(" ", "")
    if len(digits) == 10:
        body, check = digits[:9], digits[9]
        if not (body.isascii() and body.isdigit()) or check not in "0123456789Xx":
            return False
        total: int = sum(map(mul, map(int, body), _ISBN10_WEIGHTS))
        return (total + (10 if check in "Xx" else int(check))) % 11 == 0
    if len(digits) == 13 and digits.isascii() and digits.isdigit() and digits[:3] in _EAN:
        ean_total: int = sum(map(mul, map(int, digits[:12]), _EAN_WEIGHTS))
        return (10 - ean_total % 10) % 10 == int(digits[12])
    return False


#: The prefixes of ISBN-13s (EAN "Bookland").
_EAN = ("978", "979")


def isbn_problem(text: object) -> str | None:
    """Why ``text`` is not a valid ISBN, in words (``None`` when it is one): a character
    that does not belong, the length, the prefix of an ISBN-13 or the check digit.

    The shape rules are this module's (stricter than python-stdnum's); the check digit
    is python-stdnum's verdict, said with the digit the others call for.
    """
    if is_valid_isbn(text):
        return None
    if not isinstance(text, str) or not text.strip():
        return "it is empty"
    return next(_problems(text.strip()), "it is not written as an ISBN")


def _problems(text: str) -> Iterator[str]:
    """What is wrong with ``text`` (stripped, not empty), the most basic first."""
    odd = "".join(dict.fromkeys(c for c in text if not (c.isascii() and c.isdigit())))
    odd = odd.replace("X", "").replace("x", "").replace("-", "").replace(" ", "")
    if odd:
        yield f"it holds {odd!r}: an ISBN is digits, separated by hyphens or spaces"
    if text[0] == "-":
        yield "it begins with a hyphen"
    digits = compact_isbn(text)
    if len(digits) not in (10, 13):
        yield f"it has {len(digits)} digits; an ISBN has 10 or 13"
    elif "X" in digits[:-1] or (len(digits) == 13 and "X" in digits):
        yield "only the check digit of a 10-digit ISBN may be X"
    elif len(digits) == 13 and digits[:3] not in _EAN:
        yield f"a 13-digit ISBN begins with 978 or 979, not {digits[:3]}"
    try:
        stdnum_isbn.validate(digits)
    except stdnum_isbn.InvalidChecksum:
        yield f"its check digit is {digits[-1]}, but the others call for {_check(digits)}"
    except ValidationError as error:
        yield str(error)


def _check(digits: str) -> str:
    """The check digit the other digits of an ISBN-10 or ISBN-13 need."""
    if len(digits) == 13:
        return str(ean.calc_check_digit(digits[:12]))
    remainder = -sum(map(mul, map(int, digits[:9]), _ISBN10_WEIGHTS)) % 11
    return "X" if remainder == 10 else str(remainder)
