"""Safe decoding of message properties: nothing a broker accepts can abort a connection.

pika decodes each delivery's properties on the connection's I/O thread, inside its frame
reader. A header that RabbitMQ accepts but pika cannot decode (a timestamp past the
year 9999, a table nested hundreds deep) raises there, aborts the whole connection, and
the broker hands the same message to the next connection: a loop that starves every
other request. pika also reads floats and doubles as integers, so a header cannot be
echoed as it came.

:func:`install` changes two things in pika (the dependency is bounded to pika 1.3 and
1.4, whose ``spec.props`` table and ``data.encode_value`` it relies on;
tests/test_frames.py checks both):

* received Basic properties are :class:`SafeBasicProperties`: pika's decoding, and when it
  fails, a tolerant one that keeps every property and header it can read and records
  the failure in :attr:`~SafeBasicProperties.decode_error`, so the delivery becomes a
  fault of its own instead of an I/O-thread exception;
* a :class:`RawField` in a header table is written exactly as it was received, which is
  how an answer echoes its request's ``UUID`` byte for byte whatever its AMQP type.
"""

from __future__ import annotations

import struct
from typing import Any

import pika
import pika.data
import pika.spec
from pika.spec import BasicProperties

__all__ = ["RawField", "SafeBasicProperties", "install", "raw_header"]

#: Bytes of a field value after its type octet, for the fixed-size AMQP field types
#: (RabbitMQ's table types: ``s`` is a short int, ``D`` a decimal of 1 + 4 bytes).
_FIXED_SIZES = {
    b"t": 1, b"b": 1, b"B": 1, b"s": 2, b"u": 2, b"U": 2, b"I": 4, b"i": 4,
    b"L": 8, b"l": 8, b"f": 4, b"d": 8, b"D": 5, b"T": 8, b"V": 0,
}  # fmt: skip
#: Field types whose value is a 32-bit length and that many bytes.
_SIZED = frozenset({b"S", b"x", b"A", b"F"})
#: What a failed decoding may raise; RecursionError comes from deeply nested tables.
_DECODING_ERRORS = (Exception, RecursionError)


class RawField(bytes):
    """A header value as received: its AMQP type octet and value bytes, re-sent verbatim."""


class SafeBasicProperties(BasicProperties):  # type: ignore[misc]  # pika is untyped
    """Basic properties whose decoding never raises (see the module docstring)."""

    #: Why the properties could not be read in full, or None when they could.
    decode_error: str | None = None
    #: The ``UUID`` header exactly as received, when decoding would not give it back
    #: identically (any type but a UTF-8 long string), else None.
    raw_uuid: RawField | None = None

    def decode(self, encoded: bytes, offset: int = 0) -> SafeBasicProperties:
        try:
            super().decode(encoded, offset)
        except _DECODING_ERRORS as error:
            self.decode_error = f"{type(error).__name__}: {error}"[:300]
            _decode_tolerantly(self, encoded, offset)
        headers = self.headers
        if isinstance(headers, dict) and "UUID" in headers and type(headers["UUID"]) is str:
            return self  # a UTF-8 string re-encodes to the same bytes
        self.raw_uuid = raw_header(encoded, offset, "UUID")
        return self


def raw_header(encoded: bytes, offset: int, name: str) -> RawField | None:
    """The raw field of header ``name`` in encoded Basic properties, or None."""
    try:
        flags, offset = _flags(encoded, offset)
        for flag in (BasicProperties.FLAG_CONTENT_TYPE, BasicProperties.FLAG_CONTENT_ENCODING):
            if flags & flag:
                offset += 1 + encoded[offset]
        if not flags & BasicProperties.FLAG_HEADERS:
            return None
        entries, _end = _table_entries(encoded, offset)
    except (IndexError, struct.error):
        return None
    wanted = name.encode()
    for key, start, end in entries:
        if key == wanted:
            return RawField(encoded[start:end])
    return None


def install() -> None:
    """Make pika decode received properties safely and write raw fields (idempotent)."""
    index = BasicProperties.INDEX
    if pika.spec.props.get(index) not in (BasicProperties, SafeBasicProperties):
        raise RuntimeError(f"pika {pika.__version__}: unexpected properties class for {index}")
    pika.spec.props[index] = SafeBasicProperties
    if getattr(pika.data.encode_value, "writes_raw_fields", False):
        return
    original = pika.data.encode_value

    def encode_value(pieces: list[bytes], value: Any) -> int:
        if isinstance(value, RawField):
            pieces.append(bytes(value))
            return len(value)
        return int(original(pieces, value))

    encode_value.writes_raw_fields = True  # type: ignore[attr-defined]
    pika.data.encode_value = encode_value


