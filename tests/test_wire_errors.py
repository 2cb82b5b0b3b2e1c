"""Malformed input: one error type whose message says what is wrong and where.

Also the proof that a message naming anything but a message class builds nothing.
"""

from __future__ import annotations

import builtins
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from edeposit.amqp import config
from edeposit.amqp.aleph import EPublication, ExportResult
from edeposit.amqp.serializers import (
    DEFAULT_MAX_BYTES,
    MAX_DEPTH,
    DeserializationError,
    deserialize,
    serialize,
)


def refused(text: str | bytes, **options: Any) -> str:
    """The error message ``deserialize`` gives for ``text``."""
    with pytest.raises(DeserializationError) as caught:
        deserialize(text, **options)
    return str(caught.value)


def search(query: str) -> str:
    return '{"query": ' + query + ', "__nt_name": "SearchRequest"}'


def publication(**fields: Any) -> dict[str, Any]:
    """An 18-field EPublication object with every field empty except ``fields``."""
    empty: dict[str, Any] = dict.fromkeys(EPublication._fields, "")
    empty.update(ISBN=[], ISBNSouboruPublikaci=[], autori=[], originaly=[])
    return {**empty, **fields, "__nt_name": "EPublication"}


def export(**fields: Any) -> str:
    return json.dumps({"epublication": publication(**fields), "__nt_name": "ExportRequest"})


# --- syntax and encoding ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "message is not valid JSON: Expecting value at line 1 column 1 (char 0)"),
        (
            '{"query": {"ISBN": "1", "__nt_name": "ISBNQuery"}',
            "message is not valid JSON: Expecting ',' delimiter at line 1 column 50 (char 49)",
        ),
        (
            '{\n  "ISBN": "1",\n  "__nt_name": "ExportResult"\n  "x": 1}',
            "message is not valid JSON: Expecting ',' delimiter at line 4 column 3 (char 49)",
        ),
        (
            "{'ISBN': '1'}",
            "message is not valid JSON: Expecting property name enclosed in double quotes"
            " at line 1 column 2 (char 1)",
        ),
        ('"\\x41"', "message is not valid JSON: Invalid \\escape at line 1 column 2 (char 1)"),
        ("[1] [2]", "message is not valid JSON: Extra data at line 1 column 5 (char 4)"),
    ],
)
def test_invalid_json_names_the_position(text: str, expected: str) -> None:
    assert refused(text) == expected


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_invalid_json(constant: str) -> None:
    message = refused('{"num_of_records": ' + constant + ', "__nt_name": "CountResult"}')
    assert message == f"message is not valid JSON: {constant} is not a JSON value"


def test_numbers_out_of_range_are_refused() -> None:
    assert refused("[1e999]") == "message holds the number 1e999, out of range"
    assert refused("-" + "9" * 5000) == "message holds an integer of 5000 digits, more than 4300"
    assert deserialize("9" * 4300) == int("9" * 4300)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"\xff", "message is not valid UTF-8: byte 0xff at position 0"),
        (
            b'{"ISBN": "80-251\xc3-0225-4", "__nt_name": "ExportResult"}',
            "message is not valid UTF-8: byte 0xc3 at position 16",
        ),
        # Czech text in Latin-2, as a misconfigured client might send it.
        (
            '{"title": "Válka s mloky", "__nt_name": "TitleQuery"}'.encode("iso-8859-2"),
            "message is not valid UTF-8: byte 0xe1 at position 12",
        ),
        # A surrogate encoded as UTF-8 bytes ("CESU") is not UTF-8.
        (b'"\xed\xa0\x80"', "message is not valid UTF-8: byte 0xed at position 1"),
    ],
)
def test_invalid_utf8_names_the_byte_and_position(raw: bytes, expected: str) -> None:
    assert refused(raw) == expected


