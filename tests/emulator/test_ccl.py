"""CCL semantics over the sample corpus, and the parser's handling of any input."""

from __future__ import annotations

import contextlib

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import isbn as stdnum_isbn

from edeposit.amqp.emulator import AlephEmulator, ccl
from tests.emulator.helpers import X

RAYMOND = "001492461"
HEJNY = "001003847"
TOLKIEN = "000021873"
VESMIR = "000156783"
IKAROS = "000462337"
SATRAPA = "002189457"
CAPEK = "000003112"


@pytest.mark.parametrize(
    "request_",
    [
        "sbn=80-251-0225-4",
        "sbn=8025102254",
        "sbn=978-80-251-0225-1",
        "sbn=9788025102251",
        "isn=80-251-0225-4",
        "SBN=80-251-0225-4",
        "sbn=80-251-0225-4 and wtl=unixu",
        'sbn="80-251-0225-4"',
    ],
)
def test_isbn_10_and_13_and_spellings_find_each_other(sample: X, request_: str) -> None:
    assert sample.doc_numbers(request_) == [RAYMOND]


def test_an_isbn_13_record_is_found_by_its_isbn_10_form(sample: X) -> None:
    assert sample.doc_numbers("sbn=978-80-904248-4-5") == [SATRAPA]
    assert sample.doc_numbers("sbn=80-904248-4-8") == [SATRAPA]


def test_every_isbn_of_a_multi_volume_record_finds_it(sample: X) -> None:
    for isbn in ("80-204-0105-9", "80-204-0193-8", stdnum_isbn.to_isbn13("80-204-0194-6")):
        assert sample.doc_numbers(f"sbn={isbn}") == [TOLKIEN], isbn


def test_isbn_qualifiers_are_ignored_with_the_code_parameter(sample: X) -> None:
    assert sample.doc_numbers("80-251-0225-4 brož. :", code="sbn") == [RAYMOND]
    assert sample.doc_numbers("sbn=80-251-0225-4 Kč") == [RAYMOND]


def test_issn(sample: X) -> None:
    assert sample.doc_numbers("ssn=0042-4544") == [VESMIR]
    assert sample.doc_numbers("isn=00424544") == [VESMIR]
    assert sample.doc_numbers("ssn=0042-4545") == []
    assert sample.doc_numbers("ssn=1212-5075") == [IKAROS]
    assert sorted(sample.doc_numbers("ssn=1212-5075 or ssn=0042-4544")) == [VESMIR, IKAROS]


def test_isn_covers_isbns_and_issns_and_ssn_no_isbns(sample: X) -> None:
    assert sorted(sample.doc_numbers("isn=80-251-0225-4 or isn=1212-5075")) == [IKAROS, RAYMOND]
    assert sample.doc_numbers("ssn=80-251-0225-4") == []
    assert sample.doc_numbers("sbn=1212-5075") == []


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        ("wau=Hejny", [HEJNY]),
        ("wau=HEJNÝ", [HEJNY]),
        ("wau=(Milan Hejny)", [HEJNY]),
        ("wau=(Hejny) and wtl=(matematika)", [HEJNY]),
        ("wau=(Hejny) and wtl=(matematika) and wpb=Portal", [HEJNY]),
        ("wtl=(Dite matematika)", [HEJNY]),
        ("wtl=unixu", [RAYMOND]),
        ("wtl=Umění", [RAYMOND]),
        ("wtl=umeni and wau=raymond", [RAYMOND]),
        ("wau=raymond not wtl=umeni", []),
        ("wau=kurina", [HEJNY]),
        ("wpp=brno and wyr=2004", [RAYMOND]),
        ("wyr=1995", ["000196505"]),
        ("icz=cpk20051492461", [RAYMOND]),
        ("sys=1492461", [RAYMOND]),
        ("sys=001492461", [RAYMOND]),
        ("cnb=cnb001492461", [RAYMOND]),
        ("wrd=programming and wrd=unix", [RAYMOND]),
        ("wtl=art and wtl=unix", [RAYMOND]),
        ("wtl=(lord rings)", [TOLKIEN]),
        ("wtl=rur", []),
        ("wtl=r.u.r.", [CAPEK]),
    ],
)
def test_word_indexes(sample: X, request_: str, expected: list[str]) -> None:
    assert sample.doc_numbers(request_) == expected


