"""The wire format's fast paths give exactly what the careful ones give, or step aside."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edeposit.amqp import aleph
from edeposit.amqp.wire.codec import (
    DeserializationError,
    SerializationError,
    _decode,
    _encode,
    deserialize,
    serialize,
)
from edeposit.amqp.wire.fastwire import decode_message, encode_message
from edeposit.amqp.wire.message import Fallback, Message
from tests.test_wire_properties import ROUND_TRIPS, message
from tests.wire_samples import RAYMOND


def _careful_text(value: Message) -> str:
    return json.dumps(_encode(value, "$"), ensure_ascii=False, separators=(",", ":"))


@ROUND_TRIPS
@given(message)
def test_fast_paths_agree_with_the_careful_ones(value: Message) -> None:
    text = _careful_text(value)
    assert serialize(value) == text  # orjson's text, byte for byte, where it writes it
    built = decode_message(text)  # a clean message never needs the careful path
    assert built == value
    assert built == _decode(json.loads(text), "$", 0)


def test_answers_take_the_fast_paths() -> None:
    record = aleph.AlephRecord("nkc", "NKC01", 1492461, "<oai_marc/>", RAYMOND)
    answer = aleph.SearchResult([record, record])
    text = encode_message(answer)
    assert text == _careful_text(answer)
    assert decode_message(text) == answer


def test_a_missing_field_with_a_default_stays_on_the_fast_path() -> None:
    text = '{"__nt_name": "ISBNQuery", "ISBN": "80-251-0225-4"}'  # no base: "nkc"
    assert decode_message(text) == deserialize(text) == aleph.ISBNQuery("80-251-0225-4")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # a null where a string belongs, a string where a list belongs, a plain-string author
        (
            {"__nt_name": "Author", "firstName": None, "lastName": "Čapek", "title": ""},
            aleph.Author("", "Čapek", ""),
        ),
        (
            {"__nt_name": "ExportRequest", "epublication": {
                "__nt_name": "EPublication", **dict.fromkeys(
                    ["nazev", "podnazev", "vazba", "cena", "castDil", "nazevCasti",
                     "nakladatelVydavatel", "datumVydani", "poradiVydani",
                     "zpracovatelZaznamu", "format", "url", "mistoVydani", "internal_url"],
                    None,
                ),
                "ISBN": "80-251-0225-4", "ISBNSouboruPublikaci": None, "originaly": [],
                "autori": ["Raymond, Eric S."], "anotace": None,
            }},
            aleph.ExportRequest(aleph.EPublication.empty(
                ISBN=["80-251-0225-4"], autori=[aleph.Author("Eric S.", "Raymond")]
            )),
        ),
    ],
)  # fmt: skip
def test_lenient_forms_go_the_careful_way_and_are_converted(body: Any, expected: Any) -> None:
    text = json.dumps(body)
    with pytest.raises(Fallback):
        decode_message(text)
    assert deserialize(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        '{"__nt_name": "CountResult", "num_of_records": 1, "num_of_records": 2}',
        '{"__nt_name": "CountResult", "num_of_records": 1e400}',
        '{"__nt_name": "CountResult", "num_of_records": NaN}',
        '{"__nt_name": "CountResult", "num_of_records": 1',
        '{"__nt_name": "Popen", "args": "ls"}',
        '{"__nt_name": "CountResult", "num_of_records": "1"}',
        '{"__nt_name": "SearchResult", "records": [{"__nt_name": "CountResult", '
        '"num_of_records": 1}]}',
        '{"__nt_name": "CountResult", "num_of_records": 1, "extra": 2}',
    ],
)
def test_faults_are_left_to_the_careful_path_which_names_them(text: str) -> None:
    with pytest.raises(Fallback):
        decode_message(text)
    with pytest.raises(DeserializationError):
        deserialize(text)


def test_plain_values_holding_messages_go_the_careful_way() -> None:
    text = '[{"__nt_name": "CountResult", "num_of_records": 1}]'
    with pytest.raises(Fallback):
        decode_message(text)
    assert deserialize(text) == [aleph.CountResult(1)]


@pytest.mark.parametrize(
    ("value", "where"),
    [
        (aleph.ExportResult(float("nan")), "$.ISBN: nan has no JSON form"),  # type: ignore[arg-type]
        (aleph.CountResult(2**70), None),  # past orjson's 64 bits: json writes it
        (aleph.ExportResult(b"80"), "$.ISBN: bytes cannot be serialized"),  # type: ignore[arg-type]
        (aleph.ExportResult("80\ud800"), "$.ISBN: string holds a lone surrogate at character 2"),
    ],
)
def test_values_orjson_cannot_write_exactly_go_the_careful_way(
    value: Message, where: str | None
) -> None:
    with pytest.raises(Fallback):
        encode_message(value)
    if where is None:
        assert serialize(value) == _careful_text(value)
    else:
        with pytest.raises(SerializationError) as caught:
            serialize(value)
        assert str(caught.value) == where


@given(st.integers(0xD800, 0xDFFF), st.booleans())
def test_no_escaped_lone_surrogate_slips_through(code: int, upper: bool) -> None:
    escape = f"\\u{code:04X}" if upper else f"\\u{code:04x}"
    with pytest.raises(DeserializationError, match="lone surrogate"):
        deserialize(f'{{"__nt_name": "ExportResult", "ISBN": "80{escape}"}}'.encode())