def test_byte_order_mark_is_not_json() -> None:
    assert "not valid JSON" in refused(b'\xef\xbb\xbf{"ISBN": "1", "__nt_name": "ExportResult"}')


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"ISBN": "80-251-\\ud800", "__nt_name": "ExportResult"}',
            "ExportResult.ISBN at $.ISBN: string holds a lone surrogate at character 7",
        ),
        (
            search('{"ISBN": "\\udfff", "__nt_name": "ISBNQuery"}'),
            "ISBNQuery.ISBN at $.query.ISBN: string holds a lone surrogate at character 0",
        ),
        ('["ok", "\\ud83d"]', "$[1]: string holds a lone surrogate at character 0"),
        ('{"\\udc00": 1}', "$ (a key): string holds a lone surrogate at character 0"),
    ],
)
def test_lone_surrogates_are_refused(text: str, expected: str) -> None:
    assert refused(text) == expected


def test_surrogate_pairs_are_one_character() -> None:
    assert deserialize('{"ISBN": "\\ud83d\\udcd6", "__nt_name": "ExportResult"}').ISBN == "📖"


# --- structure ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"num_of_records": 1, "num_of_records": 2, "__nt_name": "CountResult"}',
            "message has the key 'num_of_records' twice in one CountResult object",
        ),
        (
            '{"__nt_name": "ExportResult", "ISBN": "1", "__nt_name": "ExportResult"}',
            "message has the key '__nt_name' twice in one ExportResult object",
        ),
        ('[{"a": 1, "a": 1}]', "message has the key 'a' twice in one object"),
    ],
)
def test_duplicate_keys_are_refused(text: str, expected: str) -> None:
    assert refused(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"__nt_name": "Nonsense"}', "$: unknown message class 'Nonsense'"),
        (
            search('{"ISBN": "1", "__nt_name": "IsbnQuery"}'),
            "$.query: unknown message class 'IsbnQuery'",
        ),
        ('{"__nt_name": 5}', "$: __nt_name must be a string, not 5"),
        ('{"__nt_name": null}', "$: object has no '__nt_name' naming its class"),
        (
            search('{"ISBN": "1", "base": "nkc"}'),
            "$.query: object has no '__nt_name' naming its class",
        ),
        (
            search('{"num_of_records": 1, "__nt_name": "CountResult"}'),
            "$.query: expected ISBNQuery or AuthorQuery or PublisherQuery or TitleQuery"
            " or GenericQuery or DocumentQuery or ICZQuery or ISSNQuery, got CountResult",
        ),
        (
            '{"ISBN": {"author": "Raymond", "__nt_name": "AuthorQuery"},'
            ' "__nt_name": "ISBNValidationRequest"}',
            "$.ISBN: expected ISBNQuery, got AuthorQuery",
        ),
    ],
)
def test_unknown_or_unexpected_class(text: str, expected: str) -> None:
    assert refused(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"__nt_name": "SearchRequest"}', "$: SearchRequest is missing the field 'query'"),
        (
            search('{"base": "nkc", "__nt_name": "ISBNQuery"}'),
            "$.query: ISBNQuery is missing the field 'ISBN'",
        ),
        (
            search('{"base": "nkc", "phrase": "unix", "__nt_name": "GenericQuery"}'),
            "$.query: GenericQuery is missing the field 'field'",
        ),
        ('{"__nt_name": "CountResult"}', "$: CountResult is missing the field 'num_of_records'"),
        (
            '{"base": "nkc", "library": "NKC01", "docNumber": 1, "epublication": null,'
            ' "__nt_name": "AlephRecord"}',
            "$: AlephRecord is missing the field 'xml'",
        ),
    ],
)
def test_missing_field_is_named(text: str, expected: str) -> None:
    assert refused(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            search('{"ISBN": "1", "isbn": "1", "__nt_name": "ISBNQuery"}'),
            "$.query: ISBNQuery has no field 'isbn'",
        ),
        (
            '{"query": {"ISBN": "1", "__nt_name": "ISBNQuery"}, "UUID": "x",'
            ' "__nt_name": "SearchRequest"}',
            "$: SearchRequest has no field 'UUID'",
        ),
        # The 21-field EPublication extras belong to EPublication only.
        (
            '{"num_of_records": 1, "anotace": "", "__nt_name": "CountResult"}',
            "$: CountResult has no field 'anotace'",
        ),
    ],
)
def test_unknown_field_is_named(text: str, expected: str) -> None:
    assert refused(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"num_of_records": true, "__nt_name": "CountResult"}',
            "CountResult.num_of_records at $.num_of_records: expected integer, got boolean",
        ),
        (
            '{"num_of_records": "3", "__nt_name": "CountResult"}',
            "CountResult.num_of_records at $.num_of_records: expected integer, got string",
        ),
        (
            '{"num_of_records": 3.0, "__nt_name": "CountResult"}',
            "CountResult.num_of_records at $.num_of_records: expected integer, got number",
        ),
        (
            '{"is_valid": 1, "__nt_name": "ISBNValidationResult"}',
            "ISBNValidationResult.is_valid at $.is_valid: expected boolean, got number",
        ),
        (
            search('{"ISBN": 8025102254, "__nt_name": "ISBNQuery"}'),
            "ISBNQuery.ISBN at $.query.ISBN: expected string, got number",
        ),
        (
            search('{"author": null, "__nt_name": "AuthorQuery"}'),
            "AuthorQuery.author at $.query.author: expected string, got null",
        ),
        (
            search('{"title": "unix", "base": ["nkc"], "__nt_name": "TitleQuery"}'),
            "TitleQuery.base at $.query.base: expected string, got array",
        ),
        (
            search(
                '{"base": "nkc", "phrase": "unix", "considerSimilar": "false", "field": "wtl",'
                ' "__nt_name": "GenericQuery"}'
            ),
            "GenericQuery.considerSimilar at $.query.considerSimilar: expected boolean, got string",
        ),
        (
            search('{"doc_id": true, "__nt_name": "DocumentQuery"}'),
            "DocumentQuery.doc_id at $.query.doc_id: expected string or integer, got boolean",
        ),
        (
            search('{"doc_id": 1.5, "__nt_name": "DocumentQuery"}'),
            "DocumentQuery.doc_id at $.query.doc_id: expected string or integer, got number",
        ),
        (
            '{"records": {}, "__nt_name": "SearchResult"}',
            "SearchResult.records at $.records: expected array of AlephRecord, got object",
        ),
        (
            '{"records": [1], "__nt_name": "SearchResult"}',
            "SearchResult.records at $.records[0]: expected AlephRecord object, got number",
        ),
        (
            '{"query": "80-251-0225-4", "__nt_name": "SearchRequest"}',
            "SearchRequest.query at $.query: expected ISBNQuery or AuthorQuery or PublisherQuery"
            " or TitleQuery or GenericQuery or DocumentQuery or ICZQuery or ISSNQuery object,"
            " got string",
        ),
        (
            '{"ISBN": 8025102254, "__nt_name": "ISBNValidationRequest"}',
            "ISBNValidationRequest.ISBN at $.ISBN: expected string or ISBNQuery object, got number",
        ),
        (
            '{"epublication": "Umění", "__nt_name": "ExportRequest"}',
            "ExportRequest.epublication at $.epublication: expected EPublication object,"
            " got string",
        ),
        (
            export(ISBN={"a": 1}),
            "EPublication.ISBN at $.epublication.ISBN: expected array of strings,"
            " a string or null, got object",
        ),
        (
            export(originaly=["a", 5]),
            "EPublication.originaly at $.epublication.originaly[1]: expected string, got number",
        ),
        (
            export(autori=[{"author": "Raymond", "__nt_name": "AuthorQuery"}]),
            "$.epublication.autori[0]: expected Author, got AuthorQuery",
        ),
        (
            export(autori=[42]),
            "EPublication.autori at $.epublication.autori[0]: expected Author object, got number",
        ),
        (
            export(autori={"firstName": "Eric S.", "lastName": "Raymond", "__nt_name": "Author"}),
            "EPublication.autori at $.epublication.autori: expected array of Author,"
            " got object 'Author'",
        ),
        (
            export(nazev=1),
            "EPublication.nazev at $.epublication.nazev: expected string, got number",
        ),
        (
            export(cena=590.0),
            "EPublication.cena at $.epublication.cena: expected string, got number",
        ),
        (
            json.dumps(
                {
                    "epublication": {"ISBN": [], "__nt_name": "EPublication"},
                    "__nt_name": "ExportRequest",
                }
            ),
            "$.epublication: EPublication is missing the field 'nazev'",
        ),
        (
            '{"base": "nkc", "library": "NKC01", "docNumber": "12a", "xml": "<r/>",'
            ' "epublication": null, "__nt_name": "AlephRecord"}',
            "AlephRecord.docNumber at $.docNumber: expected integer, got string",
        ),
        # Digits that are not ASCII digits are not a document number.
        (
            '{"base": "nkc", "library": "NKC01", "docNumber": "\\u00b2", "xml": "<r/>",'
            ' "epublication": null, "__nt_name": "AlephRecord"}',
            "AlephRecord.docNumber at $.docNumber: expected integer, got string",
        ),
        (
            '{"base": "nkc", "library": "NKC01", "docNumber": 1, "xml": null,'
            ' "epublication": null, "__nt_name": "AlephRecord"}',
            "AlephRecord.xml at $.xml: expected string, got null",
        ),
    ],
)
def test_wrongly_typed_field_names_class_field_and_path(text: str, expected: str) -> None:
    assert refused(text) == expected


