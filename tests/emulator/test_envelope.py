"""Replies byte for byte against the real X-Server replies of the shared fixtures."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from edeposit.amqp.emulator import AlephEmulator
from edeposit.amqp.emulator.envelope import DECLARATION, SessionIds
from tests.emulator.helpers import X

_SESSION = re.compile(rb"<session-id>[A-Z0-9]{50}</session-id>")
_SET = re.compile(rb"<set_number>\d{6}</set_number>")


def _normalized(body: bytes) -> bytes:
    """The body with the parts that differ per call (session id, set number) blanked."""
    return _SET.sub(
        b"<set_number>S</set_number>", _SESSION.sub(b"<session-id>I</session-id>", body)
    )


def _fixture(aleph_fixtures: Path, name: str) -> bytes:
    return (aleph_fixtures / "responses" / name).read_bytes()


def test_find_doc_equals_the_real_reply_byte_for_byte(real: X, aleph_fixtures: Path) -> None:
    expected = _fixture(aleph_fixtures, "nkp_find_doc_unix_raymond_cpk20051492461.xml")
    response = real.get(op="find_doc", base="nkc", doc_num="001492461")
    assert _normalized(response.content) == _normalized(expected)
    assert response.content.endswith(b"</find-doc>\n ")


def test_find_doc_of_each_real_reply_is_reproduced(real: X, aleph_fixtures: Path) -> None:
    for path in sorted((aleph_fixtures / "responses").glob("nkp_find_doc_*.xml")):
        expected = path.read_bytes()
        number = re.search(rb"doc_number=(\d{9})", expected)
        assert number is not None
        response = real.get(op="find-doc", base="nkc", doc_number=number.group(1).decode())
        # Some fixture files gained an editor's final newline after Aleph's "\n ".
        assert _normalized(response.content) == _normalized(expected).removesuffix(b"\n"), path


def test_find_layout_equals_the_real_find_reply(sample: X, aleph_fixtures: Path) -> None:
    expected = _fixture(aleph_fixtures, "kbdk_find_one_hit_956754.xml").removesuffix(b"\n")
    response = sample.get(op="find", base="nkc", request="sbn=80-251-0225-4")
    assert _normalized(response.content) == _normalized(expected)


def test_present_equals_the_real_present_reply(real: X, aleph_fixtures: Path) -> None:
    expected = _fixture(aleph_fixtures, "nkp_present_single_cze_dep_000003024.xml")
    set_number = real.find("icz=nkc20150003024").findtext("set_number")
    response = real.get(op="present", set_number=set_number, set_entry="000000001")
    # The fixture is raw-trimmed: Aleph's "\n " trailer was cut off.
    assert _normalized(response.content) == _normalized(expected) + b"\n "


def test_present_past_the_end_equals_the_real_error_reply(real: X, aleph_fixtures: Path) -> None:
    expected = _fixture(
        aleph_fixtures, "nkp_present_periodical_with_no_entry_error_cps19950356514.xml"
    )
    set_number = real.find("icz=cps19950356514").findtext("set_number")
    response = real.get(op="present", set_no=set_number, set_entry="1-2")
    assert _normalized(response.content) == _normalized(expected).removesuffix(b"\n") + b"\n "


def test_ill_get_doc_wraps_the_real_marcxml_record(real: X, aleph_fixtures: Path) -> None:
    for path in sorted((aleph_fixtures / "records" / "marcxml").glob("*.xml")):
        record = path.read_bytes()
        control = re.search(rb'tag="001">[a-z]{3}\d{4}(\d{7})<', record)
        assert control is not None
        response = real.get(
            op="ill-get-doc", library="nkc01", doc_number=control.group(1).decode().zfill(9)
        )
        expected = (
            DECLARATION.encode() + b"<ill-get-doc>\n" + record + b"\n<session-id>I</session-id>"
            b"\n</ill-get-doc>\n "
        )
        assert _normalized(response.content) == expected, path


def test_headers_are_those_of_an_aleph_x_server(sample: X) -> None:
    response = sample.get(op="find", base="nkc", request="wrd=unix")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/xml"
    assert response.headers["server"] == "ALEPH/5.20"
    assert response.headers["cache-control"] == "no-cache, no-store, must-revalidate"
    assert response.headers["pragma"] == "no-cache"
    assert int(response.headers["content-length"]) == len(response.content)


def test_errors_also_answer_200_with_the_envelope(sample: X) -> None:
    response = sample.get(op="find", base="nkc", request="wrd=zzzzqqq")
    assert response.status_code == 200
    assert response.content.startswith(b'<?xml version = "1.0" encoding = "UTF-8"?>\n<find>\n')
    assert re.fullmatch(
        rb'<\?xml version = "1.0" encoding = "UTF-8"\?>\n<find>\n<error>empty set</error>\n'
        rb"<session-id>[A-Z0-9]{50}</session-id>\n</find>\n ",
        response.content,
    )


def test_every_reply_has_a_fresh_session_id(sample: X) -> None:
    ids = {
        _SESSION.search(sample.get(op="find", base="nkc", request="wrd=unix").content).group(0)  # type: ignore[union-attr]
        for _ in range(5)
    }
    assert len(ids) == 5


def test_session_ids_are_deterministic_per_seed() -> None:
    first, second, other = SessionIds("a"), SessionIds("a"), SessionIds("b")
    run = [first.next() for _ in range(3)]
    assert run == [second.next() for _ in range(3)]
    assert run != [other.next() for _ in range(3)]
    assert all(re.fullmatch(r"[A-Z0-9]{50}", session) for session in run)


def test_emulator_seed_changes_session_ids(index_dir: Path) -> None:
    with AlephEmulator(index_dir=index_dir, seed=7) as seven:
        assert seven.url.startswith("http://127.0.0.1:")
        with httpx.Client() as client:
            body = client.get(seven.url + "/X", params={"op": "nope"}).content
    assert _SESSION.search(body).group(0) != (  # type: ignore[union-attr]
        b"<session-id>" + SessionIds("aleph-emulator-0").next().encode() + b"</session-id>"
    )
    assert SessionIds("aleph-emulator-7").next().encode() in body
