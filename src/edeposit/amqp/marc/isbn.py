"""ISBN validation: ISBN-10 (check digit ``X`` or ``x``) and ISBN-13, hyphens and spaces allowed.

python-stdnum checks the check digits; the stricter shape test in front of it refuses
what stdnum would quietly repair (a 9-digit SBN, other dash characters, an ``ISBN``
label), because an e-deposit ISBN must be written as one.
"""

from __future__ import annotations

import re

from stdnum import isbn as stdnum_isbn
from stdnum.exceptions import ValidationError

__all__ = ["compact_isbn", "is_valid_isbn"]

_SHAPE = re.compile(r"[0-9Xx][0-9Xx -]*")


def compact_isbn(text: str) -> str:
    """The ISBN without hyphens and spaces, check digit upper-cased."""
    return text.replace("-", "").replace(" ", "").upper()


def is_valid_isbn(text: object) -> bool:
    """Whether ``text`` is a valid ISBN-10 or ISBN-13 (hyphens and spaces allowed)."""
    if not isinstance(text, str):
        return False
    text = text.strip()
    if not _SHAPE.fullmatch(text):
        return False
    digits = compact_isbn(text)
    if len(digits) not in (10, 13):  # stdnum would read 9 digits as an SBN
        return False
    try:
        stdnum_isbn.validate(digits)
    except ValidationError:
        return False
    return True
