"""A client of each generation (2014, 2015, 2016) against a daemon of that generation.

Each client knows only its own generation's classes, defined here as its code had them
(namedtuples with the original names and fields), and decodes answers as the original
serializer did: every object naming its ``__nt_name`` becomes that class, built from
exactly the keys it holds, so a missing or an extra field fails. It then reads every
field its e-deposit front-end read (edeposit.content's search result handlers; the table
in docs/messages.md), for a book and a periodical of the emulator's sample corpus. The
2016 client also checks every answer against the published AsyncAPI document.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections import namedtuple
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from edeposit.amqp.config import Settings
from edeposit.amqp.emulator import AlephEmulator
from edeposit.amqp.emulator.corpus import default_corpus
from edeposit.amqp.tool.asyncapi import asyncapi_document
from tests.aleph.golden_periodicals import GOLDEN_PERIODICALS
from tests.conftest import ALEPH_FIXTURES
from tests.services.support import DaemonFactory, Peer
from tests.services.test_commands import aleph_command

_EPUBLICATION_2014 = (
    "ISBN nazev podnazev vazba cena castDil nazevCasti nakladatelVydavatel datumVydani"
    " poradiVydani zpracovatelZaznamu format url mistoVydani ISBNSouboruPublikaci autori"
    " originaly internal_url"
)
_EPUBLICATION_2015 = _EPUBLICATION_2014 + " invalid_ISBN id_number anotace"
_SEMANTIC_INFO = (
    "hasAcquisitionFields acquisitionFields ISBNAgencyFields descriptiveCatFields"
    " descriptiveCatReviewFields subjectCatFields subjectCatReviewFields isClosed"
    " isSummaryRecord contentOfFMT parsedSummaryRecordSysNumber summaryRecordSysNumber"
)
_COMMON = {
    "SearchResult": namedtuple("SearchResult", "records"),
    "Author": namedtuple("Author", "firstName lastName title"),
}
#: Each generation's classes, as its clients' code defined them.
CLASSES: dict[str, dict[str, type]] = {
    "2014": {
        **_COMMON,
        "AlephRecord": namedtuple("AlephRecord", "base library docNumber xml epublication"),
        "EPublication": namedtuple("EPublication", _EPUBLICATION_2014),
    },
    "2015": {
        **_COMMON,
        "AlephRecord": namedtuple(
            "AlephRecord", "base library docNumber xml epublication semantic_info"
        ),
        "EPublication": namedtuple("EPublication", _EPUBLICATION_2015),
        "SemanticInfo": namedtuple("SemanticInfo", _SEMANTIC_INFO),
    },
    "2016": {
        **_COMMON,
        "AlephRecord": namedtuple(
            "AlephRecord", "base library docNumber xml parsed_info semantic_info"
        ),
        "EPublication": namedtuple("EPublication", _EPUBLICATION_2015),
        "SemanticInfo": namedtuple("SemanticInfo", _SEMANTIC_INFO),
        "EPeriodical": namedtuple(
            "EPeriodical",
            "url ISSN invalid_ISSNs nazev anotace podnazev id_number mistoVydani datumVydani"
            " internal_url nakladatelVydavatel ISSNSouboruPublikaci",
        ),
        "EPeriodicalSemanticInfo": namedtuple(
            "EPeriodicalSemanticInfo",
            "hasAcquisitionFields acquisitionFields isClosed isSummaryRecord contentOfFMT"
            " parsedSummaryRecordSysNumber summaryRecordSysNumber",
        ),
    },
}

#: The sample corpus's book and journal, and how each generation's client looked them up.
RAYMOND_ISBN = "80-251-0225-4"
VESMIR_ISSN = "0042-4544"
SEARCHES = {
    "book": {"ISBN": RAYMOND_ISBN, "base": "nkc", "__nt_name": "ISBNQuery"},
    "periodical 2014": {"title": "Vesmír", "base": "nkc", "__nt_name": "TitleQuery"},
    "periodical 2015": {"icz": "cps19940156783", "base": "nkc", "__nt_name": "ICZQuery"},
    # the production clients' ISSN search (edeposit.amqp.aleph 1.9.5, getISSNsXML)
    "periodical 2016": {
        "base": "nkc",
        "phrase": VESMIR_ISSN,
        "considerSimilar": False,
        "field": "ssn",
        "__nt_name": "GenericQuery",
    },
}
DOCUMENT = asyncapi_document(Settings())
#: Every answer a search may get (a result or an error is told by the headers).
SEARCH_RESULT = Draft7Validator(
    {"$ref": "#/components/schemas/SearchResult", "components": DOCUMENT["components"]}
)


@pytest.fixture
def emulator() -> Iterator[AlephEmulator]:
    """The sample corpus, and the real periodicals where the shared fixtures are."""
    corpus: list[Path] = default_corpus()
    if ALEPH_FIXTURES.is_dir():
        corpus += [ALEPH_FIXTURES, ALEPH_FIXTURES.parent / "production_tests"]
    with AlephEmulator(corpus) as running:
        yield running


def decode(body: bytes, generation: str) -> Any:
    """The answer as that generation's serializer built it: by ``__nt_name`` and keys."""
    classes = CLASSES[generation]

    def build(data: dict[str, Any]) -> Any:
        if "__nt_name" not in data:
            return data
        fields = {key: value for key, value in data.items() if key != "__nt_name"}
        return classes[data["__nt_name"]](**fields)  # KeyError, TypeError: not its form

    return json.loads(body, object_hook=build)


