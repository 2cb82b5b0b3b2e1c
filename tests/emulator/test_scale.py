"""A generated corpus of 10,000 records: indexed once, reused on restart, never rescanned."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import httpx
import pytest

from edeposit.amqp.emulator import AlephEmulator
from tests.emulator.helpers import X, isbn10, write_generated_corpus

RECORDS = 10_000


@pytest.fixture(scope="module")
def large_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_generated_corpus(tmp_path_factory.mktemp("large") / "generated.mrc", RECORDS)


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

    large_corpus.touch()  # a changed corpus file gets a new index
    with AlephEmulator([large_corpus], index_dir=tmp_path) as third:
        assert third.index is not None and third.index.built
    assert corpus_reads == [RECORDS, RECORDS]


def test_request_latency_does_not_grow_with_the_corpus(
    large_corpus: Path, tmp_path: Path, sample: X, http: httpx.Client
) -> None:
    with AlephEmulator([large_corpus], index_dir=tmp_path) as large:
        x = X(large, http)
        large_isbn = _find_latencies(x, [f"sbn={isbn10(n)}" for n in range(0, 10_000, 97)])
        large_word = _find_latencies(x, [f"wau=autor{n}" for n in range(0, 500, 5)])
    small = _find_latencies(sample, ["sbn=80-251-0225-4", "wau=hejny", "wtl=unixu"] * 34)
    # A corpus 900 times larger; a per-request scan would be hundreds of times slower.
    assert large_isbn < 3 * small + 0.003
    assert large_word < 3 * small + 0.005
