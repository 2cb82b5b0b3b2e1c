"""ISBN validation: ISBN-10 (check digit ``X`` or ``x``) and ISBN-13, hyphens and spaces allowed.

The shape test refuses what a lenient validator would quietly repair (a 9-digit SBN,
other dash characters, an ``ISBN`` label), because an e-deposit ISBN must be written as
one; then the check digit decides (ISO 2108: ISBN-10 modulo 11, ISBN-13 an EAN-13 of
the prefix 978 or 979). The arithmetic is done here rather than by python-stdnum
because every ``020`` of every record read is checked (``invalid_ISBN``, docs/messages.md):
stdnum takes 5-10 µs an ISBN, this a fraction of that. A test holds the two equal.
"""

from __future__ import annotations

from operator import mul

__all__ = ["compact_isbn", "is_valid_isbn"]

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
