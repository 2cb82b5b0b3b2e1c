"""Every X-Services op and its error cases, over real sockets."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from edeposit.amqp.emulator import AlephEmulator
from tests.emulator.helpers import X, parse

RAYMOND = "001492461"


def _set(x: X, request: str) -> tuple[str, int]:
    root = x.find(request)
    return root.findtext("set_number"), int(root.findtext("no_entries"))


def test_the_original_example_finds_and_presents_raymond(sample: X) -> None:
    root = sample.find("sbn=80-251-0225-4")
    assert root.findtext("no_records") == "000000001"
    assert root.findtext("no_entries") == "000000001"
    present = sample.root(op="present", set_number=root.findtext("set_number"), set_entry="1")
    record = present.find("record")
    assert record.findtext("record_header/set_entry") == "000000001"
    assert record.findtext("doc_number") == RAYMOND
    title = record.xpath("metadata/oai_marc/varfield[@id='245']/subfield[@label='a']/text()")
    assert title == ["Umění programování v UNIXu /"]
    assert present.find("error") is None


def test_find_numbers_sets_with_six_digits(sample: X) -> None:
    first, second = sample.find("wrd=unix"), sample.find("wrd=unix")
    assert len(first.findtext("set_number")) == 6
    assert int(second.findtext("set_number")) == int(first.findtext("set_number")) + 1


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"base": "xyz", "request": "wrd=unix"}, "Base xyz does not exist"),
        ({"request": "wrd=unix"}, "Missing parameter: base"),
        ({"base": "nkc"}, "Missing parameter: request"),
        ({"base": "nkc", "request": "wrd=zzzqqq"}, "empty set"),
        ({"base": "nkc", "request": "xyz=unix"}, "Unknown index code: xyz"),
        ({"base": "nkc", "request": "unix", "code": "foo"}, "Unknown index code: foo"),
        ({"base": "nkc", "request": "wtl=(unix"}, "Syntax error: expected ')'"),
        ({"base": "nkc", "request": "wtl=unix and"}, "Syntax error: a search term is missing"),
        ({"base": "nkc", "request": "wtl=unix )"}, "Syntax error: unexpected ')'"),
        ({"base": "nkc", "request": "wtl=" + "a" * 500}, "longer than 500"),
        ({"base": "nkc", "request": "wtl=--"}, "Empty search term for index code wtl"),
    ],
)
def test_find_errors(sample: X, params: dict[str, str], error: str) -> None:
    root = sample.root(op="find", **params)
    assert root.tag == "find"
    assert error in root.findtext("error")
    assert root.find("set_number") is None
    assert len(root.findtext("session-id")) == 50


def test_base_is_case_insensitive_and_any_configured_base_works(sample: X) -> None:
    for base in ("NKC", "cze-dep", "Skc"):
        root = sample.root(op="find", base=base, request="sbn=80-251-0225-4")
        assert root.findtext("no_records") == "000000001"


def test_present_ranges_lists_and_padding(sample: X) -> None:
    set_number, entries = _set(sample, "wpb=computer")
    assert entries == 2
    order = sample.doc_numbers("wpb=computer")
    for entry, expected in [("1-2", [1, 2]), ("000000001-000000002", [1, 2]), ("2,1", [2, 1])]:
        root = sample.root(op="present", set_number=set_number, set_entry=entry)
        assert [int(e) for e in root.xpath("record/record_header/set_entry/text()")] == expected
        assert root.xpath("record/doc_number/text()") == [order[i - 1] for i in expected]
        assert root.find("error") is None


def test_present_past_the_end_returns_what_exists_then_the_real_error(sample: X) -> None:
    set_number, entries = _set(sample, "wpb=computer")
    root = sample.root(op="present", set_number=set_number, set_entry="1-5")
    assert len(root.findall("record")) == entries
    assert root.findtext("error") == "There is no entry number: 3 in set number given"
    assert [child.tag for child in root][-2:] == ["error", "session-id"]
    only_missing = sample.root(op="present", set_number=set_number, set_entry="7-9")
    assert only_missing.findall("record") == []
    assert only_missing.findtext("error") == "There is no entry number: 7 in set number given"


@pytest.mark.parametrize("entry", ["abc", "0", "5-2", "1-x", "", "1;2", "9999999999"])
def test_present_refuses_a_malformed_set_entry(sample: X, entry: str) -> None:
    set_number, _ = _set(sample, "wrd=unix")
    root = sample.root(op="present", set_number=set_number, set_entry=entry)
    assert root.tag == "present"
    assert root.findtext("error")
    assert root.find("record") is None


def test_present_of_an_unknown_set(sample: X) -> None:
    root = sample.root(op="present", set_number="999999", set_entry="1")
    assert root.findtext("error") == "Set number 999999 does not exist"
    assert sample.root(op="present", set_number="abc", set_entry="1").findtext("error")


def test_no_entries_is_capped_by_the_set_limit(index_dir: Path, http: httpx.Client) -> None:
    with AlephEmulator(index_dir=index_dir, set_limit=3) as emulator:
        x = X(emulator, http)
        root = x.find("wrd=praha")
        hits = int(root.findtext("no_records"))
        assert hits > 3
        assert root.findtext("no_entries") == "000000003"
        present = x.root(op="present", set_number=root.findtext("set_number"), set_entry="1-4")
        assert len(present.findall("record")) == 3
        assert present.findtext("error") == "There is no entry number: 4 in set number given"


def test_ill_get_set_lists_doc_numbers_in_set_order(sample: X) -> None:
    set_number, entries = _set(sample, "wrd=praha")
    root = sample.root(op="ill_get_set", set_number=set_number, start_point="1", no_docs="2")
    assert root.tag == "ill-get-set"
    assert [child.tag for child in root] == [
        "doc-number",
        "doc-number",
        "no-docs",
        "set-library",
        "session-id",
    ]
    assert root.findtext("no-docs") == "000000002"
    assert root.findtext("set-library") == "NKC01"
    everything = sample.doc_numbers("wrd=praha")
    assert len(everything) == entries
    assert root.xpath("doc-number/text()") == everything[:2]
    tail = sample.root(op="ill-get-set", set_number=set_number, start_point="2", no_docs="500")
    assert tail.xpath("doc-number/text()") == everything[1:]
    assert tail.findtext("no-docs") == f"{entries - 1:09d}"


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"set_number": "999999"}, "Set number 999999 does not exist"),
        ({"start_point": "0"}, "There is no entry number: 0"),
        ({"start_point": "99"}, "There is no entry number: 99"),
        ({"no_docs": "x"}, "Invalid start_point"),
    ],
)
def test_ill_get_set_errors(sample: X, params: dict[str, str], error: str) -> None:
    set_number, _ = _set(sample, "wrd=unix")
    root = sample.root(op="ill_get_set", **{"set_number": set_number, **params})
    assert root.tag == "ill-get-set"
    assert error in root.findtext("error")


def test_ill_get_doc_serves_marc_slim_with_the_slash_namespace(sample: X) -> None:
    root = sample.root(op="ill_get_doc", library="NKC01", doc_number=RAYMOND)
    assert root.tag == "ill-get-doc"
    record = root[0]
    assert record.tag == "{http://www.loc.gov/MARC21/slim/}record"
    ns = {"m": "http://www.loc.gov/MARC21/slim/"}
    assert record.xpath("m:controlfield[@tag='001']/text()", namespaces=ns) == ["cpk20051492461"]
    assert record.xpath("m:datafield[@tag='998']", namespaces=ns) == []  # OAI view only
    assert record.xpath("m:leader/text()", namespaces=ns) == ["-----nam-a22------a-4500"]
    assert [child.tag for child in root][-1] == "session-id"


@pytest.mark.parametrize(
    ("params", "root_name", "error"),
    [
        ({"library": "XYZ01", "doc_number": RAYMOND}, "login", "Library XYZ01 is not defined"),
        ({"doc_number": RAYMOND}, "login", "Library (none) is not defined"),
        ({"library": "nkc01", "doc_number": "000000007"}, "ill-get-doc", "Error reading document"),
        ({"library": "nkc01", "doc_number": "abc"}, "ill-get-doc", "Error reading document"),
        ({"library": "nkc01"}, "ill-get-doc", "Missing parameter: doc_number"),
    ],
)
def test_ill_get_doc_errors(sample: X, params: dict[str, str], root_name: str, error: str) -> None:
    root = sample.root(op="ill-get-doc", **params)
    assert root.tag == root_name
    assert root.findtext("error") == error


def test_find_doc_has_no_doc_number_and_accepts_both_parameter_names(sample: X) -> None:
    for name in ("doc_num", "doc_number"):
        root = sample.root(op="find_doc", base="nkc", **{name: RAYMOND})
        assert root.tag == "find-doc"
        assert [child.tag for child in root] == ["record", "session-id"]
        assert [child.tag for child in root[0]] == ["metadata"]
        assert root.xpath("record/metadata/oai_marc/fixfield[@id='001']/text()") == [
            "cpk20051492461"
        ]
    # Catmandu: the X-Server reads only the first nine characters.
    padded = sample.root(op="find_doc", base="nkc", doc_num=RAYMOND + "999")
    assert padded.find("record") is not None


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"base": "nkc", "doc_num": "000000007"}, "Error reading document"),
        ({"base": "bad", "doc_num": RAYMOND}, "Base bad does not exist"),
        ({"base": "nkc"}, "Missing parameter: doc_num"),
    ],
)
def test_find_doc_errors(sample: X, params: dict[str, str], error: str) -> None:
    root = sample.root(op="find_doc", **params)
    assert root.tag == "find-doc"
    assert root.findtext("error") == error


@pytest.mark.parametrize("op", ["", "bor-auth", "FIND_X", "item_data"])
def test_unknown_ops_answer_login_error(sample: X, op: str) -> None:
    root = sample.root(op=op) if op else sample.root()
    assert root.tag == "login"
    assert root.findtext("error")
    assert [child.tag for child in root] == ["error", "session-id"]


def test_op_names_and_parameters_are_case_insensitive(sample: X) -> None:
    response = sample.client.get(
        sample.emulator.url + "/X",
        params={"OP": "FIND-DOC", "Base": "NKC", "DOC_NUM": RAYMOND},
    )
    assert parse(response.content).tag == "find-doc"


def test_post_with_a_form_body_works_like_get(sample: X) -> None:
    response = sample.client.post(
        sample.emulator.url + "/X",
        data={"op": "find", "base": "nkc", "request": "sbn=80-251-0225-4"},
    )
    root = parse(response.content)
    assert root.findtext("no_records") == "000000001"
    present = sample.client.post(
        sample.emulator.url + "/X",
        data={"op": "present", "set_no": root.findtext("set_number"), "set_entry": "1"},
    )
    assert parse(present.content).xpath("record/doc_number/text()") == [RAYMOND]


def test_base_list_page_names_the_bases(sample: X) -> None:
    response = sample.client.get(
        sample.emulator.url + "/F/", params={"func": "file", "file_name": "base-list"}
    )
    assert response.status_code == 200
    assert "local_base=nkc" in response.text
    assert "local_base=cze-dep" in response.text


def test_unknown_paths_and_methods(sample: X) -> None:
    assert sample.client.get(sample.emulator.url + "/nothing").status_code == 404
    assert sample.client.delete(sample.emulator.url + "/X").status_code == 405
    assert sample.client.get(sample.emulator.export_url).status_code == 405


def test_oversized_bodies_are_refused(sample: X) -> None:
    response = sample.client.post(sample.emulator.url + "/X", content=b"a" * (1 << 20 + 1))
    assert response.status_code == 413
