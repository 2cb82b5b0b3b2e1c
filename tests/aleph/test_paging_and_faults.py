"""Large sets in chunks of 100, the catalogue's bad days, and the rate limit, over HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from edeposit.amqp.aleph import (
    AlephException,
    CountRequest,
    CountResult,
    ISBNQuery,
    SearchRequest,
    SearchResult,
    TitleQuery,
)
from edeposit.amqp.catalogue.ratelimiter import RateLimiter
from edeposit.amqp.catalogue.search import search
from edeposit.amqp.catalogue.service import AlephService
from edeposit.amqp.catalogue.xservices import XServicesClient
from edeposit.amqp.emulator import AlephEmulator
from edeposit.amqp.errors import AlephTransportError
from tests.wire_samples import RAYMOND

from .conftest import RAYMOND_ISBN, CannedReply, CraftedServer, service_settings

GENERATED = 250


def marc_collection(count: int) -> str:
    """``count`` MARC 21 slim records sharing the title word "paging"."""
    records = []
    for number in range(1, count + 1):
        records.append(
            "<record>"
            "<leader>-----nam-a22------a-4500</leader>"
            f'<controlfield tag="001">nkc2024{number:07d}</controlfield>'
            '<datafield tag="040" ind1=" " ind2=" ">'
            '<subfield code="a">ABA001</subfield></datafield>'
            f'<datafield tag="245" ind1="1" ind2="0"><subfield code="a">Paging record {number} /'
            "</subfield></datafield>"
            '<datafield tag="260" ind1=" " ind2=" "><subfield code="a">Praha :</subfield>'
            f'<subfield code="b">{escape("Test & Co.,")}</subfield>'
            '<subfield code="c">2024</subfield></datafield>'
            "</record>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<collection xmlns="http://www.loc.gov/MARC21/slim">' + "".join(records) + "</collection>"
    )


@pytest.fixture(scope="module")
def generated_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("generated-corpus")
    (folder / "paging.xml").write_text(marc_collection(GENERATED), encoding="utf-8")
    return folder


@pytest.fixture
def emulator(aleph_fixtures: Path) -> Iterator[AlephEmulator]:
    """A fresh emulator per test: faults and the rate limit never leak between tests."""
    with AlephEmulator(corpus=[aleph_fixtures]) as running:
        yield running


def test_search_pages_beyond_100_records(generated_corpus: Path) -> None:
    with AlephEmulator(corpus=[generated_corpus]) as emulator:
        with AlephService(service_settings(emulator)) as service:
            calls = emulator.request_count
            result = service.handle(SearchRequest(TitleQuery("paging")))
            assert emulator.request_count - calls == 1 + 3  # find, then present 1-100, 101-200…
            assert isinstance(result, SearchResult)
            numbers = [record.docNumber for record in result.records]
            assert numbers == list(range(1, GENERATED + 1))
            last = result.records[-1].epublication
            assert (last.nazev, last.nakladatelVydavatel) == (
                f"Paging record {GENERATED}",  # 245 $a "Paging record N /", clean
                "Test & Co.",  # 260 $b "Test & Co.,"
            )

            calls = emulator.request_count
            assert service.handle(CountRequest(TitleQuery("paging"))) == CountResult(GENERATED)
            assert emulator.request_count - calls == 1  # counting is one find


def test_search_stops_at_the_stored_entries_and_at_the_record_limit(generated_corpus: Path) -> None:
    with AlephEmulator(corpus=[generated_corpus], set_limit=120) as emulator:
        with AlephService(service_settings(emulator)) as service:
            assert len(service.search(TitleQuery("paging"))) == 120  # no_entries, not no_records
            assert service.count(TitleQuery("paging")) == GENERATED
        with AlephService(service_settings(emulator, ALEPH_MAX_RECORDS=150)) as service:
            assert len(service.search(TitleQuery("paging"))) == 120
        with AlephService(service_settings(emulator, ALEPH_MAX_RECORDS=30)) as service:
            calls = emulator.request_count
            assert [record.docNumber for record in service.search(TitleQuery("paging"))] == list(
                range(1, 31)
            )
            assert emulator.request_count - calls == 2


def test_slow_replies_within_the_timeout_succeed(emulator: AlephEmulator) -> None:
    emulator.set_faults(latency=0.2, latency_jitter=0.05)
    with AlephService(service_settings(emulator, ALEPH_TIMEOUT=2.0)) as service:
        started = time.monotonic()
        (record,) = service.search(ISBNQuery(RAYMOND_ISBN))
        assert record.epublication == RAYMOND
        assert time.monotonic() - started >= 0.4  # find and present, each slow


@pytest.mark.parametrize(
    ("fault", "message", "kind"),
    [
        ({"drop_rate": 1.0}, "RemoteDisconnected|Connection aborted|reset", "AlephProtocolError"),
        ({"forbidden_rate": 1.0}, "403", "AlephProtocolError"),
        ({"malformed_rate": 1.0}, "not XML", "AlephProtocolError"),
        ({"hang_seconds": 1.0}, "Timeout", "AlephTimeoutError"),
    ],
)
def test_persistent_faults_end_in_a_transport_error(
    emulator: AlephEmulator, fault: dict[str, float], message: str, kind: str
) -> None:
    emulator.set_faults(**fault)
    with AlephService(service_settings(emulator, ALEPH_TIMEOUT=0.3)) as service:
        calls = emulator.request_count
        with pytest.raises(AlephTransportError, match=message) as caught:
            service.handle(CountRequest(ISBNQuery(RAYMOND_ISBN)))
        assert type(caught.value).__name__ == kind  # the most specific public class
        assert emulator.request_count - calls == 3  # one try and two retries


@pytest.mark.parametrize("fault", ["drop_rate", "forbidden_rate", "malformed_rate"])
def test_occasional_faults_are_retried_to_success(emulator: AlephEmulator, fault: str) -> None:
    emulator.set_faults(**{fault: 0.4})
    settings = service_settings(emulator, ALEPH_RETRIES=8)
    with AlephService(settings) as service:
        calls = emulator.request_count
        for _ in range(6):
            (record,) = service.search(ISBNQuery(RAYMOND_ISBN))
            assert record.epublication == RAYMOND
        assert emulator.request_count - calls > 12  # some calls needed another attempt


def test_licence_limit_is_reported_and_not_retried(emulator: AlephEmulator) -> None:
    emulator.set_faults(licence_limit=2, licence_window=60.0)
    with AlephService(service_settings(emulator)) as service:
        service.count(ISBNQuery(RAYMOND_ISBN))
        service.count(ISBNQuery(RAYMOND_ISBN))
        calls = emulator.request_count
        with pytest.raises(AlephException, match=r"[Ll]icen[cs]e") as caught:
            service.count(ISBNQuery(RAYMOND_ISBN))
        assert not isinstance(caught.value, AlephTransportError)
        assert emulator.request_count - calls == 1


def test_rate_limit_is_honoured_across_threads(emulator: AlephEmulator) -> None:
    rate = 20.0
    with AlephService(service_settings(emulator, ALEPH_RATE_LIMIT=rate)) as service:
        stamps: list[float] = []
        lock = threading.Lock()

        def count() -> None:
            for _ in range(4):
                service.count(ISBNQuery(RAYMOND_ISBN))
                with lock:
                    stamps.append(time.monotonic())

        calls = emulator.request_count
        started = time.monotonic()
        threads = [threading.Thread(target=count) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        elapsed = time.monotonic() - started
    made = emulator.request_count - calls
    assert made == 16
    assert elapsed >= (made - 1) / rate * 0.95  # 16 calls need 15 intervals
    window = [stamp for stamp in stamps if stamp - started <= 0.5]
    assert len(window) <= 0.5 * rate + 1


def test_expired_set_is_searched_again(crafted_server: CraftedServer) -> None:
    find = (
        b"<find><set_number>000001</set_number><no_records>000000001</no_records>"
        b"<no_entries>000000001</no_entries></find>"
    )
    crafted_server.queue.extend(
        [
            CannedReply(find),
            CannedReply(b"<present><error>Set number 000001 does not exist</error></present>"),
            CannedReply(find.replace(b"000001<", b"000002<")),
            CannedReply(
                b"<present><record><doc_number>001492461</doc_number><metadata><oai_marc>"
                b'<varfield id="245" i1="1" i2="0"><subfield label="a">Again</subfield>'
                b"</varfield></oai_marc></metadata></record></present>"
            ),
        ]
    )
    with XServicesClient(crafted_server.url, retries=0, limiter=RateLimiter(0)) as client:
        (record,) = search(
            client, ISBNQuery(RAYMOND_ISBN), library="NKC01", document_base="nkc", max_records=10
        )
    assert record.epublication.nazev == "Again"
    assert [path.split("op=")[1].split("&")[0] for _, path, _, _ in crafted_server.requests] == [
        "find",
        "present",
        "find",
        "present",
    ]
    assert "set_number=000002" in crafted_server.requests[-1][1]
