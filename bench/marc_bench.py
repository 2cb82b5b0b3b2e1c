"""Benchmark of MARC XML → EPublication, against pymarc's XML reader, and search latency.

    .venv/bin/python bench/marc_bench.py [--records 20000] [--repeat 3] [--calls 300]

1. The first ``--records`` records of the Library of Congress sample corpus
   (``BooksAll.2016.part01.utf8``, ISO 2709, shipped in pymarc's source distribution) are
   converted once to one MARC 21 slim collection (pymarc's ``record_to_xml``) and cached
   in ``bench/.data/``; only what follows is timed.
2. Conversion: hardened parse of the collection, then every record read and mapped to
   an ``EPublication``, exactly as search replies are. Best of ``--repeat`` runs, pinned
   to one CPU; the rate is given per wall second and per CPU second, with the rate of
   the parse alone beside it (the floor no extraction on top of lxml can beat).
3. ``pymarc.parse_xml_to_array`` on the same bytes, same CPU.
4. End-to-end ``SearchRequest(ISBNQuery)`` through ``AlephService`` against the local
   emulator (no added latency, no rate limit): p50 and p99 over ``--calls`` requests.

The corpus is fetched once by ``bench/fetch_loc_corpus.py`` (``pip download`` of pymarc's
source distribution) into the git-ignored ``bench/.data/``.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pymarc

import fetch_loc_corpus  # bench/ is on the path when this file runs as a script
from edeposit.amqp.aleph import EPublication, ISBNQuery, SearchRequest, SearchResult
from edeposit.amqp.catalogue.service import AlephService
from edeposit.amqp.config import Settings
from edeposit.amqp.emulator import AlephEmulator
from edeposit.amqp.marc.mapping import MAPPED_TAGS
from edeposit.amqp.marc.record import iter_record_elements, read_record
from edeposit.amqp.marc.safe_xml import parse_xml

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
TARGET_RATE = 15_000
TARGET_RATIO = 2.0


def marc_xml(count: int) -> bytes:
    """The first ``count`` corpus records as one MARC 21 slim collection (cached)."""
    cache = DATA / f"loc-first-{count}.marcxml"
    if cache.is_file():
        return cache.read_bytes()
    parts = [
        b'<?xml version="1.0" encoding="UTF-8"?>\n',
        b'<collection xmlns="http://www.loc.gov/MARC21/slim">',
    ]
    converted = 0
    with fetch_loc_corpus.fetch().open("rb") as stream:
        for record in pymarc.MARCReader(stream, to_unicode=True, force_utf8=True):
            if record is None:  # a record pymarc cannot read: skipped, as a reader would
                continue
            parts.append(pymarc.record_to_xml(record))
            converted += 1
            if converted == count:
                break
    parts.append(b"</collection>\n")
    data = b"".join(parts)
    cache.write_bytes(data)
    return data


@contextmanager
def one_cpu() -> Iterator[None]:
    """Run the block on a single CPU (the benchmark's "one core")."""
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(previous)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, previous)


def timed(work: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """Best wall and best CPU seconds of ``repeat`` runs, and the last result."""
    walls, cpus = [], []
    result: object = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), result


def convert(data: bytes) -> list[EPublication]:
    """MARC XML bytes → EPublications: what a search does with each present reply."""
    root = parse_xml(data)
    return [
        EPublication.from_marc(read_record(record, MAPPED_TAGS))
        for record in iter_record_elements(root)
    ]


def search_latency(calls: int) -> tuple[float, float]:
    """p50 and p99 milliseconds of SearchRequest(ISBNQuery) against the local emulator."""
    with AlephEmulator() as emulator:
        settings = Settings().replace(
            ALEPH_URL=emulator.url, ALEPH_EXPORT_URL=emulator.export_url, ALEPH_RATE_LIMIT=0.0
        )
        with AlephService(settings) as service:
            request = SearchRequest(ISBNQuery("80-251-0225-4"))
            for _ in range(10):  # warm up connections and caches
                service.handle(request)
            samples = []
            for _ in range(calls):
                started = time.perf_counter()
                result = service.handle(request)
                samples.append((time.perf_counter() - started) * 1000)
                assert isinstance(result, SearchResult) and len(result.records) == 1
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--calls", type=int, default=300)
    options = parser.parse_args()

    data = marc_xml(options.records)
    print(f"corpus: {options.records} LoC records as MARC XML, {len(data) / 1e6:.1f} MB")
    with one_cpu():
        wall, cpu, result = timed(lambda: convert(data), options.repeat)
        assert isinstance(result, list)
        count = len(result)
        parse_wall, parse_cpu, _ = timed(lambda: parse_xml(data), options.repeat)
        pymarc_wall, pymarc_cpu, records = timed(
            lambda: pymarc.parse_xml_to_array(io.BytesIO(data)), 1
        )
        assert isinstance(records, list) and len(records) == count
    rate, rate_cpu = count / wall, count / cpu
    pymarc_rate, pymarc_rate_cpu = count / pymarc_wall, count / pymarc_cpu
    print(f"MARC XML → EPublication:     {rate:9.0f} records/s  ({rate_cpu:.0f} per CPU second)")
    print(
        f"  of which lxml parse alone: {count / parse_wall:9.0f} records/s  "
        f"({count / parse_cpu:.0f} per CPU second)"
    )
    print(
        f"pymarc.parse_xml_to_array:   {pymarc_rate:9.0f} records/s  "
        f"({pymarc_rate_cpu:.0f} per CPU second)"
    )
    print(f"ratio to pymarc:             {rate / pymarc_rate:9.2f} times")
    print(
        f"target ≥ {TARGET_RATE} records/s: {'met' if rate >= TARGET_RATE else 'NOT met'}; "
        f"target ≥ {TARGET_RATIO:g} times pymarc: "
        f"{'met' if rate / pymarc_rate >= TARGET_RATIO else 'NOT met'}"
    )
    p50, p99 = search_latency(options.calls)
    print(
        f"SearchRequest(ISBNQuery) via the emulator: p50 {p50:.1f} ms, p99 {p99:.1f} ms "
        f"({options.calls} calls)"
    )


if __name__ == "__main__":
    main()