def search(peer: Peer, query: dict[str, Any], generation: str) -> list[Any]:
    """Publish a SearchRequest as the clients wrote it; the records of its answer."""
    request_uuid = str(uuid.uuid4())
    peer.publish(json.dumps({"query": query, "__nt_name": "SearchRequest"}), {"UUID": request_uuid})
    [(_, properties, body)] = peer.receive(1)
    assert properties.headers["UUID"] == request_uuid
    assert "exception" not in properties.headers, properties.headers.get("traceback")
    if generation == "2016":
        errors = [error.message for error in SEARCH_RESULT.iter_errors(json.loads(body))]
        assert errors == [], "the AsyncAPI document refuses the answer"
    result = decode(body, generation)
    assert type(result).__name__ == "SearchResult"
    return list(result.records)


def read_as_the_front_end(record: Any, generation: str) -> dict[str, Any]:
    """What edeposit.content's handler of that generation took from a found record."""
    if generation == "2014":  # OriginalFileAlephSearchResultHandler, 2014-09
        publication = record.epublication
        isbns = publication.ISBN
        return {
            "nazev": publication.nazev,
            "isbn": isbns[0] if isbns else None,
            "podnazev": publication.podnazev,
            "cast": publication.castDil,
            "nazev_casti": publication.nazevCasti,
            "rok_vydani": publication.datumVydani,
            "aleph_sys_number": record.docNumber,
            "aleph_library": record.library,
        }
    info = record.semantic_info
    state = {
        "aleph_sys_number": record.docNumber,
        "aleph_library": record.library,
        "xml": record.xml,
        "acquisitionFields": info.acquisitionFields,
        "isClosed": info.isClosed,
        "summary_record_info": info.summaryRecordSysNumber,
        "summary_record_aleph_sys_number": info.parsedSummaryRecordSysNumber,
        "isSummaryRecord": info.isSummaryRecord,
    }
    found = record.epublication if generation == "2015" else record.parsed_info
    if type(found).__name__ == "EPeriodical":  # AlephSearchResultHandlerForEPeriodical
        return {
            **state,
            "nazev": found.nazev,
            "podnazev": found.podnazev,
            "misto_vydani": found.mistoVydani,
            "datum_vydani": found.datumVydani,
            "url": found.url,
            "anotace": found.anotace,
            "internal_urls": found.internal_url,
            "issns": found.ISSN[0] if found.ISSN else None,
            "id_number": found.id_number,
        }
    return {  # AlephSearchResultHandler, 2015-03 to 2016
        **state,
        "nazev": found.nazev,
        "isbn": found.ISBN[0] if found.ISBN else None,
        "podnazev": found.podnazev,
        "cast": found.castDil,
        "nazev_casti": found.nazevCasti,
        "rok_vydani": found.datumVydani,
        "internal_urls": found.internal_url,
        "id_number": found.id_number,
        "ISBNAgencyFields": info.ISBNAgencyFields,
        "descriptiveCataloguingFields": info.descriptiveCatFields,
        "descriptiveCataloguingReviewFields": info.descriptiveCatReviewFields,
        "subjectCataloguingFields": info.subjectCatFields,
        "subjectCataloguingReviewFields": info.subjectCatReviewFields,
    }


