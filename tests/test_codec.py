"""The one codec (``edeposit.amqp.wire.codec``): round trips, lenient inputs, faults named.

Clean bodies and their lenient variants must give the same messages; a fault must be
named the same way wherever it sits and whichever way the decoder took to it. The
contract's face (``serializers``) is tested in test_serializers and test_wire_*.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import json
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from edeposit.amqp import aleph
from edeposit.amqp.wire.codec import (
    TYPE_KEY,
    DeserializationError,
    SerializationError,
    WireOptions,
    decode,
    encode,
)
from edeposit.amqp.wire.message import Message
from tests.test_wire_properties import ROUND_TRIPS, message
from tests.wire_samples import RAYMOND, assert_wire_form, read_back

#: The defaults that the contract's default settings give.
CONTRACT = WireOptions(defaults={"base": "nkc", "library": "NKC01"})

RECORD = aleph.AlephRecord("nkc", "NKC01", 1492461, "<oai_marc/>", RAYMOND)


def refused(data: str | bytes, options: WireOptions = CONTRACT) -> str:
    with pytest.raises(DeserializationError) as caught:
        decode(data, options)
    return str(caught.value)


def unwritable(value: Any) -> str:
    with pytest.raises(SerializationError) as caught:
        encode(value)
    return str(caught.value)


def publication(**fields: Any) -> dict[str, Any]:
    """RAYMOND in wire form (parsed JSON), with ``fields`` replaced or added."""
    body: dict[str, Any] = json.loads(encode(RAYMOND))
    return {**body, **fields}


# --- round trips ------------------------------------------------------------------------------


@ROUND_TRIPS
@given(message)
def test_round_trip(value: Message) -> None:
    data = encode(value, CONTRACT)
    assert isinstance(data, bytes)
    expected = read_back(value, CONTRACT.generation)
    assert decode(data, CONTRACT) == expected
    assert decode(data.decode(), CONTRACT) == expected
    assert_wire_form(json.loads(data), value)


@ROUND_TRIPS
@given(message)
def test_escaped_text_decodes_to_the_same_message(value: Message) -> None:
    """Pure ASCII, each non-ASCII character escaped (surrogate pairs too), as json writes."""
    options = WireOptions(CONTRACT.defaults, "2015")  # the form that carries the most
    escaped = json.dumps(json.loads(encode(value, options)), ensure_ascii=True)
    expected = read_back(value, "2015")
    assert decode(escaped.encode("ascii"), CONTRACT) == expected
    assert decode(escaped, CONTRACT) == expected


def test_answers_round_trip_and_read_as_plain_json() -> None:
    answer = aleph.SearchResult([RECORD, RECORD._replace(docNumber=7)])
    data = encode(answer)
    assert decode(data) == read_back(answer, "2014")
    assert decode(encode(answer, WireOptions(generation="2015"))) == answer
    parsed = json.loads(data)
    assert parsed[TYPE_KEY] == "SearchResult"
    assert parsed["records"][1]["docNumber"] == 7
    assert parsed["records"][0]["epublication"]["autori"] == [
        {"firstName": "Eric S.", "lastName": "Raymond", "title": "", TYPE_KEY: "Author"}
    ]


def test_text_that_contains_null_is_written_as_it_is() -> None:
    query = aleph.TitleQuery("Annulled contracts: null and void")
    assert json.loads(encode(query)) == {
        "title": "Annulled contracts: null and void",
        "base": "nkc",
        TYPE_KEY: "TitleQuery",
    }
    assert decode(encode(query)) == query


def test_plain_values_holding_messages() -> None:
    value = {"found": [aleph.CountResult(3), None, 1.5, "Kč", True, ("a", 1)]}
    assert json.loads(encode(value)) == {
        "found": [{"num_of_records": 3, TYPE_KEY: "CountResult"}, None, 1.5, "Kč", True, ["a", 1]]
    }
    assert decode(encode(value)) == {
        "found": [aleph.CountResult(3), None, 1.5, "Kč", True, ["a", 1]]
    }


def test_subclasses_of_str_and_int_are_written_as_their_base() -> None:
    class Base(enum.StrEnum):
        NKC = "nkc"

    class Count(enum.IntEnum):
        ONE = 1

    assert decode(encode(aleph.ISBNQuery("80-251-0225-4", Base.NKC))).base == "nkc"
    assert encode(aleph.CountResult(Count.ONE)) == b'{"num_of_records":1,"__nt_name":"CountResult"}'


# --- lenient inputs give what their clean forms give ------------------------------------------


@pytest.mark.parametrize(
    ("lenient", "clean"),
    [
        # nulls where strings belong, a missing title
        (
            {"firstName": None, "lastName": "Čapek", TYPE_KEY: "Author"},
            {"firstName": "", "lastName": "Čapek", "title": "", TYPE_KEY: "Author"},
        ),
        # the later 21-field publication; strings where lists belong; plain-string authors
        (
            publication(invalid_ISBN=None, id_number="cpk20051492461", anotace=None),
            publication(invalid_ISBN=[], id_number="cpk20051492461", anotace=""),
        ),
        # the 2015 form's URL lists, with a null item
        (
            publication(url=[None, "http://a/"], internal_url=None),
            publication(url="http://a/", internal_url=""),
        ),
        (
            publication(ISBN="80-251-0225-4", originaly="Art of UNIX programming"),
            publication(),
        ),
        (publication(autori=["Raymond, Eric S."]), publication()),
        (publication(autori="Raymond, Eric S."), publication()),
        (publication(ISBNSouboruPublikaci=None, podnazev=None), publication()),
        (publication(cena="None"), publication(cena="")),
        # a document number as a string of digits
        (
            {**json.loads(encode(RECORD)), "docNumber": "1492461"},
            json.loads(encode(RECORD)),
        ),
        # queries without the base or library the caller's defaults give
        (
            {"ISBN": "80-251-0225-4", TYPE_KEY: "ISBNQuery"},
            {"ISBN": "80-251-0225-4", "base": "nkc", TYPE_KEY: "ISBNQuery"},
        ),
        (
            {"doc_id": "1492461", TYPE_KEY: "DocumentQuery"},
            {"doc_id": "1492461", "library": "NKC01", TYPE_KEY: "DocumentQuery"},
        ),
        (
            {"base": "nkc", "phrase": "unix", "field": "wtl", TYPE_KEY: "GenericQuery"},
            {
                "base": "nkc",
                "phrase": "unix",
                "considerSimilar": False,
                "field": "wtl",
                TYPE_KEY: "GenericQuery",
            },
        ),
    ],
)
def test_a_lenient_form_gives_what_its_clean_form_gives(
    lenient: dict[str, Any], clean: dict[str, Any]
) -> None:
    expected = decode(json.dumps(clean), CONTRACT)
    assert decode(json.dumps(lenient), CONTRACT) == expected
    # Also where the decoder checks every string (a surrogate pair may be escaped).
    wrapped = {"plain": "📖", "value": lenient}
    checked = decode(json.dumps(wrapped, ensure_ascii=True), CONTRACT)
    assert checked == {"plain": "📖", "value": expected}


def test_missing_fields_take_the_callers_defaults() -> None:
    body = (
        '{"query": {"ISBN": "80-251-0225-4", "__nt_name": "ISBNQuery"},'
        ' "__nt_name": "SearchRequest"}'
    )
    assert decode(body, WireOptions(defaults={"base": "ckc"})).query.base == "ckc"
    assert decode(body, CONTRACT).query.base == "nkc"
    document = '{"doc_id": 1, "__nt_name": "DocumentQuery"}'
    assert decode(document, WireOptions(defaults={"library": "NKC02"})).library == "NKC02"
    # Without a default from the caller, the field is missing.
    assert refused(body, WireOptions()) == "$.query: ISBNQuery is missing the field 'base'"


class RecordingDefaults(Mapping[str, str]):
    """Defaults that note each lookup."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __getitem__(self, name: str) -> str:
        self.asked.append(name)
        return {"base": "ckc"}[name]

    def __iter__(self) -> Iterator[str]:
        return iter(["base"])

    def __len__(self) -> int:
        return 1


