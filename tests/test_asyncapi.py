"""The published contract (``amqp_tool --asyncapi``, DESIGN §5) says what the decoder does.

Every body the test suite knows the decoder to accept validates against the document's
schemas, and the bodies it refuses are refused by them, where JSON Schema can say why.
The bodies are taken from the tests that own them (their parameters and constants), so
a body added there is checked here too.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from edeposit.amqp import aleph, amqp_tool
from edeposit.amqp.config import Settings
from edeposit.amqp.errors import DeserializationError
from edeposit.amqp.tool.asyncapi import ERROR_MESSAGE, asyncapi_document
from edeposit.amqp.wire.codec import WireOptions, decode, encode
from edeposit.amqp.wire.message import REGISTRY, TYPE_KEY
from tests import test_codec, test_daemon_wire, test_serializers, test_wire_errors
from tests import test_wire_leniency as leniency
from tests.aleph.golden_periodicals import GOLDEN_PERIODICALS
from tests.aleph.golden_records import GOLDEN
from tests.conftest import PROJECT_ROOT
from tests.services import test_aleph_daemon
from tests.test_wire_properties import STRATEGIES, json_values
from tests.wire_samples import RAYMOND, RAYMOND_MARCXML

DOCUMENT = asyncapi_document(Settings())
COMPONENTS = DOCUMENT["components"]
#: How the daemon decodes: with its settings' defaults for a query's base and library.
DAEMON = WireOptions(defaults={"base": "nkc", "library": "NKC01"})
GENERATIONS = ("2014", "2015", "2016")


def validator(schema: dict[str, Any]) -> Draft7Validator:
    """``schema`` with the document's components to resolve its references in."""
    return Draft7Validator({**schema, "components": COMPONENTS})


def _union(names: Any) -> Draft7Validator:
    return validator({"oneOf": [{"$ref": f"#/components/schemas/{name}"} for name in names]})


#: Any message the decoder builds, and any request the daemon answers.
ANY_MESSAGE = _union(REGISTRY)
ANY_REQUEST = _union(cls.__name__ for cls in aleph.REQUEST_TYPES)


def parameters(test: Callable[..., Any], name: str) -> list[Any]:
    """The values a test is parametrized with for the argument ``name``."""
    for mark in getattr(test, "pytestmark", []):
        if mark.name != "parametrize":
            continue
        names = mark.args[0]
        names = [item.strip() for item in names.split(",")] if isinstance(names, str) else names
        if name in names:
            index = names.index(name)
            return [
                value.values[index]
                if hasattr(value, "values")
                else (value[index] if len(names) > 1 else value)
                for value in mark.args[1]
            ]
    raise AssertionError(f"{test.__name__} is not parametrized with {name!r}")


def _written(value: Any) -> Iterator[str]:
    for generation in GENERATIONS:
        yield encode(value, WireOptions(generation=generation)).decode()


def _leniency_bodies() -> Iterator[tuple[str, str]]:
    """What real clients sent, from test_wire_leniency and test_codec."""
    for query_body, _ in leniency.QUERIES:
        for wrapper in leniency.WRAPPERS.values():
            yield "leniency query", wrapper % query_body
    for body in (*leniency.ISBN_BODIES, leniency.EXPORT_18, leniency.EXPORT_21):
        yield "leniency", body
    for fields in parameters(leniency.test_export_field_variants, "fields"):
        yield f"leniency export {sorted(fields)}", leniency.export_body(**fields)
    for doc_id in parameters(leniency.test_doc_id_as_number_or_string, "doc_id"):
        query = {"doc_id": doc_id, TYPE_KEY: "DocumentQuery"}
        yield "leniency doc_id", json.dumps({"query": query, TYPE_KEY: "SearchRequest"})
    lenient_test = test_codec.test_a_lenient_form_gives_what_its_clean_form_gives
    for name in ("lenient", "clean"):
        for body in parameters(lenient_test, name):
            yield f"codec {name}", json.dumps(body)
    for raw in (test_daemon_wire.WITHOUT_BASE, test_daemon_wire.WITHOUT_LIBRARY):
        yield "daemon wire", raw.decode()