def test_wrong_type_error_names_the_message_inside_a_list() -> None:
    record = {
        "base": "nkc",
        "library": "NKC01",
        "docNumber": 1,
        "xml": "<r/>",
        "epublication": publication(),
        "__nt_name": "AlephRecord",
    }
    broken = {**record, "docNumber": False}
    text = json.dumps({"records": [record, broken], "__nt_name": "SearchResult"})
    assert refused(text) == (
        "AlephRecord.docNumber at $.records[1].docNumber: expected integer, got boolean"
    )


# --- size and depth -------------------------------------------------------------------------


def test_absurd_nesting_is_refused_with_its_path() -> None:
    assert deserialize("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    message = refused("[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2))
    assert message == "$" + "[0]" * (MAX_DEPTH + 1) + f": nested deeper than {MAX_DEPTH} levels"
    nested_objects = '{"a": ' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1)
    assert refused(nested_objects).endswith(f".a.a: nested deeper than {MAX_DEPTH} levels")


def test_nesting_beyond_the_parser_is_refused() -> None:
    assert refused("[" * 200_000) == "message is nested too deeply"
    assert refused('{"a": ' * 200_000) == "message is nested too deeply"


def test_oversize_input_is_refused_before_decoding() -> None:
    text = serialize({"ISBN": "80-251-0225-4"})
    assert deserialize(text, max_bytes=len(text)) == {"ISBN": "80-251-0225-4"}
    assert refused(text, max_bytes=10) == f"message is {len(text)} characters, larger than 10"
    raw = "Kč".encode()  # 3 bytes, 2 characters
    assert refused(b'"' + raw + b'"', max_bytes=4) == "message is 5 bytes, larger than 4"
    # Refused by size although it is not even UTF-8: the size check comes first.
    assert refused(b"\xff" * 11, max_bytes=10) == "message is 11 bytes, larger than 10"
    assert DEFAULT_MAX_BYTES >= 1024 * 1024


