"""The JSON wire format: ``encode(message, options) -> bytes``, ``decode(data, options)``.

A message travels as a JSON object of its fields plus ``"__nt_name"``, the class name,
recursively; lists stay lists (docs/messages.md)::

    {"query": {"ISBN": "80-251-0225-4", "base": "nkc", "__nt_name": "ISBNQuery"},
     "__nt_name": "SearchRequest"}

``decode`` resolves ``__nt_name`` only through the registry of message classes, so a
message can never make it build anything else, and checks every field against its
class. Anything malformed raises :class:`DeserializationError` (a ``ValueError``) whose
message names what is wrong and where: the JSON path (``$.query.ISBN``), the class and
field, or the line, column and byte of a syntax or encoding error.

Reading is :func:`json.loads`, whose pair hook refuses duplicate keys, then one walk
that builds the messages (:mod:`edeposit.amqp.wire.decoding`). Writing is orjson,
which asks only for each message's fields (:mod:`edeposit.amqp.wire.encoding`).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from edeposit.amqp.errors import DeserializationError, SerializationError
from edeposit.amqp.wire.decoding import MAX_DEPTH, Reading
from edeposit.amqp.wire.encoding import write
from edeposit.amqp.wire.message import TYPE_KEY, WireFault
from edeposit.amqp.wire.options import WireOptions

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "TYPE_KEY",
    "DeserializationError",
    "SerializationError",
    "WireOptions",
    "decode",
    "encode",
]

#: Largest text ``decode`` accepts by default (bytes, or characters for ``str``).
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
#: Longest integer literal accepted (Python's own limit for ``int(str)``).
MAX_INT_DIGITS = 4300

_NO_OPTIONS = WireOptions()


def encode(obj: Any, options: WireOptions = _NO_OPTIONS) -> bytes:
    """The UTF-8 JSON of a message (or of lists, dicts and scalars holding messages).

    ``options.generation`` names the output form (docs/messages.md): the 2014 form of an
    ``AlephRecord`` and its ``EPublication``, or the 2015 form with the later fields.

    Raises:
        SerializationError: ``obj`` holds something without a wire form: a value that
            is not a message, list, dict or JSON scalar, a non-finite float (JSON has
            no NaN), a string with a lone surrogate (it has no UTF-8 form), or an
            integer beyond 64 bits (what the writer, and many clients, can hold).
    """
    return write(obj, options.generation)


def decode(
    data: str | bytes | bytearray | memoryview,
    options: WireOptions = _NO_OPTIONS,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Any:
    """The message (or plain JSON value) that ``data`` encodes.

    Args:
        data: the JSON text, as ``str`` or as UTF-8 bytes.
        options: the defaults for fields a message leaves out (a query's ``base``).
        max_bytes: larger input is refused before it is decoded.

    Raises:
        DeserializationError: invalid UTF-8 or JSON (also ``NaN``, ``Infinity``, a
            number out of range, a duplicate key, a lone surrogate), too large or too
            deep, an unknown ``__nt_name``, or a missing, unknown or wrongly typed field.
    """
    if isinstance(data, str):
        if len(data) > max_bytes:
            raise DeserializationError(
                f"message is {len(data)} characters, larger than {max_bytes}"
            )
        text = data
        # Text is characters, not UTF-8: a lone surrogate may stand in it as itself.
        # Unless it is ASCII, checking the strings it holds costs less than encoding
        # all of it to search it.
        may_hold_surrogates = (
            not text.isascii() or _ESCAPED_SURROGATE.search(text.encode("ascii")) is not None
        )
    elif isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if len(raw) > max_bytes:
            raise DeserializationError(f"message is {len(raw)} bytes, larger than {max_bytes}")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise DeserializationError(
                "message is not valid UTF-8: "
                f"byte 0x{raw[error.start]:02x} at position {error.start}"
            ) from None
        # Valid UTF-8 holds no surrogate itself: only an escaped one can make one.
        may_hold_surrogates = _ESCAPED_SURROGATE.search(raw) is not None
    else:
        raise DeserializationError(f"message must be str or bytes, not {type(data).__name__}")
    try:
        parsed = json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_refuse_constant,
        )
    except json.JSONDecodeError as error:
        raise DeserializationError(
            f"message is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
            f" (char {error.pos})"
        ) from None
    except RecursionError:
        raise DeserializationError("message is nested too deeply") from None
    reading = Reading(options.defaults, check_strings=may_hold_surrogates)
    try:
        return reading.value(parsed)
    except WireFault as fault:
        raise DeserializationError(fault.describe()) from None
    except RecursionError:
        raise DeserializationError("message is nested too deeply") from None


#: An escaped surrogate (high or low) in UTF-8 JSON; a valid pair matches too, and only
#: makes the decoder check its strings. A regular expression on bytes, because
#: ``bytes.find`` slows down on the many backslashes of escaped XML, and one that looks
#: for surrogates in text too is many times slower.
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        name = result.get(TYPE_KEY)
        where = f"one {name} object" if isinstance(name, str) else "one object"
        raise DeserializationError(f"message has the key {duplicate!r} twice in {where}")
    return result


def _parse_int(literal: str) -> int:
    # Python refuses longer literals with a plain ValueError; say so in the one error type.
    digits = len(literal) - literal.startswith("-")
    if digits > MAX_INT_DIGITS:
        raise DeserializationError(
            f"message holds an integer of {digits} digits, more than {MAX_INT_DIGITS}"
        )
    return int(literal)


def _parse_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise DeserializationError(f"message holds the number {literal[:40]}, out of range")
    return value


def _refuse_constant(literal: str) -> Any:
    # Python's json reads NaN and Infinity; JSON (RFC 8259) has no such values.
    raise DeserializationError(f"message is not valid JSON: {literal} is not a JSON value")