def test_or_not_and_parentheses(sample: X) -> None:
    both = set(sample.doc_numbers("wau=raymond or wau=hejny"))
    assert both == {RAYMOND, HEJNY}
    assert set(sample.doc_numbers("wau=(raymond or hejny)")) == both
    assert sample.doc_numbers("(wau=raymond or wau=hejny) not wpb=portal") == [RAYMOND]
    assert sample.doc_numbers("wau=(raymond or hejny) and wpb=portal") == [HEJNY]


def test_precedence_or_binds_loosest(sample: X) -> None:
    # (raymond) OR (hejny NOT portal): hejny is excluded only from the right-hand side.
    assert sample.doc_numbers("wau=raymond or wau=hejny not wpb=portal") == [RAYMOND]
    # (raymond) OR (hejny AND portal)
    assert set(sample.doc_numbers("wau=raymond or wau=hejny and wpb=portal")) == {RAYMOND, HEJNY}


def test_truncation(sample: X) -> None:
    assert set(sample.doc_numbers("wtl=program*")) == {"001633108", RAYMOND}
    assert sample.doc_numbers("wtl=programova") == []
    assert sample.doc_numbers("wau=kuř*") == [HEJNY]
    assert sample.doc_numbers("sbn=8025102*") == [RAYMOND]
    assert set(sample.doc_numbers("sbn=80251*")) == {RAYMOND, "001633108"}


def test_code_parameter_and_default_wrd(sample: X) -> None:
    assert sample.doc_numbers("Hejny", code="wau") == [HEJNY]
    assert sample.doc_numbers("Portál") == [HEJNY]  # wrd: every field
    assert sample.doc_numbers("Portál", code="wtl") == []


def test_adjacent_turns_words_into_a_phrase(sample: X) -> None:
    assert sample.doc_numbers("wtl=(matematika skola)") == [HEJNY]
    assert sample.doc_numbers("wtl=(matematika skola)", adjacent="Y") == []
    assert sample.doc_numbers("wtl=(skola a matematika)", adjacent="Y") == [HEJNY]


def test_parse_builds_the_expected_tree() -> None:
    tree = ccl.parse("wau=(Milan Hejny) and wtl=(Dite matematika) or sbn=80-251-0225-4")
    assert tree == ccl.Op(
        "or",
        ccl.Op(
            "and",
            ccl.Term("wau", ("Milan", "Hejny")),
            ccl.Term("wtl", ("Dite", "matematika")),
        ),
        ccl.Term("sbn", ("80-251-0225-4",)),
    )
    assert ccl.parse("unix linux", "WTL") == ccl.Term("wtl", ("unix", "linux"))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_parse_and_compile_only_ever_raise_ccl_errors(text: str) -> None:
    with contextlib.suppress(ccl.CCLError):
        ccl.compile_query(ccl.parse(text))


_ALPHABET = st.sampled_from(
    ["wtl=", "wau=", "sbn=", "(", ")", " and ", " or ", " not ", "*", '"', "unix", "Hejný",
     "80-251-0225-4", "-", "=", " ", "?", "ä", "\\", "'", "{", "}", ":", "^", "NEAR"]
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(_ALPHABET, max_size=12).map("".join))
def test_any_request_gets_an_xml_answer(sample_emulator: AlephEmulator, request_: str) -> None:
    with httpx.Client(timeout=10) as client:
        root = X(sample_emulator, client).find(request_)
    assert root.tag == "find"
    assert root.findtext("error") is not None or int(root.findtext("no_records")) > 0