def _written_bodies() -> Iterator[tuple[str, str]]:
    """What this project writes, in both generations' forms."""
    for example in test_serializers.EXAMPLES:
        for body in _written(example):
            yield f"serializers {type(example).__name__}", body
    for publication in (RAYMOND, RAYMOND_MARCXML, test_aleph_daemon.EXPORTED):
        for body in _written(aleph.ExportRequest(publication)):
            yield "wire samples and services export", body
    requests: list[Any] = [request for request, _ in test_aleph_daemon.VALIDATIONS]
    for query in test_aleph_daemon.QUERIES:
        requests += [aleph.SearchRequest(query), aleph.CountRequest(query)]
    for request in requests:
        yield "services", encode(request).decode()
    for key, (publication, semantic_info) in GOLDEN.items():
        record = aleph.AlephRecord("nkc", "NKC01", 1, "<oai_marc/>", publication, semantic_info)
        for body in _written(aleph.SearchResult([record])):
            yield f"golden {key}", body
    for key, (periodical, periodical_info) in GOLDEN_PERIODICALS.items():
        record = aleph.AlephRecord("nkc", "NKC01", 1, "<oai_marc/>", periodical, periodical_info)
        for body in _written(aleph.SearchResult([record])):
            yield f"golden {key}", body


KNOWN = [*_leniency_bodies(), *_written_bodies()]


def _integral_float(value: Any) -> bool:
    """A float like 1.0 the decoder refuses for an integer and JSON Schema takes as one."""
    if isinstance(value, float):
        return value.is_integer()
    if isinstance(value, list):
        return any(map(_integral_float, value))
    if isinstance(value, dict):
        return any(map(_integral_float, value.values()))
    return False


def refused_bodies() -> Iterator[str]:
    """The bodies the wire-error tests show refused for what they hold, not their syntax."""
    for test in (
        test_wire_errors.test_unknown_or_unexpected_class,
        test_wire_errors.test_missing_field_is_named,
        test_wire_errors.test_unknown_field_is_named,
        test_wire_errors.test_wrongly_typed_field_names_class_field_and_path,
    ):
        for body in parameters(test, "text"):
            # A float like 3.0 where an integer belongs: JSON Schema counts it as one.
            if not _integral_float(json.loads(body)):
                yield body


REFUSED = list(refused_bodies())


def test_the_document_is_asyncapi_3_of_the_topology() -> None:
    assert DOCUMENT["asyncapi"] == "3.0.0"
    exchanges = ("search", "count", "export", "validate")
    expected = {f"{name}.{key}" for name in exchanges for key in ("request", "result")}
    assert set(DOCUMENT["channels"]) == {*expected, "search.exception"}
    for name, channel in DOCUMENT["channels"].items():
        exchange, key = name.split(".")
        assert channel["address"] == key
        assert channel["bindings"]["amqp"]["exchange"]["name"] == exchange
        assert channel["bindings"]["amqp"]["exchange"]["vhost"] == "aleph"
        messages = set(channel["messages"])
        if key == "request":
            assert messages == {cls.__name__ for cls in aleph.REQUEST_TYPES}
        else:
            assert messages == {*(cls.__name__ for cls in aleph.RESULT_TYPES), ERROR_MESSAGE}
    assert set(REGISTRY) <= set(COMPONENTS["schemas"])
    receiving = [op for op in DOCUMENT["operations"].values() if op["action"] == "receive"]
    assert len(receiving) == len(exchanges)
    (sending,) = [op for op in DOCUMENT["operations"].values() if op["action"] == "send"]
    assert sending["channel"] == {"$ref": "#/channels/search.result"}


def test_headers_uuid_and_the_exception_headers() -> None:
    schemas = COMPONENTS["schemas"]
    assert schemas["RequestHeaders"]["required"] == ["UUID"]
    assert set(schemas["ErrorHeaders"]["required"]) == {
        "UUID",
        "exception",
        "exception_name",
        "exception_type",
        "traceback",
    }
    error = COMPONENTS["messages"][ERROR_MESSAGE]
    assert error["contentType"] == "application/text"
    assert error["headers"] == {"$ref": "#/components/schemas/ErrorHeaders"}
    for name in (cls.__name__ for cls in aleph.REQUEST_TYPES):
        assert COMPONENTS["messages"][name]["payload"] == {"$ref": f"#/components/schemas/{name}"}


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def test_every_reference_resolves() -> None:
    references = set(_references(DOCUMENT))
    assert references
    for reference in references:
        node: Any = DOCUMENT
        for step in reference.removeprefix("#/").split("/"):
            node = node[step]  # a KeyError names the broken reference
        assert isinstance(node, dict), reference


@pytest.mark.parametrize("name", sorted(COMPONENTS["schemas"]))
def test_each_schema_is_a_json_schema(name: str) -> None:
    Draft7Validator.check_schema(COMPONENTS["schemas"][name])


def test_the_rendered_copy_in_docs_is_current() -> None:
    rendered = PROJECT_ROOT / "docs" / "asyncapi.json"
    assert json.loads(rendered.read_text(encoding="utf-8")) == DOCUMENT, (
        "regenerate: amqp_tool --asyncapi > docs/asyncapi.json"
    )


def test_amqp_tool_prints_the_document() -> None:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert amqp_tool.main(["--asyncapi"]) == 0
    assert json.loads(printed.getvalue()) == DOCUMENT


