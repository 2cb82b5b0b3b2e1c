"""Benchmark of the wire format: a SearchResult of 30 records, against plain json.

    .venv/bin/python bench/wire_bench.py [--records 30] [--rounds 300] [--repeat 7]

1. The first ``--records`` records of the Library of Congress sample corpus (fetched by
   ``bench/fetch_loc_corpus.py``) whose OAI-MARC XML is about 5 KB, the size of a full
   catalogue record (ISO 2709 length 1,900 to 2,600 bytes; the XML is ~2.5 times that), are
   served by an in-process emulator and fetched the way the daemon fetches them, so
   each ``AlephRecord`` carries its real XML and its full ``EPublication``.
2. Typed: ``deserialize(serialize(result))``. Baseline, in the same run: the same data as
   plain dicts and lists (``json.loads`` of the serialized text), through
   ``json.loads(json.dumps(...))`` with the same separators.
3. Each figure is the best of ``--repeat`` runs of ``--rounds`` round trips, on one CPU;
   the ratio is typed ÷ plain. Target: ≤ 1.5.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pymarc

import fetch_loc_corpus  # bench/ is on the path when this file runs as a script
from edeposit.amqp import settings
from edeposit.amqp.aleph import DocumentQuery, SearchRequest, SearchResult
from edeposit.amqp.catalogue.service import AlephService
from edeposit.amqp.config import Settings
from edeposit.amqp.emulator import AlephEmulator
from edeposit.amqp.emulator.corpus import read_corpus, system_number
from edeposit.amqp.serializers import deserialize, serialize
from marc_bench import one_cpu

TARGET_RATIO = 1.5


#: ISO 2709 record lengths that give OAI-MARC XML of about 5 KB.
RECORD_BYTES = range(1900, 2601)


def search_result(count: int) -> SearchResult:
    """``count`` LoC records as the daemon answers them (served by the emulator)."""
    with tempfile.TemporaryDirectory(prefix="wire-bench-") as folder:
        corpus = Path(folder) / f"loc-first-{count}.mrc"
        with fetch_loc_corpus.fetch().open("rb") as stream, corpus.open("wb") as out:
            written = 0
            for record in pymarc.MARCReader(stream, to_unicode=True, force_utf8=True):
                data = record.as_marc() if record is not None else b""
                if len(data) in RECORD_BYTES:
                    out.write(data)
                    written += 1
                    if written == count:
                        break
        numbers = [system_number(record) for record in read_corpus([corpus])]
        with AlephEmulator([corpus], index_dir=Path(folder) / "index") as emulator:
            settings = Settings().replace(
                ALEPH_URL=emulator.url, ALEPH_EXPORT_URL=emulator.export_url, ALEPH_RATE_LIMIT=0.0
            )
            with AlephService(settings) as service:
                records = []
                for number in numbers:
                    found = service.handle(SearchRequest(DocumentQuery(str(number))))
                    assert isinstance(found, SearchResult)
                    records.extend(found.records)
    return SearchResult(records)


def best_seconds(work: Callable[[], object], rounds: int, repeat: int) -> float:
    """Best time of one call, over ``repeat`` runs of ``rounds`` calls."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(rounds):
            work()
        best = min(best, (time.perf_counter() - started) / rounds)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--records", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()

    result = search_result(options.records)
    text = serialize(result)
    # What the form of the settings' generation carries comes back (2014 carries less).
    assert serialize(deserialize(text)) == text
    plain = json.loads(text)
    sizes = [len(record.xml.encode()) for record in result.records]
    print(
        f"SearchResult: {len(result.records)} records, record XML {min(sizes)} to {max(sizes)} "
        f"bytes (mean {sum(sizes) / len(sizes):.0f}), body {len(text.encode()) / 1024:.0f} KB,"
        f" the {settings.ALEPH_WIRE_GENERATION} form (ALEPH_WIRE_GENERATION)"
    )

    def typed() -> object:
        return deserialize(serialize(result))

    def baseline() -> object:
        return json.loads(json.dumps(plain, ensure_ascii=False, separators=(",", ":")))

    with one_cpu():
        typed_s = best_seconds(typed, options.rounds, options.repeat)
        plain_s = best_seconds(baseline, options.rounds, options.repeat)
        serialize_s = best_seconds(lambda: serialize(result), options.rounds, options.repeat)
        deserialize_s = best_seconds(lambda: deserialize(text), options.rounds, options.repeat)
    ratio = typed_s / plain_s
    print(f"serialize + deserialize:    {typed_s * 1e6:8.0f} µs per round trip")
    print(f"  serialize alone:          {serialize_s * 1e6:8.0f} µs")
    print(f"  deserialize alone:        {deserialize_s * 1e6:8.0f} µs")
    print(f"json.dumps + json.loads:    {plain_s * 1e6:8.0f} µs (same data as dicts)")
    print(
        f"ratio typed / plain json:   {ratio:8.2f}  "
        f"(target ≤ {TARGET_RATIO:g}: {'met' if ratio <= TARGET_RATIO else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
