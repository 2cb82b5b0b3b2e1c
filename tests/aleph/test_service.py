"""The Aleph service against the emulator over HTTP: every request and query, every record."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edeposit.amqp import settings
from edeposit.amqp.aleph import (
    AlephRecord,
    Author,
    AuthorQuery,
    CountRequest,
    CountResult,
    DocumentNotFoundException,
    DocumentQuery,
    EPublication,
    ExportRejectedException,
    ExportRequest,
    ExportResult,
    GenericQuery,
    ICZQuery,
    InvalidAlephBaseException,
    InvalidAlephFieldException,
    ISBNQuery,
    ISBNValidationRequest,
    ISBNValidationResult,
    LibraryNotFoundException,
    PublisherQuery,
    SearchRequest,
    SearchResult,
    TitleQuery,
    reactToAMQPMessage,
)
from edeposit.amqp.catalogue.service import AlephService, close_default_service
from edeposit.amqp.emulator import AlephEmulator
from edeposit.amqp.errors import MessageError
from tests.wire_samples import RAYMOND, RAYMOND_MARCXML

from .conftest import RAYMOND_ISBN, RAYMOND_SYSNO, service_settings

#: Every query type, each finding the Raymond record.
RAYMOND_QUERIES = [
    ISBNQuery(RAYMOND_ISBN),
    AuthorQuery("Raymond"),
    TitleQuery("Umění programování v UNIXu"),
    ICZQuery("cpk20051492461"),
    GenericQuery("nkc", "cnb001492461", False, "cnb"),
    DocumentQuery(RAYMOND_SYSNO),
]


@pytest.fixture(scope="module")
def emulator(aleph_fixtures: Path) -> Iterator[AlephEmulator]:
    """The emulator serving every real fixture record."""
    with AlephEmulator(corpus=[aleph_fixtures]) as running:
        yield running


@pytest.fixture
def service(emulator: AlephEmulator) -> Iterator[AlephService]:
    with AlephService(service_settings(emulator)) as running:
        yield running


@pytest.mark.parametrize("query", RAYMOND_QUERIES, ids=lambda query: type(query).__name__)
def test_search_and_count_every_query(service: AlephService, query: object) -> None:
    result = service.handle(SearchRequest(query))
    assert isinstance(result, SearchResult)
    assert RAYMOND_SYSNO in [record.docNumber for record in result.records]
    raymond = next(record for record in result.records if record.docNumber == RAYMOND_SYSNO)
    # A document is read with ill_get_doc (MARC 21 slim), the rest with present (OAI-MARC).
    expected = RAYMOND_MARCXML if isinstance(query, DocumentQuery) else RAYMOND
    assert raymond.epublication == expected
    counted = service.handle(CountRequest(query))
    assert isinstance(counted, CountResult)
    assert counted.num_of_records == len(result.records) >= 1


def test_publisher_query_finds_both_computer_press_books(service: AlephService) -> None:
    result = service.handle(SearchRequest(PublisherQuery("Computer Press")))
    assert isinstance(result, SearchResult)
    assert {1492461, 2251644} <= {record.docNumber for record in result.records}
    counted = service.handle(CountRequest(PublisherQuery("Computer Press")))
    assert counted == CountResult(len(result.records))


def test_golden_record_from_present_oai_marc(service: AlephService) -> None:
    (record,) = service.search(ISBNQuery(RAYMOND_ISBN))
    assert record == AlephRecord("nkc", "NKC01", RAYMOND_SYSNO, record.xml, RAYMOND)
    assert isinstance(record.docNumber, int)
    assert record.xml.startswith("<oai_marc")
    assert "cpk20051492461" in record.xml
    assert EPublication.from_xml(record.xml.encode()) == RAYMOND


def test_golden_record_from_ill_get_doc_marc_xml(service: AlephService) -> None:
    (record,) = service.search(DocumentQuery("001492461", "nkc01"))
    assert record == AlephRecord("nkc", "nkc01", RAYMOND_SYSNO, record.xml, RAYMOND_MARCXML)
    assert record.xml.startswith("<record")
    assert "http://www.loc.gov/MARC21/slim" in record.xml


# Every fixture record through HTTP, in both dialects: tests/aleph/test_real_records.py.


def test_records_the_fixture_notes_describe(service: AlephService) -> None:
    (may,) = service.search(ICZQuery("cpk19990652691"))
    assert may.epublication.ISBN == ["80-7174-091-8", "80-7174-129-9", "80-7174-173-6"]
    assert may.epublication.originaly == ["Ardistan und Dschinnistan."]
    (deti,) = service.search(ISBNQuery("978-80-260-0791-3"))
    assert deti.epublication.ISBN == ["978-80-260-0791-3"]
    (drupal,) = service.search(ICZQuery("nkc20112251644"))
    assert drupal.epublication.autori == [Author("Matt", "Butcher", "")]
    assert drupal.epublication.originaly == ["Drupal 7 module development"]
    (serial,) = service.search(ICZQuery("cps20150003391"))
    assert (serial.epublication.ISBN, serial.epublication.datumVydani) == ([], "2015-")


def test_isbn_validation_requests(service: AlephService, emulator: AlephEmulator) -> None:
    calls = emulator.request_count
    assert service.handle(ISBNValidationRequest(RAYMOND_ISBN)) == ISBNValidationResult(True)
    assert service.handle(ISBNValidationRequest(ISBNQuery("80-251-0225-5"))) == (
        ISBNValidationResult(False)
    )
    assert service.handle(ISBNValidationRequest("garbage")) == ISBNValidationResult(False)
    assert emulator.request_count == calls  # validation never asks the catalogue


def test_export_request(service: AlephService, emulator: AlephEmulator) -> None:
    publication = RAYMOND._replace(ISBN=["978-80-7367-397-0"])
    assert service.handle(ExportRequest(publication)) == ExportResult("978-80-7367-397-0")
    form = emulator.exports[-1]
    assert form["P0501010__a"] == "978-80-7367-397-0"
    assert form["sid"] == "edeposit"


@pytest.mark.parametrize("legacy", [False, True], ids=["Aleph-Info header", "page text"])
def test_export_rejected_by_the_form(aleph_fixtures: Path, legacy: bool) -> None:
    with AlephEmulator(corpus=[aleph_fixtures], legacy_export=legacy) as emulator:
        settings = service_settings(emulator, ALEPH_EXPORT_SIGNATURE="")  # the form needs sid
        with AlephService(settings) as service:
            expected = "Požadavek byl odmítnut" if legacy else "Aleph-Info: error.*sid"
            with pytest.raises(ExportRejectedException, match=expected):
                service.handle(ExportRequest(RAYMOND))
        assert emulator.exports == []


def test_empty_set(service: AlephService) -> None:
    assert service.handle(SearchRequest(ISBNQuery("80-00-00000-0"))) == SearchResult([])
    assert service.handle(CountRequest(TitleQuery("nonexistentword"))) == CountResult(0)


def test_catalogue_errors(service: AlephService) -> None:
    with pytest.raises(InvalidAlephBaseException):
        service.handle(CountRequest(ISBNQuery(RAYMOND_ISBN, base="nosuchbase")))
    with pytest.raises(InvalidAlephFieldException, match="zzz"):
        service.handle(SearchRequest(GenericQuery("nkc", "x", False, "zzz")))
    with pytest.raises(InvalidAlephFieldException):
        service.handle(SearchRequest(GenericQuery("nkc", "x", False, "w=x")))
    with pytest.raises(DocumentNotFoundException):
        service.handle(SearchRequest(DocumentQuery(9999999)))
    assert service.handle(CountRequest(DocumentQuery(9999999))) == CountResult(0)
    with pytest.raises(LibraryNotFoundException):
        service.handle(SearchRequest(DocumentQuery(RAYMOND_SYSNO, "NOLIB99")))
    with pytest.raises(LibraryNotFoundException):
        service.handle(CountRequest(DocumentQuery(RAYMOND_SYSNO, "NOLIB99")))


def test_unknown_request_and_query_types(service: AlephService) -> None:
    with pytest.raises(MessageError, match="cannot answer a message of type str"):
        service.handle("SearchRequest")
    with pytest.raises(MessageError, match="cannot answer a message of type CountResult"):
        service.handle(CountResult(1))
    with pytest.raises(MessageError, match="cannot search for a query of type Author"):
        service.handle(SearchRequest(Author("A", "B")))  # type: ignore[arg-type]
    with pytest.raises(MessageError, match="cannot search for a query of type str"):
        service.handle(CountRequest("sbn=1"))  # type: ignore[arg-type]
    with pytest.raises(MessageError, match="ISBNValidationRequest"):
        service.handle(ISBNValidationRequest(TitleQuery("x")))  # type: ignore[arg-type]


def test_concurrent_requests_share_one_service(service: AlephService) -> None:
    results: dict[int, object] = {}
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            query = RAYMOND_QUERIES[index % len(RAYMOND_QUERIES)]
            result = service.handle(SearchRequest(query))
            assert isinstance(result, SearchResult)
            results[index] = result.records[0].epublication
        except Exception as error:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(results) == 24
    # present's OAI-MARC gives RAYMOND, ill_get_doc's MARC 21 slim (DocumentQuery) its twin
    assert all(value in (RAYMOND, RAYMOND_MARCXML) for value in results.values())


def test_done_criterion_against_the_default_emulator() -> None:
    """The original documentation's request, default settings but the catalogue's address."""
    with AlephEmulator() as default_emulator:
        os.environ["ALEPH_URL"] = default_emulator.url
        settings.reload()
        try:
            result = reactToAMQPMessage(SearchRequest(ISBNQuery("80-251-0225-4")), None)
        finally:
            close_default_service()
    assert isinstance(result, SearchResult)
    (record,) = result.records
    assert record == AlephRecord("nkc", "NKC01", RAYMOND_SYSNO, record.xml, RAYMOND)


def test_react_to_amqp_message_with_settings_from_the_environment(emulator: AlephEmulator) -> None:
    os.environ["ALEPH_URL"] = emulator.url
    os.environ["ALEPH_EXPORT_URL"] = emulator.export_url
    os.environ["ALEPH_RATE_LIMIT"] = "0"
    settings.reload()
    try:
        result = reactToAMQPMessage(SearchRequest(ISBNQuery("80-251-0225-4")), None)
        assert isinstance(result, SearchResult)
        (record,) = result.records
        assert record.epublication == RAYMOND
        assert record.docNumber == RAYMOND_SYSNO
        found = reactToAMQPMessage(SearchRequest(AuthorQuery("Raymond")), lambda *_: None)
        assert isinstance(found, SearchResult)
        counted = reactToAMQPMessage(CountRequest(AuthorQuery("Raymond")), None)
        assert counted == CountResult(len(found.records))
        assert reactToAMQPMessage(ISBNValidationRequest("80-251-0225-4"), None) == (
            ISBNValidationResult(True)
        )
    finally:
        close_default_service()


def test_present_refuses_a_range_over_the_chunk_size(service: AlephService) -> None:
    found = service.xservices.find("nkc", "wpb=(Computer Press)")
    with pytest.raises(ValueError, match="present range"):
        service.xservices.present(found.set_number, 1, 101)
