"""Property-based checks of the wire format: round trips of generated messages, and fuzzing.

Whatever arrives, ``deserialize`` either returns a value or raises
``DeserializationError`` — never any other exception.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edeposit.amqp import aleph
from edeposit.amqp.serializers import TYPE_KEY, DeserializationError, deserialize, serialize
from edeposit.amqp.wire.codec import WireOptions, decode, encode
from edeposit.amqp.wire.message import REGISTRY, Message
from edeposit.amqp.wire.options import GENERATIONS
from tests.wire_samples import assert_wire_form, read_back

# Modest example counts keep the suite fast; the fuzz tests over raw input are cheap.
ROUND_TRIPS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
STRUCTURED_FUZZ = settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
RAW_FUZZ = settings(max_examples=500, deadline=None)

CZECH = [
    "Umění programování v UNIXu /",
    "Čapek, Karel",
    "Příliš žluťoučký kůň úpěl ďábelské ódy",
    "Kč 590,00",
    "(brož.) :",
    "Nakladatelství Lidové noviny",
]

#: Any text that has a UTF-8 form (no lone surrogates), with Czech favoured.
text = st.one_of(st.sampled_from(CZECH), st.text(max_size=20))
text_lists = st.lists(text, max_size=3)
#: Cheaper text for the many fields that share one code path with those using ``text``.
word = st.sampled_from(["", "None", *CZECH])
#: Integers the wire format carries: the 64-bit range (larger ones are refused on writing).
integers = st.one_of(
    st.integers(min_value=0, max_value=10**9), st.integers(min_value=-(2**63), max_value=2**64 - 1)
)


def _query_strategies() -> dict[type[Message], st.SearchStrategy[Any]]:
    return {
        aleph.ISBNQuery: st.builds(aleph.ISBNQuery, text, text),
        aleph.AuthorQuery: st.builds(aleph.AuthorQuery, text, text),
        aleph.PublisherQuery: st.builds(aleph.PublisherQuery, text, text),
        aleph.TitleQuery: st.builds(aleph.TitleQuery, text, text),
        aleph.GenericQuery: st.builds(aleph.GenericQuery, text, text, st.booleans(), text),
        aleph.DocumentQuery: st.builds(aleph.DocumentQuery, st.one_of(text, integers), text),
        aleph.ICZQuery: st.builds(aleph.ICZQuery, text, text),
        aleph.ISSNQuery: st.builds(aleph.ISSNQuery, text, text),
    }


QUERIES = _query_strategies()
query = st.one_of(*QUERIES.values())
author = st.builds(aleph.Author, text, text, text)
epublication = st.builds(
    aleph.EPublication,
    ISBN=text_lists,
    nazev=text,
    podnazev=word,
    vazba=word,
    cena=text,
    castDil=word,
    nazevCasti=word,
    nakladatelVydavatel=word,
    datumVydani=word,
    poradiVydani=word,
    zpracovatelZaznamu=word,
    format=word,
    url=word,
    mistoVydani=word,
    ISBNSouboruPublikaci=st.lists(word, max_size=2),
    autori=st.lists(author, max_size=3),
    originaly=st.lists(word, max_size=2),
    internal_url=word,
)
links = st.lists(st.sampled_from(["http://edeposit.nkp.cz/", "http://aleph.nkp.cz/F/?a=1&b"]))
#: Publications with what only the 2015 form carries: the three later fields, URL lists.
later_epublication = st.builds(
    lambda publication, invalid, number, note, urls, internal: publication._replace(
        invalid_ISBN=invalid, id_number=number, anotace=note, urls=urls, internal_urls=internal
    ),
    epublication,
    text_lists,
    word,
    text,
    links,
    links,
)
any_epublication = st.one_of(epublication, later_epublication)
semantic_info = st.builds(
    aleph.SemanticInfo,
    st.booleans(),
    text_lists,
    text_lists,
    text_lists,
    st.lists(word, max_size=2),
    st.lists(word, max_size=2),
    st.lists(word, max_size=2),
    st.booleans(),
    st.booleans(),
    word,
    word,
    text,
)
#: A record's XML: junk (no record: its semantic_info is empty) or a small record.
record_xml = st.one_of(
    text,
    st.just('<oai_marc><varfield id="IST" i1="1" i2=" "><subfield label="a">jp20150312'
            '</subfield></varfield><fixfield id="FMT">SE</fixfield></oai_marc>'),
)  # fmt: skip
periodical = st.builds(
    aleph.EPeriodical,
    links,
    text_lists,
    text_lists,
    text,
    text,
    word,
    word,
    word,
    word,
    links,
    word,
    st.lists(word, max_size=2),
)
periodical_semantic_info = st.builds(
    aleph.EPeriodicalSemanticInfo,
    st.booleans(),
    text_lists,
    st.booleans(),
    st.booleans(),
    word,
    word,
    text,
)


def _records(views: Any, states: Any) -> st.SearchStrategy[aleph.AlephRecord]:
    """Records of generated values, their views given as ``views`` and ``states``."""
    return st.builds(
        aleph.AlephRecord, text, text, integers, record_xml, views, st.one_of(st.none(), states)
    )


#: Records as each generation's clients built them: 2016's gave a serial's own views.
record = st.one_of(
    _records(any_epublication, semantic_info),
    _records(periodical, periodical_semantic_info),
)

STRATEGIES: dict[type[Message], st.SearchStrategy[Any]] = {
    **QUERIES,
    aleph.SearchRequest: st.builds(aleph.SearchRequest, query),
    aleph.CountRequest: st.builds(aleph.CountRequest, query),
    aleph.ISBNValidationRequest: st.builds(
        aleph.ISBNValidationRequest, st.one_of(text, QUERIES[aleph.ISBNQuery])
    ),
    aleph.ExportRequest: st.builds(aleph.ExportRequest, any_epublication),
    aleph.SearchResult: st.builds(aleph.SearchResult, st.lists(record, max_size=2)),
    aleph.CountResult: st.builds(aleph.CountResult, integers),
    aleph.ISBNValidationResult: st.builds(aleph.ISBNValidationResult, st.booleans()),
    aleph.ExportResult: st.builds(aleph.ExportResult, text),
    aleph.AlephRecord: record,
    aleph.EPublication: any_epublication,
    aleph.Author: author,
    aleph.SemanticInfo: semantic_info,
    aleph.EPeriodical: periodical,
    aleph.EPeriodicalSemanticInfo: periodical_semantic_info,
}
message = st.one_of(*STRATEGIES.values())


def test_strategies_cover_every_message_class() -> None:
    assert {cls.__name__ for cls in STRATEGIES} == set(REGISTRY)


@ROUND_TRIPS
@given(message)
def test_round_trip_of_generated_messages(value: Message) -> None:
    text = serialize(value)  # the 2014 form, by the default settings
    expected = read_back(value, "2014")
    assert deserialize(text) == expected
    assert deserialize(text.encode("utf-8")) == expected
    assert_wire_form(json.loads(text), value)


def _holds_a_record(value: Any) -> bool:
    if isinstance(value, aleph.AlephRecord):
        return True
    if isinstance(value, list):
        return any(map(_holds_a_record, value))
    return isinstance(value, Message) and any(map(_holds_a_record, value))


@ROUND_TRIPS
@given(message)
def test_each_generation_round_trips_what_its_form_carries(value: Message) -> None:
    """Each form carries what its clients knew; a record's other views are read from its xml.

    Beyond records, the 2015 and 2016 forms carry every field.
    """
    if not _holds_a_record(value):
        assert read_back(value, "2015") == value == read_back(value, "2016")
    for generation in GENERATIONS:
        data = encode(value, WireOptions(generation=generation))
        assert decode(data) == read_back(value, generation), generation
        assert_wire_form(json.loads(data), value, generation)


@ROUND_TRIPS
@given(message, st.randoms(use_true_random=False))
def test_round_trip_ignores_key_order_and_ascii_escapes(value: Message, random: Any) -> None:
    """Bodies as Python 2 clients wrote them: keys shuffled, non-ASCII escaped."""

    def shuffled(node: Any) -> Any:
        if isinstance(node, dict):
            items = list(node.items())
            random.shuffle(items)
            return {key: shuffled(item) for key, item in items}
        if isinstance(node, list):
            return [shuffled(item) for item in node]
        return node

    legacy = json.dumps(shuffled(json.loads(serialize(value))), ensure_ascii=True)
    assert legacy.isascii()
    assert deserialize(legacy) == read_back(value, "2014")


# --- fuzzing ------------------------------------------------------------------------------------

#: Every field name of every class, so generated objects often look almost right.
FIELD_NAMES = sorted({name for cls in REGISTRY.values() for name in cls.__wire__})
CLASS_NAMES = [*sorted(REGISTRY), "Popen", "eval", "object", "Settings", "Message"]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
    st.sampled_from(["", "²", "٣", "1492461", "None", "Raymond, Eric S.", "nkc"]),
)


def _objects(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=5))
    plain = st.dictionaries(keys, children, max_size=5)
    tagged = st.builds(
        lambda fields, name: {**fields, TYPE_KEY: name},
        st.dictionaries(st.sampled_from(FIELD_NAMES), children, max_size=6),
        st.one_of(st.sampled_from(CLASS_NAMES), json_scalars),
    )
    return st.one_of(plain, tagged)


json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), _objects(children)),
    max_leaves=15,
)


def _returns_or_refuses(data: str | bytes) -> None:
    try:
        deserialize(data)
    except DeserializationError as error:
        assert str(error)


@RAW_FUZZ
@given(st.text())
def test_arbitrary_text(data: str) -> None:
    _returns_or_refuses(data)


@RAW_FUZZ
@given(st.text(st.characters(exclude_categories=()), max_size=40))
def test_arbitrary_text_with_surrogates(data: str) -> None:
    _returns_or_refuses(data)
    _returns_or_refuses(json.dumps(data))


@RAW_FUZZ
@given(st.binary())
def test_arbitrary_bytes(data: bytes) -> None:
    _returns_or_refuses(data)


#: Pieces of JSON text, valid and not, that a tokenwise fuzzer strings together.
TOKENS = [
    *"{}[],: ",
    *(json.dumps(name) for name in [TYPE_KEY, *CLASS_NAMES, *FIELD_NAMES]),
    r'"\ud800"',
    r'"\u00e1"',
    r'"\"',
    '"²"',
    "0",
    "-1",
    "1.5",
    "1e999",
    "9" * 4400,
    "NaN",
    "-Infinity",
    "true",
    "false",
    "null",
]


@RAW_FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_arbitrary_token_soup(tokens: list[str]) -> None:
    _returns_or_refuses("".join(tokens))


@STRUCTURED_FUZZ
@given(json_values, st.booleans())
def test_arbitrary_json_shaped_like_messages(value: Any, ascii_only: bool) -> None:
    _returns_or_refuses(json.dumps(value, ensure_ascii=ascii_only))


@STRUCTURED_FUZZ
@given(message, st.data())
def test_messages_with_one_value_replaced(value: Message, data: st.DataObject) -> None:
    """A real message with one field somewhere swapped for an arbitrary JSON value."""
    encoded = json.loads(serialize(value))
    node = encoded
    while True:
        keys = [key for key in node if key != TYPE_KEY]
        if not keys:
            break
        key = data.draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, dict) and data.draw(st.booleans()):
            node = child
            continue
        node[key] = data.draw(json_values)
        break
    _returns_or_refuses(json.dumps(encoded))
