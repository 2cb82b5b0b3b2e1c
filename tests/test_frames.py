"""Safe property decoding: what pika cannot decode becomes a marked delivery, never an abort.

The frames here are built byte by byte as RabbitMQ sends them, and decoded by pika's own
frame reader (``pika.frame.decode_frame``), the code that runs on the I/O thread.
"""

from __future__ import annotations

import struct

import pika
import pika.frame
import pika.spec
import pytest

from edeposit.amqp.runtime.frames import RawField, SafeBasicProperties, install, raw_header


@pytest.fixture(autouse=True)
def _installed() -> None:
    install()


def short(text: bytes) -> bytes:
    return bytes([len(text)]) + text


def table(*fields: bytes) -> bytes:
    body = b"".join(fields)
    return struct.pack(">I", len(body)) + body


def long_string(value: bytes) -> bytes:
    return b"S" + struct.pack(">I", len(value)) + value


def header_frame(headers: bytes, *, reply_to: bytes | None = None) -> bytes:
    """A content header frame: Basic properties with content type, headers, reply_to."""
    flags = (
        pika.spec.BasicProperties.FLAG_CONTENT_TYPE
        | pika.spec.BasicProperties.FLAG_HEADERS
        | pika.spec.BasicProperties.FLAG_DELIVERY_MODE
    )
    tail = b"\x02"
    if reply_to is not None:
        flags |= pika.spec.BasicProperties.FLAG_REPLY_TO
        tail += short(reply_to)
    properties = struct.pack(">H", flags) + short(b"application/json") + headers + tail
    payload = struct.pack(">HHQ", 60, 0, 42) + properties
    return struct.pack(">BHL", 2, 1, len(payload)) + payload + b"\xce"


def decoded(frame: bytes) -> SafeBasicProperties:
    consumed, result = pika.frame.decode_frame(frame)
    assert consumed == len(frame)
    assert isinstance(result, pika.frame.Header)
    assert isinstance(result.properties, SafeBasicProperties)
    return result.properties


def nested(depth: int) -> bytes:
    value = b"V"
    for _ in range(depth):
        value = b"F" + table(short(b"k") + value)
    return value


def test_a_timestamp_pika_cannot_read_is_a_marked_delivery() -> None:
    when = b"T" + struct.pack(">Q", 2**63)
    frame = header_frame(
        table(short(b"UUID") + long_string(b"u-1"), short(b"when") + when),
        reply_to=b"answers",
    )
    properties = decoded(frame)
    assert properties.decode_error is not None
    assert "when" not in properties.headers
    assert properties.headers["UUID"] == "u-1"  # what can be read is kept
    assert properties.reply_to == "answers"
    assert properties.delivery_mode == 2
    assert properties.content_type == "application/json"


def test_a_table_nested_six_hundred_deep_is_a_marked_delivery() -> None:
    frame = header_frame(table(short(b"deep") + nested(600), short(b"UUID") + long_string(b"u")))
    properties = decoded(frame)
    assert properties.decode_error is not None
    assert "RecursionError" in properties.decode_error
    assert properties.headers == {"UUID": "u"}


def test_readable_properties_are_pikas_own() -> None:
    properties = decoded(header_frame(table(short(b"UUID") + long_string("ü".encode()))))
    assert properties.decode_error is None
    assert properties.headers == {"UUID": "ü"}
    assert properties.raw_uuid is None  # a UTF-8 string comes back identically anyway


@pytest.mark.parametrize(
    "field",
    [
        b"d" + struct.pack(">d", 2.5),  # pika reads a double as the integer 2
        b"f" + struct.pack(">f", 1.5),
        b"x" + struct.pack(">I", 3) + b"\xff\x00\x01",
        long_string(b"\xff\xfe not utf-8"),
        b"T" + struct.pack(">Q", 2**63),
        b"D" + struct.pack(">Bi", 2, 12345),
        b"s" + struct.pack(">h", -7),
    ],
)
def test_the_uuid_is_echoed_byte_for_byte(field: bytes) -> None:
    properties = decoded(header_frame(table(short(b"UUID") + field)))
    assert properties.raw_uuid == field
    answer = pika.BasicProperties(headers={"UUID": properties.raw_uuid})
    encoded = b"".join(answer.encode())
    assert raw_header(encoded, 0, "UUID") == field


def test_raw_header_finds_the_field_past_unreadable_ones() -> None:
    headers = table(short(b"deep") + nested(700), short(b"UUID") + b"d" + struct.pack(">d", 1.25))
    encoded = b"".join([struct.pack(">H", pika.spec.BasicProperties.FLAG_HEADERS), headers])
    assert raw_header(encoded, 0, "UUID") == b"d" + struct.pack(">d", 1.25)
    assert raw_header(encoded, 0, "missing") is None


def test_an_unknown_field_type_ends_the_readable_part() -> None:
    frame = header_frame(table(short(b"UUID") + long_string(b"u"), short(b"odd") + b"Z\x00"))
    properties = decoded(frame)
    assert properties.decode_error is not None
    assert properties.headers == {"UUID": "u"}


def test_raw_fields_are_written_verbatim_inside_tables() -> None:
    raw = RawField(b"T" + struct.pack(">Q", 2**63))
    encoded = b"".join(pika.BasicProperties(headers={"a": {"b": raw}, "c": [raw]}).encode())
    assert raw in encoded


def test_install_is_idempotent() -> None:
    encoder = pika.data.encode_value
    install()
    assert pika.data.encode_value is encoder
    assert pika.spec.props[pika.spec.BasicProperties.INDEX] is SafeBasicProperties