def test_the_document_follows_the_settings() -> None:
    own = Settings().replace(
        RABBITMQ_ALEPH_VIRTUALHOST="vh",
        RABBITMQ_ALEPH_EXCHANGE="ask",
        RABBITMQ_USER_PASSWORD="s3cr3t-Pa55word",
        ALEPH_WIRE_GENERATION="2015",
    )
    document = asyncapi_document(own)
    assert "s3cr3t" not in json.dumps(document)
    assert document["servers"]["node1"]["pathname"] == "/vh"
    assert "ask.request" in document["channels"] and "ask.exception" in document["channels"]
    assert document["operations"]["send.answers"]["channel"] == {"$ref": "#/channels/ask.result"}
    assert document["info"]["x-wire-generation"] == "2015"


def test_the_bodies_are_many() -> None:
    sources = {source.split()[0] for source, _ in KNOWN}
    assert {"leniency", "codec", "daemon", "serializers", "wire", "services", "golden"} <= sources
    assert len(KNOWN) > 150
    assert len(REFUSED) > 30


@pytest.mark.parametrize(("source", "body"), KNOWN, ids=[source for source, _ in KNOWN])
def test_every_body_the_decoder_accepts_validates(source: str, body: str) -> None:
    message = decode(body, DAEMON)
    errors = [error.message for error in ANY_MESSAGE.iter_errors(json.loads(body))]
    assert errors == [], source
    if isinstance(message, tuple(aleph.REQUEST_TYPES)):
        assert ANY_REQUEST.is_valid(json.loads(body))


def test_a_document_number_is_digits_only() -> None:
    record = json.loads(encode(aleph.AlephRecord("nkc", "NKC01", 1, "<r/>", RAYMOND)))
    for number, valid in (("001492461", True), ("12\n", False), ("", False), ("\u00b2", False)):
        body = {**record, "docNumber": number}
        assert ANY_MESSAGE.is_valid(body) is valid, number


@pytest.mark.parametrize("body", REFUSED)
def test_every_body_the_decoder_refuses_is_refused(body: str) -> None:
    with pytest.raises(DeserializationError):
        decode(body, DAEMON)
    assert not ANY_MESSAGE.is_valid(json.loads(body))


@settings(max_examples=150, deadline=None)
@given(st.one_of(*STRATEGIES.values()), st.sampled_from(GENERATIONS))
def test_generated_messages_validate_in_either_form(value: Any, generation: str) -> None:
    body = json.loads(encode(value, WireOptions(generation=generation)))
    assert ANY_MESSAGE.is_valid(body)


#: Fields of every class and values they may hold, to build objects near the messages.
_FIELDS = sorted({name for cls in REGISTRY.values() for name in cls.__wire__})
_NEAR_VALUES = st.one_of(
    json_values.filter(lambda value: not _integral_float(value)),
    st.sampled_from(["80-251-0225-4", "1492461", "", "nkc"]),
    st.lists(st.sampled_from(["a", "Raymond, Eric S."]), max_size=2),
)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(sorted(REGISTRY.values(), key=lambda cls: cls.__name__)),
    st.data(),
)
def test_schema_and_decoder_agree_on_objects_near_a_message(cls: Any, data: Any) -> None:
    """Start from a real message, change, add or drop one field: both accept or both refuse."""
    generation = data.draw(st.sampled_from(GENERATIONS))
    body = json.loads(encode(data.draw(STRATEGIES[cls]), WireOptions(generation=generation)))
    change = data.draw(st.sampled_from(["replace", "add", "drop"]))
    keys = sorted(key for key in body if key != TYPE_KEY)
    if change == "drop" and keys:
        del body[data.draw(st.sampled_from(keys))]
    elif change == "replace" and keys:
        body[data.draw(st.sampled_from(keys))] = data.draw(_NEAR_VALUES)
    else:
        body[data.draw(st.sampled_from(_FIELDS))] = data.draw(_NEAR_VALUES)
    try:
        decode(json.dumps(body), DAEMON)
    except DeserializationError as error:
        assert not ANY_MESSAGE.is_valid(body), f"schema accepts what the decoder refuses: {error}"
    else:
        assert ANY_MESSAGE.is_valid(body), "schema refuses what the decoder accepts"


def test_messages_doc_examples_validate_and_decode() -> None:
    text = (PROJECT_ROOT / "docs" / "messages.md").read_text(encoding="utf-8")
    blocks = [block.split("```", 1)[0] for block in text.split("```json\n")[1:]]
    assert len(blocks) >= 8
    for block in blocks:
        body = json.loads(block)
        if TYPE_KEY not in body:  # headers, shown beside a body
            continue
        assert ANY_MESSAGE.is_valid(body), block
        decode(block, DAEMON)
