"""The JSON wire format: ``serialize(message) -> str`` and ``deserialize(text) -> message``.

A message travels as a JSON object of its fields plus ``"__nt_name"``, the class name,
recursively; lists stay lists (DESIGN §3.1)::

    {"query": {"ISBN": "80-251-0225-4", "base": "nkc", "__nt_name": "ISBNQuery"},
     "__nt_name": "SearchRequest"}

``deserialize`` resolves ``__nt_name`` only through the registry of message classes, so
a message can never make it build anything else, and checks every field against its
class. Anything malformed raises :class:`DeserializationError` (a ``ValueError``) whose
message names what is wrong and where: the JSON path (``$.query.ISBN``), the class and
field, or the line, column and byte of a syntax or encoding error.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# Importing the package registers every message class.
import edeposit.amqp.aleph  # noqa: F401  (registers the message classes)
from edeposit.amqp.errors import DeserializationError, MessageError, SerializationError
from edeposit.amqp.wire.fastwire import decode_message, encode_message
from edeposit.amqp.wire.message import (
    MISSING,
    REGISTRY,
    TYPE_KEY,
    Fallback,
    Message,
    checked_str,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "TYPE_KEY",
    "DeserializationError",
    "SerializationError",
    "deserialize",
    "serialize",
]

#: Largest text ``deserialize`` accepts by default (bytes, or characters for ``str``).
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
#: Deepest nesting of arrays and objects accepted; real messages need fewer than 10.
MAX_DEPTH = 64
#: Longest integer literal accepted (Python's own limit for ``int(str)``).
MAX_INT_DIGITS = 4300


def serialize(obj: Any) -> str:
    """The JSON text of a message (or of lists, dicts and scalars holding messages).

    Raises:
        SerializationError: ``obj`` holds something without a wire form, such as a
            non-finite float (JSON has no NaN) or a string with a lone surrogate
            (it has no UTF-8 form).
    """
    if isinstance(obj, Message):
        try:
            return encode_message(obj)
        except Fallback:
            pass  # the careful walk below names what cannot be sent, and where
    return json.dumps(_encode(obj, "$"), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _encodable_str(value: str, path: str) -> str:
    try:
        return checked_str(value, path)
    except MessageError as error:
        raise SerializationError(str(error)) from None


def _encode(value: Any, path: str) -> Any:
    if isinstance(value, Message):
        encoded = {name: _encode(getattr(value, name), f"{path}.{name}") for name in value._fields}
        encoded[TYPE_KEY] = type(value).__name__
        return encoded
    if isinstance(value, str):
        return _encodable_str(value, path)
    if isinstance(value, float) and not math.isfinite(value):
        raise SerializationError(f"{path}: {value!r} has no JSON form")
    if isinstance(value, int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_encode(item, f"{path}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise SerializationError(f"{path}: dict key {key!r} is not a string")
            _encodable_str(key, f"{path} (a key)")
        return {key: _encode(item, f"{path}.{key}") for key, item in value.items()}
    raise SerializationError(f"{path}: {type(value).__name__} cannot be serialized")


def deserialize(
    text: str | bytes | bytearray | memoryview, max_bytes: int = DEFAULT_MAX_BYTES
) -> Any:
    """The message (or plain JSON value) that ``text`` encodes.

    Args:
        text: the JSON text, as ``str`` or as UTF-8 bytes.
        max_bytes: larger input is refused before it is decoded.

    Raises:
        DeserializationError: invalid UTF-8 or JSON (also ``NaN``, ``Infinity``, a
            number out of range, a duplicate key, a lone surrogate), too large or too
            deep, an unknown ``__nt_name``, or a missing, unknown or wrongly typed field.
    """
    raw: bytes | None = None
    if isinstance(text, bytes | bytearray | memoryview):
        raw = bytes(text)
        if len(raw) > max_bytes:
            raise DeserializationError(f"message is {len(raw)} bytes, larger than {max_bytes}")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise DeserializationError(
                "message is not valid UTF-8: "
                f"byte 0x{raw[error.start]:02x} at position {error.start}"
            ) from None
    elif not isinstance(text, str):
        raise DeserializationError(f"message must be str or bytes, not {type(text).__name__}")
    elif len(text) > max_bytes:
        raise DeserializationError(f"message is {len(text)} characters, larger than {max_bytes}")
    if _no_lone_surrogates(text, raw):
        try:
            return decode_message(text)
        except Fallback:
            pass  # leniency to apply, or a fault to name: the careful path below
    try:
        data = json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_refuse_constant,
        )
    except DeserializationError:
        raise
    except json.JSONDecodeError as error:
        raise DeserializationError(
            f"message is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
            f" (char {error.pos})"
        ) from None
    except RecursionError:
        raise DeserializationError("message is nested too deeply") from None
    return _decode(data, "$", 0)


#: An escaped surrogate (high or low); a valid pair matches too, and takes the careful path.
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def _no_lone_surrogates(text: str, raw: bytes | None) -> bool:
    """Whether no string this JSON text decodes to can hold a lone surrogate.

    Valid UTF-8 (``raw``, the text's bytes) holds none literally, so only an escaped
    one could make one. A regular expression, because ``bytes.find`` slows down on
    the many backslashes of escaped XML.
    """
    if raw is None:
        try:
            raw = text.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return _ESCAPED_SURROGATE.search(raw) is None


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


def _decode(value: Any, path: str, depth: int) -> Any:
    """Any JSON value: structures named by ``__nt_name`` become messages."""
    if depth > MAX_DEPTH:
        raise DeserializationError(f"{path}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        if TYPE_KEY in value:
            return _build(value, None, path, depth)
        return {
            _decodable_str(key, f"{path} (a key)"): _decode(item, f"{path}.{key}", depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_decode(item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value)]
    if isinstance(value, str):
        return _decodable_str(value, path)
    return value


def _decodable_str(value: str, path: str) -> str:
    try:
        return checked_str(value, path)
    except MessageError as error:
        raise DeserializationError(str(error)) from None


def _build(
    data: dict[str, Any],
    allowed: tuple[type[Message], ...] | None,
    path: str,
    depth: int,
) -> Message:
    """The message ``data`` describes, checked field by field against its class."""
    if depth > MAX_DEPTH:
        raise DeserializationError(f"{path}: nested deeper than {MAX_DEPTH} levels")
    cls = _message_class(data, allowed, path)
    name = cls.__name__
    wire = cls.__wire__
    legacy: frozenset[str] = getattr(cls, "__wire_legacy__", frozenset())
    for key in data:
        if key != TYPE_KEY and key not in wire and key not in legacy:
            raise DeserializationError(f"{path}: {name} has no field {key!r}")
    arguments: dict[str, Any] = {}
    for field_name, field in wire.items():
        if field_name in data:
            arguments[field_name] = _field_value(
                cls, field_name, data[field_name], f"{path}.{field_name}", depth
            )
        elif field.default is not MISSING:
            arguments[field_name] = field.missing_value()
        else:
            raise DeserializationError(f"{path}: {name} is missing the field {field_name!r}")
    try:
        return cls(**arguments)
    except (TypeError, ValueError) as error:
        raise DeserializationError(f"{path}: cannot build {name}: {error}") from None


def _message_class(
    data: dict[str, Any], allowed: tuple[type[Message], ...] | None, path: str
) -> type[Message]:
    """The registered class ``data`` names, if it is one of ``allowed``."""
    name = data.get(TYPE_KEY)
    if name is None:
        raise DeserializationError(f"{path}: object has no {TYPE_KEY!r} naming its class")
    if not isinstance(name, str):
        raise DeserializationError(f"{path}: {TYPE_KEY} must be a string, not {name!r}")
    cls = REGISTRY.get(name)
    if cls is None:
        raise DeserializationError(f"{path}: unknown message class {name!r}")
    if allowed is not None and cls not in allowed:
        expected = " or ".join(option.__name__ for option in allowed)
        raise DeserializationError(f"{path}: expected {expected}, got {name}")
    return cls


def _field_value(cls: type[Message], field_name: str, value: Any, path: str, depth: int) -> Any:
    try:
        return cls.__wire__[field_name].kind.decode(value, path, depth, _build)
    except DeserializationError:
        raise
    except MessageError as error:
        raise DeserializationError(f"{cls.__name__}.{field_name} at {error}") from None
