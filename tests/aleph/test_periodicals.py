"""Continuing resources in the 2016 form (DESIGN §3.3): every periodical fixture record.

The golden values are in :mod:`tests.aleph.golden_periodicals`, each with the rule that
gives it. Here: the mapping gives them from the files and from the emulator over real
HTTP, the codec writes them as 2016's clients read them, books keep their 2015 shape,
and ISSNs are searched by ``ISSNQuery`` and by the production clients' ``GenericQuery``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edeposit.amqp.aleph import (
    AlephRecord,
    CountRequest,
    EPeriodical,
    EPeriodicalSemanticInfo,
    EPublication,
    GenericQuery,
    ICZQuery,
    ISSNQuery,
    SearchRequest,
    SearchResult,
    SemanticInfo,
)
from edeposit.amqp.catalogue.service import AlephService
from edeposit.amqp.emulator import AlephEmulator
from edeposit.amqp.errors import InvalidISSNError
from edeposit.amqp.marc.record import record_from_xml
from edeposit.amqp.serializers import TYPE_KEY
from edeposit.amqp.wire.codec import WireOptions, decode, encode
from tests.aleph.golden_periodicals import GOLDEN_PERIODICALS
from tests.aleph.golden_records import GOLDEN
from tests.conftest import ALEPH_FIXTURES
from tests.wire_samples import (
    EPERIODICAL_FIELDS,
    EPERIODICAL_SEMANTIC_INFO_FIELDS,
    EPUBLICATION_2015_FIELDS,
    SEMANTIC_INFO_FIELDS,
)

from .conftest import service_settings

FIXTURES = ALEPH_FIXTURES.parent
WIRE_2016 = WireOptions(generation="2016")


def _record_files() -> list[Path]:
    """Every fixture file holding a MARC record, in both folders."""
    if not FIXTURES.is_dir():
        return []
    return [path for path in sorted(FIXTURES.rglob("*.xml")) if b"field" in path.read_bytes()]


def _continuing(path: Path) -> bool:
    return record_from_xml(path.read_bytes()).controls.get("FMT") == "SE"


RECORD_FILES = _record_files()
PERIODICAL_FILES = [path for path in RECORD_FILES if _continuing(path)]


def golden_key(path: Path) -> str:
    (key,) = [key for key in GOLDEN_PERIODICALS if key in path.name]
    return key


def _each(files: list[Path]) -> Any:
    return pytest.mark.parametrize(
        "record_file",
        files or [None],
        ids=lambda path: path.name if path else "no-fixtures",
        indirect=True,
    )


@pytest.fixture
def record_file(request: pytest.FixtureRequest, aleph_fixtures: Path) -> Path:
    """Each record file; without the fixtures folder, ``aleph_fixtures`` says where it goes."""
    path: Path = request.param
    return path


def test_every_periodical_has_golden_values(aleph_fixtures: Path) -> None:
    assert len(PERIODICAL_FILES) == 6
    assert sorted(golden_key(path) for path in PERIODICAL_FILES) == sorted(GOLDEN_PERIODICALS)
    assert "aleph_buletin.xml" in {path.name for path in PERIODICAL_FILES}  # no ISSN
    assert "aleph_epub.xml" in {path.name for path in PERIODICAL_FILES}  # the e-serial


def test_the_reference_record_of_design(aleph_fixtures: Path) -> None:
    """DESIGN §3.3's values of cps20150003391, "Cestou necestou"."""
    (path,) = [path for path in PERIODICAL_FILES if "cps20150003391" in path.name]
    periodical = EPeriodical.from_xml(path.read_bytes())
    info = EPeriodicalSemanticInfo.from_xml(path.read_bytes())
    assert periodical.nazev == "Cestou necestou"
    assert periodical.podnazev == "zážitky z cest"
    assert periodical.mistoVydani == "Zámecká Lhota"
    assert periodical.nakladatelVydavatel == "Vydavatelství Stáza"
    assert periodical.datumVydani == "2015-"
    assert periodical.ISSN == []
    assert info.contentOfFMT == "SE"
    assert info.isSummaryRecord is True
    assert info.acquisitionFields == ["sk20151111", "pepe"]


@_each(PERIODICAL_FILES)
def test_periodical_of_each_record(record_file: Path) -> None:
    periodical, info = GOLDEN_PERIODICALS[golden_key(record_file)]
    assert EPeriodical.from_xml(record_file.read_bytes()) == periodical
    assert EPeriodical.from_xml(record_file.read_text(encoding="utf-8")) == periodical
    assert EPeriodicalSemanticInfo.from_xml(record_file.read_bytes()) == info
    # The production tests convert the e-serial both ways: a publication too.
    publication = EPublication.from_xml(record_file.read_bytes())
    assert publication.nazev == periodical.nazev
    assert publication.id_number == periodical.id_number


def _no_nulls(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, dict):
        return all(map(_no_nulls, value.values()))
    if isinstance(value, list):
        return all(map(_no_nulls, value))
    return True