def test_defaults_are_read_only_for_what_a_message_leaves_out() -> None:
    defaults = RecordingDefaults()
    options = WireOptions(defaults=defaults)
    assert decode('{"ISBN": "1", "base": "nkc", "__nt_name": "ISBNQuery"}', options).base == "nkc"
    assert defaults.asked == []
    assert decode('{"ISBN": "1", "__nt_name": "ISBNQuery"}', options).base == "ckc"
    assert defaults.asked == ["base"]


def test_only_known_output_generations() -> None:
    assert WireOptions().generation == "2014"
    with pytest.raises(ValueError, match="wire generation '2013' is not supported"):
        WireOptions(generation="2013")


# --- faults, named the same whichever way the decoder took ------------------------------------


@pytest.mark.parametrize("escaped_pair", [False, True], ids=["utf-8", "strings-checked"])
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"query": {"ISBN": 8025102254, TYPE_KEY: "ISBNQuery"}, TYPE_KEY: "SearchRequest"},
            "ISBNQuery.ISBN at $.query.ISBN: expected string, got number",
        ),
        (
            {
                "records": [json.loads(encode(RECORD)), {"docNumber": True}],
                TYPE_KEY: "SearchResult",
            },
            "$.records[1]: object has no '__nt_name' naming its class",
        ),
        (
            {"epublication": publication(originaly=["a", 5]), TYPE_KEY: "ExportRequest"},
            "EPublication.originaly at $.epublication.originaly[1]: expected string, got number",
        ),
        # Two faults: the first in the class's wire order (autori before originaly) is
        # named, whether the object holds the fields of one form or of none.
        (
            {
                "epublication": publication(originaly=[5], autori=[5]),
                TYPE_KEY: "ExportRequest",
            },
            "EPublication.autori at $.epublication.autori[0]: expected Author object, got number",
        ),
        (
            {
                "epublication": publication(originaly=[5], autori=[5], anotace=""),
                TYPE_KEY: "ExportRequest",
            },
            "EPublication.autori at $.epublication.autori[0]: expected Author object, got number",
        ),
        (
            {"epublication": publication(nazev=1, autori=[5]), TYPE_KEY: "ExportRequest"},
            "EPublication.nazev at $.epublication.nazev: expected string, got number",
        ),
        (
            {
                "ISBN": {"author": "Raymond", TYPE_KEY: "AuthorQuery"},
                TYPE_KEY: "ISBNValidationRequest",
            },
            "$.ISBN: expected ISBNQuery, got AuthorQuery",
        ),
        (
            {"plain": [{"deeper": {TYPE_KEY: "Popen"}}]},
            "$.plain[0].deeper: unknown message class 'Popen'",
        ),
    ],
)
def test_faults_name_field_and_path(
    body: dict[str, Any], expected: str, escaped_pair: bool
) -> None:
    if escaped_pair:
        # An escaped surrogate pair elsewhere in the body makes the decoder check every
        # string it reads; the fault is still named the same, one level deeper.
        body = {"📖": 1, "wrapper": [body]}
        expected = expected.replace("$", "$.wrapper[0]", 1)
    text = json.dumps(body, ensure_ascii=escaped_pair)
    assert refused(text.encode()) == expected
    assert refused(text) == expected