# --- reading around what cannot be decoded -------------------------------------------


def _flags(encoded: bytes, offset: int) -> tuple[int, int]:
    flags = 0
    word = 0
    while True:
        partial = struct.unpack_from(">H", encoded, offset)[0]
        offset += 2
        flags |= partial << (word * 16)
        if not partial & 1:
            return flags, offset
        word += 1


def _table_entries(encoded: bytes, offset: int) -> tuple[list[tuple[bytes, int, int]], int]:
    """``(key, start, end)`` of each field of the table at ``offset`` (start at the type
    octet), found by sizes alone: nothing is decoded, nothing recursed into."""
    size = struct.unpack_from(">I", encoded, offset)[0]
    offset += 4
    limit = offset + size
    entries = []
    while offset < limit:
        key_length = encoded[offset]
        key = bytes(encoded[offset + 1 : offset + 1 + key_length])
        start = offset + 1 + key_length
        kind = encoded[start : start + 1]
        if kind in _SIZED:
            end = start + 5 + struct.unpack_from(">I", encoded, start + 1)[0]
        elif kind in _FIXED_SIZES:
            end = start + 1 + _FIXED_SIZES[kind]
        else:  # an unknown type: its size is unknown, so nothing after it can be read
            break
        entries.append((key, start, end))
        offset = end
    return entries, limit


def _tolerant_headers(encoded: bytes, offset: int) -> tuple[dict[str, Any], int]:
    """The table's fields that decode; the others are left out."""
    entries, end = _table_entries(encoded, offset)
    headers: dict[str, Any] = {}
    for key, start, _end in entries:
        try:
            value, _ = pika.data.decode_value(encoded, start)
        except _DECODING_ERRORS:
            continue
        headers[key.decode("utf-8", "replace")] = value
    return headers, end


def _decode_tolerantly(properties: BasicProperties, encoded: bytes, offset: int) -> None:
    """pika's field order, with the headers read field by field."""
    for name in (*_SHORT_STRINGS, "headers", "delivery_mode", "priority", "timestamp"):
        setattr(properties, name, None)
    try:
        flags, offset = _flags(encoded, offset)
        for flag, name in _LAYOUT:
            if not flags & flag:
                continue
            if name == "headers":
                properties.headers, offset = _tolerant_headers(encoded, offset)
            elif name in ("delivery_mode", "priority"):
                setattr(properties, name, encoded[offset])
                offset += 1
            elif name == "timestamp":
                properties.timestamp = struct.unpack_from(">Q", encoded, offset)[0]
                offset += 8
            else:
                value, offset = pika.data.decode_short_string(encoded, offset)
                setattr(properties, name, value)
    except (IndexError, struct.error):
        return  # what was read so far stays


_SHORT_STRINGS = (
    "content_type", "content_encoding", "correlation_id", "reply_to", "expiration",
    "message_id", "type", "user_id", "app_id", "cluster_id",
)  # fmt: skip
_LAYOUT = (
    (BasicProperties.FLAG_CONTENT_TYPE, "content_type"),
    (BasicProperties.FLAG_CONTENT_ENCODING, "content_encoding"),
    (BasicProperties.FLAG_HEADERS, "headers"),
    (BasicProperties.FLAG_DELIVERY_MODE, "delivery_mode"),
    (BasicProperties.FLAG_PRIORITY, "priority"),
    (BasicProperties.FLAG_CORRELATION_ID, "correlation_id"),
    (BasicProperties.FLAG_REPLY_TO, "reply_to"),
    (BasicProperties.FLAG_EXPIRATION, "expiration"),
    (BasicProperties.FLAG_MESSAGE_ID, "message_id"),
    (BasicProperties.FLAG_TIMESTAMP, "timestamp"),
    (BasicProperties.FLAG_TYPE, "type"),
    (BasicProperties.FLAG_USER_ID, "user_id"),
    (BasicProperties.FLAG_APP_ID, "app_id"),
    (BasicProperties.FLAG_CLUSTER_ID, "cluster_id"),
)
