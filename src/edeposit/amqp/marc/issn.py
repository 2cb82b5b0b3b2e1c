"""ISSNs (ISO 3297): eight characters, the last a check digit modulo 11 (``X`` for 10).

python-stdnum does the arithmetic: ISSNs occur only in a serial's ``022`` and in
queries, far too rarely for its cost to matter (unlike ISBNs, see :mod:`.isbn`). A
value in a record is the ISSN up to its first space (``1213-8215 (tištěné vyd.)``), as
NKP's production system read it.
"""

from __future__ import annotations

from stdnum import issn as stdnum_issn
from stdnum.exceptions import InvalidChecksum, InvalidLength, ValidationError

from edeposit.amqp.errors import InvalidISSNError

__all__ = ["checked_issn", "is_valid_issn", "issn_of"]


def issn_of(value: str) -> str:
    """The ISSN of a ``022`` value: the text before its first space (``""`` for none)."""
    return value.strip().split(" ", 1)[0]


def is_valid_issn(text: str) -> bool:
    """Whether ``text`` is an ISSN with a correct check digit (a hyphen or space allowed)."""
    return bool(stdnum_issn.is_valid(text))


def checked_issn(text: str) -> str:
    """``text`` as the catalogue's index writes an ISSN (``1213-8215``), if it is valid.

    Raises:
        InvalidISSNError: ``text`` is no ISSN; the message says what is wrong with it.
    """
    if not text.strip():
        raise InvalidISSNError(f"{text!r} is not a valid ISSN: it is empty")
    try:
        return str(stdnum_issn.format(stdnum_issn.validate(text)))
    except InvalidChecksum:
        problem = "its check digit does not match"
    except InvalidLength:
        problem = "an ISSN has eight characters (NNNN-NNNC)"
    except ValidationError:
        problem = "an ISSN is seven digits and a check digit (a digit or X)"
    raise InvalidISSNError(f"{text!r} is not a valid ISSN: {problem}")