@pytest.mark.parametrize("value", [None, 5, ["{}"], {"__nt_name": "CountResult"}])
def test_input_that_is_not_text_is_refused(value: Any) -> None:
    with pytest.raises(DeserializationError, match="message must be str or bytes, not "):
        deserialize(value)


# --- nothing but message classes is ever built ----------------------------------------------

DANGEROUS_NAMES = [
    "Popen",
    "subprocess.Popen",
    "eval",
    "exec",
    "os.system",
    "system",
    "__import__",
    "object",
    "type",
    "Settings",
    "Message",
    "Query",
    "Kind",
    "WireField",
    "SettingDefault",
    "DeserializationError",
    "REGISTRY",
    "__class__",
    "__builtins__",
    "",
]


class Spies:
    """Records calls of what a message might try to make us build or run."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        monkeypatch.setattr(subprocess.Popen, "__init__", self._refuse("Popen"))
        monkeypatch.setattr(builtins, "eval", self._refuse("eval"))
        monkeypatch.setattr(builtins, "exec", self._refuse("exec"))
        monkeypatch.setattr(os, "system", self._refuse("os.system"))
        monkeypatch.setattr(config.Settings, "__init__", self._refuse("Settings"))

    def _refuse(self, name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            raise AssertionError(f"{name} was called")

        return record

    def deserialize(self, body: str) -> Any:
        """``deserialize(body)``, recording every import it makes; errors are returned."""
        original_import = builtins.__import__

        def recording_import(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(f"__import__ {args[0]}")
            return original_import(*args, **kwargs)

        builtins.__import__ = recording_import
        try:
            return deserialize(body)
        except DeserializationError as error:
            return error
        finally:
            builtins.__import__ = original_import


@pytest.fixture
def spies(monkeypatch: pytest.MonkeyPatch) -> Spies:
    return Spies(monkeypatch)


def _bodies(name: str, marker: Path) -> list[str]:
    """Bodies that name ``name`` at the top, nested in a message and nested in plain JSON."""
    command = f"touch {marker}"
    hostile = {
        "__nt_name": name,
        "args": ["sh", "-c", command],
        "source": f"__import__('os').system({command!r})",
        "command": command,
    }
    return [
        json.dumps(hostile),
        json.dumps({"query": hostile, "__nt_name": "SearchRequest"}),
        json.dumps({"ISBN": hostile, "__nt_name": "ISBNValidationRequest"}),
        json.dumps({"records": [hostile], "__nt_name": "SearchResult"}),
        export(autori=[hostile]),
        json.dumps({"plain": [{"deeper": hostile}]}),
    ]


@pytest.mark.parametrize("name", DANGEROUS_NAMES)
def test_non_message_class_names_build_nothing(name: str, spies: Spies, tmp_path: Path) -> None:
    marker = tmp_path / "built"
    for body in _bodies(name, marker):
        error = spies.deserialize(body)
        assert isinstance(error, DeserializationError)
        assert f"unknown message class {name!r}" in str(error)
    assert spies.calls == []
    assert not marker.exists()


def test_a_hostile_value_in_a_later_field_builds_nothing(spies: Spies, tmp_path: Path) -> None:
    marker = tmp_path / "built"
    hostile = {"__nt_name": "Popen", "args": ["touch", str(marker)]}
    error = spies.deserialize(export(anotace=hostile, id_number=hostile))
    assert isinstance(error, DeserializationError)
    assert "EPublication.id_number at $.epublication.id_number: expected string" in str(error)
    assert spies.calls == []
    assert not marker.exists()


def test_the_spies_do_catch_calls(spies: Spies) -> None:
    """The spies really record what they claim to (so their silence means something)."""
    with pytest.raises(AssertionError):
        subprocess.Popen(["true"])
    with pytest.raises(AssertionError):
        eval("1")  # noqa: S307 - the spy, which only records
    with pytest.raises(AssertionError):
        os.system("true")  # noqa: S605 - the spy, which only records
    with pytest.raises(AssertionError):
        config.Settings()
    # A message class whose construction imports: the import is seen.
    original_init = ExportResult.__init__

    def importing_init(self: ExportResult, *args: Any, **kwargs: Any) -> None:
        __import__("json")
        original_init(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ExportResult, "__init__", importing_init)
        assert spies.deserialize('{"ISBN": "1", "__nt_name": "ExportResult"}') == ExportResult("1")
    assert spies.calls == ["Popen", "eval", "os.system", "Settings", "__import__ json"]
