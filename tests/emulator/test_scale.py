"""A generated corpus of 10,000 records: indexed once, reused on restart, never rescanned.

Books and continuing resources in the share a national catalogue holds them (one in 25).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import httpx
import pytest

from edeposit.amqp.emulator import AlephEmulator
from tests.emulator.helpers import X, isbn10, write_generated_corpus

RECORDS = 10_000
#: Every 25th record is a continuing resource (4 %, about NKP's national bibliography's
#: share of serials): FMT SE and an ISSN, in a MARC XML file beside the ISO 2709 books.
SERIAL_EVERY = 25
_WORDS = ["kniha", "dějiny", "matematika", "programování", "zahrada", "moře", "hory", "řeka"]


def _is_serial(number: int) -> bool:
    return number % SERIAL_EVERY == SERIAL_EVERY - 1


def _issn(number: int) -> str:
    body = f"{2_000_000 + number:07d}"
    check = (11 - sum((8 - i) * int(d) for i, d in enumerate(body)) % 11) % 11
    return f"{body[:4]}-{body[4:]}{'X' if check == 10 else check}"


def _title(number: int) -> str:
    return f"{_WORDS[number % 8]} {_WORDS[number // 8 % 8]}"


def _serial(number: int) -> str:
    """A continuing resource as MARC 21 slim (FMT is a local control field)."""
    return (
        "<record><leader>-----nas-a22------a-4500</leader>"
        '<controlfield tag="FMT">SE</controlfield>'
        f'<controlfield tag="001">gen{number:010d}</controlfield>'
        f'<datafield tag="022" ind1=" " ind2=" "><subfield code="a">{_issn(number)}'
        "</subfield></datafield>"
        f'<datafield tag="245" ind1="0" ind2="0"><subfield code="a">{_title(number)}'
        "</subfield></datafield>"
        '<datafield tag="260" ind1=" " ind2=" "><subfield code="a">Praha :</subfield>'
        '<subfield code="c">2001-</subfield></datafield></record>'
    )


@pytest.fixture(scope="module")
def large_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder: the books in ISO 2709, the serials in a MARC XML collection."""
    folder = tmp_path_factory.mktemp("large")
    serials = [number for number in range(RECORDS) if _is_serial(number)]
    write_generated_corpus(folder / "books.mrc", RECORDS, skip=_is_serial)
    (folder / "serials.xml").write_text(
        '<collection xmlns="http://www.loc.gov/MARC21/slim">'
        + "".join(map(_serial, serials))
        + "</collection>",
        encoding="utf-8",
    )
    return folder


def _find_latencies(x: X, requests: list[str]) -> float:
    latencies = []
    for request in requests:
        began = time.perf_counter()
        assert x.hits(request) >= 1
        latencies.append(time.perf_counter() - began)
    return statistics.median(latencies)


def test_large_corpus_is_indexed_once_and_reused(
    large_corpus: Path, tmp_path: Path, corpus_reads: list[int], http: httpx.Client
) -> None:
    began = time.perf_counter()
    with AlephEmulator([large_corpus], index_dir=tmp_path) as first:
        build = time.perf_counter() - began
        assert first.index is not None and first.index.built
        assert first.index.record_count == RECORDS
        assert corpus_reads == [RECORDS]
        x = X(first, http)
        for number in range(1, RECORDS, 500):
            assert x.doc_numbers(f"sbn={isbn10(number)}") == [f"{number:09d}"]
        for number in range(SERIAL_EVERY - 1, RECORDS, 1000):  # serials: ssn, and isn
            assert x.doc_numbers(f"ssn={_issn(number)}") == [f"{number:09d}"]
            assert x.doc_numbers(f"isn={_issn(number).replace('-', '')}") == [f"{number:09d}"]
        assert x.hits(f"ssn={_issn(11)}") == 0  # a book's number: no serial has it
        assert x.hits("wyr=2001") == RECORDS // SERIAL_EVERY  # every serial, no book
        serial = x.root(op="find_doc", base="nkc", doc_num=f"{SERIAL_EVERY * 7 - 1:09d}")
        assert serial.xpath("//fixfield[@id='FMT']/text()") == ["SE"]
        both = sum({n % 8, n // 8 % 8} == {0, 1} for n in range(RECORDS))
        assert x.hits("wtl=(kniha dejiny)") == both
        assert x.hits("wtl=kniha not wtl=dejiny") == sum(
            0 in {n % 8, n // 8 % 8} and 1 not in {n % 8, n // 8 % 8} for n in range(RECORDS)
        )
        assert x.hits("wau=autor7") == RECORDS // 500
        assert corpus_reads == [RECORDS]  # requests never read the corpus
    index_files = list(tmp_path.glob("corpus-*.sqlite"))
    assert len(index_files) == 1
    modified = index_files[0].stat().st_mtime_ns

    began = time.perf_counter()
    with AlephEmulator([large_corpus], index_dir=tmp_path) as second:
        restart = time.perf_counter() - began
        assert second.index is not None and not second.index.built
        assert corpus_reads == [RECORDS]  # nothing read again
        assert X(second, http).hits("wau=autor7") == RECORDS // 500
    assert restart < 1.0
    assert restart < build / 3
    assert index_files[0].stat().st_mtime_ns == modified

    (large_corpus / "serials.xml").touch()  # a changed corpus file gets a new index
    with AlephEmulator([large_corpus], index_dir=tmp_path) as third:
        assert third.index is not None and third.index.built
    assert corpus_reads == [RECORDS, RECORDS]


def test_request_latency_does_not_grow_with_the_corpus(
    large_corpus: Path, tmp_path: Path, sample: X, http: httpx.Client
) -> None:
    with AlephEmulator([large_corpus], index_dir=tmp_path) as large:
        x = X(large, http)
        books = [n for n in range(0, RECORDS, 97) if not _is_serial(n)]
        large_isbn = _find_latencies(x, [f"sbn={isbn10(n)}" for n in books])
        large_word = _find_latencies(x, [f"wau=autor{n}" for n in range(0, 500, 5)])
    small = _find_latencies(sample, ["sbn=80-251-0225-4", "wau=hejny", "wtl=unixu"] * 34)
    # A corpus 900 times larger; a per-request scan would be hundreds of times slower.
    assert large_isbn < 3 * small + 0.003
    assert large_word < 3 * small + 0.005