RAYMOND_PERMALINK = "http://aleph.nkp.cz/F/?func=direct&doc_number=001492461&local_base=NKC01"
VESMIR_PERMALINK = "http://aleph.nkp.cz/F/?func=direct&doc_number=000156783&local_base=NKC"
#: What each generation's front-end read, for the book (the sample corpus's values).
BOOK = {
    "nazev": "Umění programování v UNIXu",
    "isbn": RAYMOND_ISBN,
    "podnazev": "",
    "cast": "",
    "nazev_casti": "",
    "rok_vydani": "2004",
    "aleph_sys_number": 1492461,
    "aleph_library": "NKC01",
}
#: ... and what the later ones read besides.
BOOK_LATER = {
    "internal_urls": [RAYMOND_PERMALINK],
    "id_number": "cpk20051492461",
    "acquisitionFields": [],
    "ISBNAgencyFields": [],
    "descriptiveCataloguingFields": [],
    "descriptiveCataloguingReviewFields": [],
    "subjectCataloguingFields": [],
    "subjectCataloguingReviewFields": [],
    "isClosed": False,
    "summary_record_info": "",
    "summary_record_aleph_sys_number": "",
    "isSummaryRecord": False,
}
#: The journal, read as a book by the 2014 and 2015 front-ends.
PERIODICAL_AS_BOOK = {
    "nazev": "Vesmír",
    "isbn": None,
    "podnazev": "přírodovědecký časopis Akademie věd České republiky",
    "cast": "",
    "nazev_casti": "",
    "rok_vydani": "1871-",
    "aleph_sys_number": 156783,
    "aleph_library": "NKC01",
}
#: The journal as the 2016 front-end read a periodical.
PERIODICAL_2016 = {
    "nazev": "Vesmír",
    "podnazev": "přírodovědecký časopis Akademie věd České republiky",
    "misto_vydani": "Praha",
    "datum_vydani": "1871-",
    "url": ["https://vesmir.cz/"],
    "anotace": "",
    "internal_urls": [VESMIR_PERMALINK],
    "issns": VESMIR_ISSN,
    "id_number": "cps19940156783",
    "aleph_sys_number": 156783,
    "aleph_library": "NKC01",
    "acquisitionFields": [],
    "isClosed": False,
    "summary_record_info": "",
    "summary_record_aleph_sys_number": "",
    "isSummaryRecord": True,
}


@pytest.mark.parametrize("generation", ["2014", "2015", "2016"])
def test_each_generation_reads_a_book_and_a_periodical(
    start_daemon: DaemonFactory, peer: Peer, generation: str
) -> None:
    start_daemon(ALEPH_WIRE_GENERATION=generation)
    [book] = search(peer, SEARCHES["book"], generation)
    read = read_as_the_front_end(book, generation)
    expected: dict[str, Any] = {**BOOK} if generation == "2014" else {**BOOK, **BOOK_LATER}
    if generation != "2014":
        assert "cpk20051492461" in read.pop("xml")
    assert read == expected
    assert type(book.epublication if generation != "2016" else book.parsed_info).__name__ == (
        "EPublication"
    )

    [journal] = search(peer, SEARCHES[f"periodical {generation}"], generation)
    read = read_as_the_front_end(journal, generation)
    if generation != "2014":
        assert '<fixfield id="FMT">SE</fixfield>' in read.pop("xml")
    if generation == "2016":
        assert read == PERIODICAL_2016
        assert type(journal.semantic_info).__name__ == "EPeriodicalSemanticInfo"
    else:
        later = {
            **BOOK_LATER,
            "internal_urls": [VESMIR_PERMALINK],
            "id_number": "cps19940156783",
            "isSummaryRecord": True,
        }
        assert read == (
            PERIODICAL_AS_BOOK if generation == "2014" else {**PERIODICAL_AS_BOOK, **later}
        )


def test_the_2016_client_reads_every_periodical_fixture(
    start_daemon: DaemonFactory, peer: Peer, aleph_fixtures: Path
) -> None:
    start_daemon(ALEPH_WIRE_GENERATION="2016")
    for key, (periodical, info) in GOLDEN_PERIODICALS.items():
        query = {"icz": periodical.id_number, "base": "nkc", "__nt_name": "ICZQuery"}
        [record] = search(peer, query, "2016")
        assert record.parsed_info._asdict() == periodical._asdict(), key
        assert record.semantic_info._asdict() == info._asdict(), key


def _aleph(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return aleph_command(env, *arguments, "--timeout", "20")


def test_the_aleph_command_searches_issns_and_prints_2016(
    start_daemon: DaemonFactory, broker_env: dict[str, str]
) -> None:
    start_daemon()  # a 2014 daemon: the command prints whichever form it is asked for
    table = _aleph(broker_env, "search", "--issn", VESMIR_ISSN)
    assert table.returncode == 0, table.stderr
    assert any("000156783" in line and VESMIR_ISSN in line for line in table.stdout.splitlines())
    printed = _aleph(broker_env, "search", "--issn", "00424544", "--json", "--generation", "2016")
    assert printed.returncode == 0, printed.stderr
    [record] = json.loads(printed.stdout)
    assert record["parsed_info"]["__nt_name"] == "EPeriodical"
    assert record["parsed_info"]["ISSN"] == [VESMIR_ISSN]
    assert record["semantic_info"]["__nt_name"] == "EPeriodicalSemanticInfo"
    assert SEARCH_RESULT.is_valid({"records": [record], "__nt_name": "SearchResult"})
    counted = _aleph(broker_env, "count", "--issn", "1212-5075")
    assert (counted.returncode, counted.stdout) == (0, "1\n")
    invalid = _aleph(broker_env, "count", "--issn", "0042-4545")
    assert invalid.returncode == 4
    assert invalid.stderr.startswith(
        "aleph: the daemon answered with an error, InvalidISSNError: '0042-4545' is not a"
        " valid ISSN: its check digit does not match"
    )
