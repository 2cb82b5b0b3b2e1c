"""serialize/deserialize: round trips of every message class and the shape of the output."""

from __future__ import annotations

import json
from typing import Any

import pytest

from edeposit.amqp import aleph, settings
from edeposit.amqp.errors import MessageError
from edeposit.amqp.serializers import (
    TYPE_KEY,
    DeserializationError,
    SerializationError,
    deserialize,
    serialize,
)
from edeposit.amqp.wire.message import REGISTRY, Message
from tests.wire_samples import (
    RAYMOND,
    VESMIR,
    VESMIR_INFO,
    VESMIR_XML,
    assert_wire_form,
    read_back,
)

RECORD = aleph.AlephRecord(
    "nkc",
    "NKC01",
    1492461,
    '<?xml version="1.0" encoding="UTF-8"?><record><fixfield id="001">cpk20051492461</fixfield>'
    "</record>",
    RAYMOND,
)
#: A publication with what only the 2015 form carries.
LATER = RAYMOND._replace(
    invalid_ISBN=["978-80-85892-15-4"],
    anotace="Nakladatelská anotace",
    urls=["http://edeposit.nkp.cz/"],
    internal_urls=[RAYMOND.internal_url, "http://edeposit.nkp.cz/file.pdf"],
)
WORKFLOW = aleph.SemanticInfo(
    True, ["du20150219", "mazi"], ["ii20150224", "anje"], ["jp20150225", "kola"], [], [], [],
    True, False, "BK", "nkc20150003043", "Seriálový záznam viz nkc20150003043",
)  # fmt: skip

#: One example of every message class (and more for classes with variants).
EXAMPLES: list[Message] = [
    aleph.ISBNQuery("80-251-0225-4"),
    aleph.AuthorQuery("Čapek, Karel", "ckc"),
    aleph.PublisherQuery("Nakladatelství Lidové noviny"),
    aleph.TitleQuery("Válka s mloky"),
    aleph.GenericQuery("nkc", "Žluťoučký kůň", True, "wrd"),
    aleph.DocumentQuery(1492461),
    aleph.DocumentQuery("000001492461", "NKC01"),
    aleph.ICZQuery("cpk20051492461"),
    aleph.ISSNQuery("0042-4544"),
    aleph.SearchRequest(aleph.ISBNQuery("80-251-0225-4")),
    aleph.CountRequest(aleph.ISSNQuery("0042-4544", "nkc")),
    aleph.CountRequest(aleph.GenericQuery("nkc", "unix", False, "wtl")),
    aleph.ISBNValidationRequest("80-251-0225-4"),
    aleph.ISBNValidationRequest(aleph.ISBNQuery("80-251-0225-4")),
    aleph.ExportRequest(RAYMOND),
    aleph.SearchResult([]),
    aleph.SearchResult([RECORD, RECORD._replace(docNumber=7, base="ckc")]),
    aleph.CountResult(0),
    aleph.CountResult(2**40),
    aleph.ISBNValidationResult(True),
    aleph.ISBNValidationResult(False),
    aleph.ExportResult("80-251-0225-4"),
    RECORD,
    RECORD._replace(epublication=LATER, semantic_info=WORKFLOW),
    RAYMOND,
    LATER,
    aleph.Author("Eric S.", "Raymond", ""),
    aleph.Author("Jan", "Novák", "Ing."),
    aleph.SemanticInfo(),
    WORKFLOW,
    # a continuing resource: its views read from its xml, or given as 2016's clients did
    aleph.AlephRecord("nkc", "NKC01", 156783, VESMIR_XML),
    aleph.AlephRecord("nkc", "NKC01", 156783, VESMIR_XML, VESMIR, VESMIR_INFO),
    aleph.SearchResult([RECORD, aleph.AlephRecord("nkc", "NKC01", 156783, VESMIR_XML)]),
    VESMIR,
    aleph.EPeriodical.empty(anotace="Měsíčník"),
    VESMIR_INFO,
    aleph.EPeriodicalSemanticInfo(),
]


def test_examples_cover_every_message_class() -> None:
    assert {type(example).__name__ for example in EXAMPLES} == set(REGISTRY)


