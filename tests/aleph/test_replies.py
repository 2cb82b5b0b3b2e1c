"""Reply shapes and the catalogue's errors, on crafted and real replies (no HTTP)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edeposit.amqp.aleph import (
    AlephException,
    DocumentNotFoundException,
    InvalidAlephBaseException,
    InvalidAlephFieldException,
    LibraryNotFoundException,
)
from edeposit.amqp.catalogue.replies import (
    FoundSet,
    error_for,
    read_find,
    read_present,
)
from edeposit.amqp.catalogue.search import ccl_request
from edeposit.amqp.errors import AlephReplyError, MessageError
from edeposit.amqp.marc.safe_xml import parse_xml


def test_real_find_replies(aleph_fixtures: Path) -> None:
    nkp = parse_xml(
        (aleph_fixtures / "responses/nkp_find_one_hit_indented_proarc.xml").read_bytes()
    )
    assert read_find(nkp) == FoundSet("183719", 1, 1)
    kbdk = parse_xml((aleph_fixtures / "responses/kbdk_find_one_hit_956754.xml").read_bytes())
    assert read_find(kbdk) == FoundSet("956754", 1, 1)


def test_find_limits_entries_and_empty_set() -> None:
    root = parse_xml(
        b"<find><set_number>016513</set_number><no_records>000004998</no_records>"
        b"<no_entries>000002500</no_entries><session-id>X</session-id></find>"
    )
    assert read_find(root) == FoundSet("016513", 4998, 2500)
    empty = parse_xml(b"<find><error>empty set</error><session-id>X</session-id></find>")
    assert read_find(empty) == FoundSet("", 0, 0)


def test_find_without_numbers_is_a_reply_error() -> None:
    with pytest.raises(AlephReplyError):
        read_find(parse_xml(b"<find><set_number>1</set_number><no_records>x</no_records></find>"))


def test_real_present_with_past_end_error(aleph_fixtures: Path) -> None:
    name = "responses/nkp_present_periodical_with_no_entry_error_cps19950356514.xml"
    records, ended = read_present(parse_xml((aleph_fixtures / name).read_bytes()))
    assert [record.doc_number for record in records] == [356514]
    assert ended


def test_present_other_error_fails() -> None:
    with pytest.raises(AlephException, match="set"):
        read_present(parse_xml(b"<present><error>Invalid set number</error></present>"))


@pytest.mark.parametrize(
    ("op", "root", "text", "expected"),
    [
        ("ill_get_doc", "login", "", LibraryNotFoundException),
        ("find", "login", "Unknown operation", AlephException),
        ("find", "find", "Base XYZ does not exist", InvalidAlephBaseException),
        ("find", "find", "Unknown code: zzz", InvalidAlephFieldException),
        ("find_doc", "find-doc", "Error reading document", DocumentNotFoundException),
        ("find_doc", "find-doc", "Invalid base", InvalidAlephBaseException),
        (
            "ill_get_doc",
            "ill-get-doc",
            "Doc number given does not exist",
            DocumentNotFoundException,
        ),
        ("find", "find", "License limit exceeded", AlephException),
        ("present", "present", "something else", AlephException),
    ],
)
def test_error_classes(op: str, root: str, text: str, expected: type[AlephException]) -> None:
    error = error_for(op, root, text)
    assert type(error) is expected
    assert text in str(error)


@pytest.mark.parametrize(
    ("code", "term", "expected"),
    [
        ("sbn", "80-251-0225-4", "sbn=80-251-0225-4"),
        ("WAU", "Eric S. Raymond", "wau=(Eric S. Raymond)"),
        ("wtl", "War and Peace", "wtl=(War Peace)"),
        ("wtl", "sbn=1 or wau=(x)", "wtl=(sbn 1 wau x)"),
        ("wtl", "  not  ", "wtl=not"),
        ("icz", "cpk20051492461", "icz=cpk20051492461"),
    ],
)
def test_ccl_request(code: str, term: str, expected: str) -> None:
    assert ccl_request(code, term) == expected


@pytest.mark.parametrize("code", ["", "x", "sbn=1", "toolong", "w a"])
def test_ccl_request_refuses_non_index_codes(code: str) -> None:
    with pytest.raises(InvalidAlephFieldException):
        ccl_request(code, "term")


@pytest.mark.parametrize("term", ["", "  ", "()=", "x" * 600])
def test_ccl_request_refuses_empty_or_long_terms(term: str) -> None:
    with pytest.raises(MessageError):
        ccl_request("wrd", term)


def test_long_error_texts_are_shortened() -> None:
    error = error_for("find", "find", "x" * 100_000)
    assert 300 <= len(str(error)) < 400
    assert str(error).endswith("…")


@given(st.text(max_size=80))
def test_a_term_is_only_ever_a_term(term: str) -> None:
    try:
        request = ccl_request("wtl", term)
    except MessageError:
        words = re.sub(r'[()="\x00-\x1f\x7f]+', " ", term).split()
        assert not words or len(term) > 400
        return
    assert request.startswith("wtl=")
    value = request[len("wtl=") :]
    if value.startswith("("):
        assert value.endswith(")")
        value = value[1:-1]
    assert not set(value) & set('()="')
    assert all(word.lower() not in {"and", "or", "not"} for word in value.split()[1:])