@_each(PERIODICAL_FILES)
def test_each_periodical_on_the_wire_in_2016(record_file: Path) -> None:
    periodical, info = GOLDEN_PERIODICALS[golden_key(record_file)]
    xml = record_file.read_text(encoding="utf-8")
    record = AlephRecord("nkc", "NKC01", 42, xml)  # every view read from the xml
    assert (record.parsed_info, record.parsed_semantic_info) == (periodical, info)
    data = encode(SearchResult([record]), WIRE_2016)
    (written,) = json.loads(data)["records"]
    assert _no_nulls(written)
    keys = {"base", "library", "docNumber", "xml", "parsed_info", "semantic_info", TYPE_KEY}
    assert set(written) == keys
    assert type(written["docNumber"]) is int
    assert written["xml"] == xml
    assert written["semantic_info"] == {**info._asdict(), TYPE_KEY: "EPeriodicalSemanticInfo"}
    assert set(written["parsed_info"]) == {*EPERIODICAL_FIELDS, TYPE_KEY}
    assert written["parsed_info"] == {**periodical._asdict(), TYPE_KEY: "EPeriodical"}
    (back,) = decode(data).records
    assert back.parsed_info == periodical
    assert back.parsed_semantic_info == info
    # the views the 2016 form does not carry are read from the xml again
    assert back.epublication == EPublication.from_xml(xml)
    assert back.semantic_info == SemanticInfo.from_xml(xml)


@_each([path for path in RECORD_FILES if not _continuing(path)])
def test_books_keep_their_2015_shape_in_2016(record_file: Path) -> None:
    xml = record_file.read_text(encoding="utf-8")
    record = AlephRecord("nkc", "NKC01", 42, xml)
    assert record.periodical is None
    assert record.parsed_info is record.epublication
    written = {
        generation: json.loads(encode(record, WireOptions(generation=generation)))
        for generation in ("2015", "2016")
    }
    assert written["2016"]["parsed_info"] == written["2015"]["epublication"]
    assert written["2016"]["semantic_info"] == written["2015"]["semantic_info"]
    assert set(written["2016"]["parsed_info"]) == {*EPUBLICATION_2015_FIELDS, TYPE_KEY}
    assert set(written["2016"]["semantic_info"]) == {*SEMANTIC_INFO_FIELDS, TYPE_KEY}
    if any(key in record_file.name for key in GOLDEN):
        (key,) = [key for key in GOLDEN if key in record_file.name]
        assert record.parsed_info == GOLDEN[key][0]


def test_the_semantic_info_fields_and_their_order() -> None:
    assert EPeriodical._fields == EPERIODICAL_FIELDS
    assert EPeriodicalSemanticInfo._fields == EPERIODICAL_SEMANTIC_INFO_FIELDS


# --- through the emulator: search by control number and by ISSN --------------------------


@pytest.fixture(scope="module")
def service(aleph_fixtures: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    corpus = [aleph_fixtures, aleph_fixtures.parent / "production_tests"]
    with (
        AlephEmulator(corpus, index_dir=tmp_path_factory.mktemp("periodicals")) as emulator,
        AlephService(service_settings(emulator)) as running,
    ):
        yield emulator, running


def test_every_periodical_through_http(service: Any) -> None:
    _, running = service
    for path in PERIODICAL_FILES:
        periodical, info = GOLDEN_PERIODICALS[golden_key(path)]
        (found,) = running.search(ICZQuery(periodical.id_number))
        assert found.parsed_info == periodical, path.name
        assert found.parsed_semantic_info == info, path.name
        assert isinstance(found.epublication, EPublication)  # for the 2014 and 2015 forms


@pytest.mark.parametrize(
    ("issn", "key"), [("1213-8215", "periodical_issn"), ("0069-228X", "periodical_with_no_entry")]
)
def test_issn_searches(service: Any, issn: str, key: str) -> None:
    _, running = service
    periodical, _ = GOLDEN_PERIODICALS[key]
    for query in (
        ISSNQuery(issn),
        ISSNQuery(issn.replace("-", "").lower()),  # written loosely: checked and formatted
        GenericQuery("nkc", issn, False, "ssn"),  # how the production clients asked
        GenericQuery("nkc", issn, False, "isn"),  # ISBN and ISSN index
    ):
        (found,) = running.search(query)
        assert found.parsed_info == periodical, query
        assert running.handle(CountRequest(query)).num_of_records == 1


@pytest.mark.parametrize(
    ("issn", "problem"),
    [
        ("1213-8216", "check digit"),
        ("1213-821", "eight characters"),
        ("ISSN 1213-8215", "seven digits"),
        ("", "empty"),
        (" ", "empty"),
    ],
)
def test_an_invalid_issn_is_refused_before_the_catalogue_is_asked(
    service: Any, issn: str, problem: str
) -> None:
    emulator, running = service
    asked = emulator.request_count
    for request in (SearchRequest(ISSNQuery(issn)), CountRequest(ISSNQuery(issn))):
        with pytest.raises(InvalidISSNError, match=problem) as caught:
            running.handle(request)
        assert repr(issn) in str(caught.value)
    assert emulator.request_count == asked