@pytest.fixture(params=["2014", "2015", "2016"])
def generation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The process settings' ALEPH_WIRE_GENERATION, which serialize writes."""
    if request.param != "2014":  # the default
        monkeypatch.setenv("ALEPH_WIRE_GENERATION", request.param)
        settings.reload()
    assert request.param == settings.ALEPH_WIRE_GENERATION
    return str(request.param)


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda message: type(message).__name__)
def test_round_trip(message: Message, generation: str) -> None:
    text = serialize(message)
    assert isinstance(text, str)
    decoded = deserialize(text)
    expected = read_back(message, generation)
    assert decoded == expected
    assert type(decoded) is type(message)
    # Bytes (what arrives from the broker) decode the same.
    assert deserialize(text.encode("utf-8")) == expected
    assert deserialize(bytearray(text.encode("utf-8"))) == expected
    assert deserialize(memoryview(text.encode("utf-8"))) == expected


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda message: type(message).__name__)
def test_output_is_json_with_nt_name_at_every_structure(message: Message, generation: str) -> None:
    assert_wire_form(json.loads(serialize(message)), message, generation)


def test_the_2015_form_carries_the_whole_model(generation: str) -> None:
    text = serialize(aleph.SearchResult([RECORD._replace(epublication=LATER)]))
    (record,) = json.loads(text)["records"]
    publication = record["parsed_info" if generation == "2016" else "epublication"]
    if generation == "2014":
        assert "semantic_info" not in record
        assert publication["url"] == "http://edeposit.nkp.cz/"
        assert publication["internal_url"] == RAYMOND.internal_url
        assert "invalid_ISBN" not in publication
    else:
        assert record["semantic_info"][TYPE_KEY] == "SemanticInfo"
        assert publication["url"] == ["http://edeposit.nkp.cz/"]
        assert publication["internal_url"] == LATER.internal_urls
        assert publication["invalid_ISBN"] == ["978-80-85892-15-4"]
        assert publication["id_number"] == "cpk20051492461"


def test_original_documentation_example() -> None:
    text = serialize(aleph.SearchRequest(aleph.ISBNQuery("80-251-0225-4")))
    assert json.loads(text) == {
        "query": {"base": "nkc", "ISBN": "80-251-0225-4", "__nt_name": "ISBNQuery"},
        "__nt_name": "SearchRequest",
    }


def test_output_is_utf8_text_not_ascii_escapes() -> None:
    text = serialize(aleph.TitleQuery("Umění programování"))
    assert "Umění programování" in text
    assert "\\u" not in text
    assert json.loads(text.encode("utf-8"))["title"] == "Umění programování"


def test_output_holds_no_null_for_lenient_input() -> None:
    nothing: dict[str, Any] = dict.fromkeys(aleph.EPublication._fields)
    nothing["autori"] = [aleph.Author(None, "Raymond", None)]  # type: ignore[arg-type]
    publication = aleph.EPublication(**nothing)
    text = serialize(aleph.ExportRequest(publication))
    assert "null" not in text
    assert deserialize(text) == aleph.ExportRequest(publication)


def test_key_order_carries_no_meaning() -> None:
    message = aleph.SearchRequest(aleph.GenericQuery("nkc", "unix", False, "wtl"))
    forward = serialize(message)
    data = json.loads(forward)
    reordered = json.dumps(
        {
            TYPE_KEY: data[TYPE_KEY],
            "query": dict(reversed(list(data["query"].items()))),
        }
    )
    assert reordered != forward
    assert deserialize(reordered) == message


def test_plain_values_and_messages_inside_them() -> None:
    value = {"found": [aleph.CountResult(3), None, 1.5, "Kč", True], "empty": {}}
    assert deserialize(serialize(value)) == value
    assert serialize([]) == "[]"
    assert deserialize("[]") == []
    assert deserialize('"Kč"') == "Kč"
    assert serialize(("a", 1)) == '["a",1]'


@pytest.mark.parametrize(
    ("value", "where"),
    [
        (object(), "$: object cannot be serialized"),
        (aleph.SearchResult([object()]), "$.records[0]: object cannot be serialized"),  # type: ignore[list-item]
        ({1: "x"}, "$: dict key 1 is not a string"),
        (float("nan"), "$: nan has no JSON form"),
        ([1.0, float("inf")], "$[1]: inf has no JSON form"),
        (aleph.ExportResult("\ud800"), "$.ISBN: string holds a lone surrogate at character 0"),
        ({"ok": {"k\udc00": 1}}, "$.ok (a key): string holds a lone surrogate at character 1"),
    ],
)
def test_values_without_a_wire_form_are_refused(value: Any, where: str) -> None:
    with pytest.raises(SerializationError) as caught:
        serialize(value)
    assert str(caught.value) == where
    assert isinstance(caught.value, TypeError)
    assert isinstance(caught.value, MessageError)


def test_deserialization_error_is_a_value_error_and_message_error() -> None:
    assert issubclass(DeserializationError, ValueError)
    assert issubclass(DeserializationError, MessageError)
    with pytest.raises(ValueError, match="not valid JSON"):
        deserialize("{")