def _string_places(node: Any) -> list[tuple[Any, Any]]:
    """(container, key) of every string value in parsed JSON, ``__nt_name`` aside."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    places: list[tuple[Any, Any]] = []
    for key, item in items:
        if isinstance(item, str) and key != TYPE_KEY:
            places.append((node, key))
        elif isinstance(item, dict | list):
            places.extend(_string_places(item))
    return places


@ROUND_TRIPS
@given(message, st.data(), st.booleans())
def test_a_lone_surrogate_in_any_string_is_refused(
    value: Message, data: st.DataObject, escaped: bool
) -> None:
    """Wherever it sits, escaped in UTF-8 or standing as itself in text."""
    parsed = json.loads(encode(value))
    places = _string_places(parsed)
    assume(places)
    node, key = data.draw(st.sampled_from(places))
    node[key] += "\udc00"
    text = json.dumps(parsed, ensure_ascii=escaped)
    with pytest.raises(DeserializationError, match="string holds a lone surrogate"):
        decode(text.encode("utf-8", "surrogatepass") if escaped else text, CONTRACT)


def test_lone_surrogates_are_named_where_they_are() -> None:
    escaped = '{"ISBN": "80\\udfff", "__nt_name": "ExportResult"}'
    assert (
        refused(escaped)
        == "ExportResult.ISBN at $.ISBN: string holds a lone surrogate at character 2"
    )
    # In text, a surrogate may also stand as itself.
    literal = '{"ISBN": "80\udfff", "__nt_name": "ExportResult"}'
    assert (
        refused(literal)
        == "ExportResult.ISBN at $.ISBN: string holds a lone surrogate at character 2"
    )
    in_a_list = json.dumps({"epublication": publication(originaly=["ok", "x\ud800"]),
                            TYPE_KEY: "ExportRequest"})  # fmt: skip
    assert refused(in_a_list) == (
        "EPublication.originaly at $.epublication.originaly[1]:"
        " string holds a lone surrogate at character 1"
    )
    assert (
        refused('{"a": {"\\ud800": 1}}')
        == "$.a (a key): string holds a lone surrogate at character 0"
    )


# --- writing: what has no wire form is named, with its place -----------------------------------


@dataclasses.dataclass
class NotAMessage:
    value: int = 1


OUT_OF_RANGE = "integer out of the 64-bit range (-2**63 to 2**64 - 1)"


@dataclasses.dataclass(frozen=True, slots=True)
class Unregistered(Message):
    """A message class never registered: nothing could decode it, so it is not written."""

    value: str = ""

    _fields = ("value",)  # what registering would set


class Colour(enum.Enum):
    RED = "red"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (aleph.ExportResult(float("nan")), "$.ISBN: nan has no JSON form"),  # type: ignore[arg-type]
        (aleph.SearchResult([RECORD, RECORD._replace(docNumber=float("-inf"))]),
         "$.records[1].docNumber: -inf has no JSON form"),
        (aleph.ExportRequest(RAYMOND._replace(ISBN=["1", float("inf")])),
         "$.epublication.ISBN[1]: inf has no JSON form"),
        ({"a": [[float("nan")]]}, "$.a[0][0]: nan has no JSON form"),
        (float("inf"), "$: inf has no JSON form"),
        (aleph.CountResult(2**64), f"$.num_of_records: {OUT_OF_RANGE}"),
        ([-(2**63) - 1], f"$[0]: {OUT_OF_RANGE}"),
        (aleph.ExportResult(uuid.UUID(int=1)), "$.ISBN: UUID cannot be serialized"),  # type: ignore[arg-type]
        (aleph.ExportResult(Colour.RED), "$.ISBN: Colour cannot be serialized"),  # type: ignore[arg-type]
        ([datetime(2014, 1, 1)], "$[0]: datetime cannot be serialized"),
        (aleph.SearchResult([NotAMessage()]), "$.records[0]: NotAMessage cannot be serialized"),  # type: ignore[list-item]
        (aleph.ExportResult(b"80"), "$.ISBN: bytes cannot be serialized"),  # type: ignore[arg-type]
        (aleph.SearchResult([Unregistered()]), "$.records[0]: Unregistered cannot be serialized"),  # type: ignore[list-item]
        (Unregistered(), "$: Unregistered cannot be serialized"),
        ({"k": {2: 1}}, "$.k: dict key 2 is not a string"),
        (aleph.ExportResult("80\ud800"), "$.ISBN: string holds a lone surrogate at character 2"),
    ],
)  # fmt: skip
def test_values_without_a_wire_form_are_named(value: Any, expected: str) -> None:
    assert unwritable(value) == expected


def test_the_largest_and_smallest_integers_are_written() -> None:
    for number in (2**64 - 1, -(2**63)):
        assert decode(encode(aleph.CountResult(number))) == aleph.CountResult(number)


# --- the wire layer knows nothing above it ---------------------------------------------------


def test_the_wire_layer_imports_only_the_error_tree_of_the_project() -> None:
    folder = Path(aleph.__file__).parents[1] / "wire"
    imported: set[str] = set()
    for module in folder.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    project = {name for name in imported if name.startswith("edeposit")}
    assert project <= {"edeposit.amqp.errors"} | {
        f"edeposit.amqp.wire.{module.stem}" for module in folder.glob("*.py")
    }
    assert "edeposit.amqp.errors" in project
