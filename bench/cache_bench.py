"""Cache benchmark: catalogue calls a daemon's answer cache saves, and no stale answer.

    .venv/bin/python bench/cache_bench.py [--quick] [--daemons 2]

A Zipf workload (s = 1.1) over 500 ISBNs — the emulator corpus's own and made-up ones
for books not in the catalogue yet — three searches to one count, runs against
``alephdaemon`` subprocesses (a private vhost on the machine's broker, the emulator with
20 ms per call), offered at 100 requests/s (so answers age: 3,000 requests take 30 s),
once per cache setting in the same run: off, ``ALEPH_CACHE_TTL`` 5 s and 60 s.
Printed: requests/s, latency, catalogue calls counted by the emulator, calls saved
against the cache off, the hit ratio the daemons report (their metrics).

Then the staleness check, with the cache on (60 s): a search for an ISBN the catalogue
lacks is asked until every daemon remembers the empty answer, the publication is
exported through the daemons, and the search is asked again. With one daemon no answer
may miss the new record (its export cleared its cache). With several, the others'
memories are not cleared: the stale answers counted there are what docs/scaling.md
warns of (bounded by the TTL).
"""

from __future__ import annotations

import argparse
import contextlib
import random
import socket
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run as a script: make `bench` importable
    sys.path.insert(0, str(HERE.parent))

from bench.fleet import Broker, DaemonFleet, EmulatorProcess  # noqa: E402
from bench.fleet_load import ClosedLoop, emulator_calls  # noqa: E402
from bench.traffic import close_quietly  # noqa: E402
from edeposit.amqp import aleph  # noqa: E402
from edeposit.amqp.config import Settings  # noqa: E402
from edeposit.amqp.emulator.corpus import default_corpus, expand_paths, read_corpus  # noqa: E402
from edeposit.amqp.emulator.record import subfield_values  # noqa: E402
from edeposit.amqp.runtime.parameters import connection_parameters  # noqa: E402
from edeposit.amqp.serializers import deserialize, serialize  # noqa: E402

POPULATION = 500
ZIPF_S = 1.1
#: Requests per second offered: a steady stream, so that answers can age past a TTL.
RATE = 100.0
NEW_ISBN = "978-80-7367-397-0"
DAEMON_ENV = {"ALEPH_RATE_LIMIT": "0", "ALEPH_TIMEOUT": "10", "ALEPH_CACHE_ENTRIES": "10000"}


def isbn13(body: str) -> str:
    """``978-80-`` and seven digits ``body``, with its check digit: a well-formed ISBN."""
    digits = "97880" + body
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return f"978-80-{body[:4]}-{body[4:]}-{check}"


def population(seed: int) -> list[str]:
    """The corpus's ISBNs and made-up ones, in a random order of popularity."""
    known = [
        value.split()[0]
        for record in read_corpus(expand_paths(default_corpus()))
        for value in subfield_values(record.fields, ["020"], "a")
    ]
    rng = random.Random(seed)
    made_up = {isbn13(f"{rng.randrange(10**7):07d}") for _ in range(POPULATION)}
    isbns = (known + sorted(made_up))[:POPULATION]
    rng.shuffle(isbns)
    return isbns


def workload(count: int, seed: int) -> list[bytes]:
    """``count`` request bodies: Zipf-distributed ISBNs, three searches to one count."""
    isbns = population(seed)
    weights = [1 / rank**ZIPF_S for rank in range(1, len(isbns) + 1)]
    rng = random.Random(seed + 1)
    chosen = rng.choices(isbns, weights, k=count)
    return [
        serialize(
            aleph.CountRequest(aleph.ISBNQuery(isbn))
            if index % 4 == 3
            else aleph.SearchRequest(aleph.ISBNQuery(isbn))
        ).encode()
        for index, isbn in enumerate(chosen)
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cache_lookups(ports: list[int]) -> tuple[float, float]:
    """``(hits, misses)`` the daemons' metrics report, all kinds together."""
    hits = misses = 0.0
    for port in ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            for line in reply.read().decode().splitlines():
                if line.startswith("edeposit_cache_hits_total{"):
                    hits += float(line.rsplit(" ", 1)[1])
                elif line.startswith("edeposit_cache_misses_total{"):
                    misses += float(line.rsplit(" ", 1)[1])
    return hits, misses


@contextlib.contextmanager
def daemons(
    broker: Broker, emulator: EmulatorProcess, workdir: Path, count: int, ttl: float
) -> Iterator[list[int]]:
    """``count`` daemons with ``ALEPH_CACHE_TTL`` = ``ttl``; yields their metrics ports."""
    folder = Path(tempfile.mkdtemp(dir=workdir))
    env = {**broker.env(), **emulator.env(), **DAEMON_ENV, "ALEPH_CACHE_TTL": str(ttl)}
    ports = [free_port() for _ in range(count)]
    with DaemonFleet(folder, env) as fleet:
        for port in ports:
            fleet.start(1, ALEPH_DAEMON_METRICS_PORT=str(port))
        queue = broker.settings.RABBITMQ_ALEPH_DAEMON_QUEUE
        if broker.wait_consumers(queue, count, timeout=60) is None:
            raise SystemExit("the daemons did not consume:\n" + fleet.log(0)[-3000:])
        yield ports


def run(
    broker: Broker,
    emulator: EmulatorProcess,
    workdir: Path,
    *,
    count: int,
    ttl: float,
    load: list[bytes],
) -> dict[str, Any]:
    with daemons(broker, emulator, workdir, count, ttl) as ports:
        calls = emulator_calls(emulator.url)
        loop = ClosedLoop(broker.settings, lambda index: load[index % len(load)], 16, RATE)
        started = time.monotonic()
        loop.start()
        while len(loop.answers) < len(load) and time.monotonic() - started < 300:
            time.sleep(0.05)
        ended = time.monotonic()
        loop.stop()
        hits, misses = cache_lookups(ports) if ttl else (0.0, 0.0)
    figures = loop.summary(started, ended + 1)
    return {
        "ttl_s": ttl,
        "requests": len(load),
        "rps": round(len(load) / (ended - started), 1),
        "mean_ms": round(figures["mean_ms"], 1),
        "p50_ms": round(figures["p50_ms"], 1),
        "catalogue_calls": emulator_calls(emulator.url) - calls,
        "hit_ratio_pct": round(100 * hits / (hits + misses), 1) if hits + misses else 0.0,
        "failed": figures["failed"],
    }


def ask(settings: Settings, request: Any) -> Any:
    """Send one request and wait for its answer on the answer queue; the answer."""
    connection = pika.BlockingConnection(connection_parameters(settings))
    try:
        channel = connection.channel()
        key = uuid.uuid4().hex
        channel.basic_publish(
            settings.RABBITMQ_ALEPH_EXCHANGE,
            settings.RABBITMQ_ALEPH_DAEMON_KEY,
            serialize(request).encode(),
            pika.BasicProperties(content_type="application/json", headers={"UUID": key}),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            method, properties, body = channel.basic_get(settings.RABBITMQ_ALEPH_PLONE_QUEUE)
            if method is None:
                time.sleep(0.01)
                continue
            channel.basic_ack(method.delivery_tag)
            if str((properties.headers or {}).get("UUID")) == key:
                if "exception" in (properties.headers or {}):
                    raise RuntimeError(f"error answer: {body[:300]!r}")
                return deserialize(body.decode())
        raise TimeoutError("no answer in 30 s")
    finally:
        close_quietly(connection)


def staleness(
    broker: Broker, emulator: EmulatorProcess, workdir: Path, count: int, isbn: str
) -> dict[str, Any]:
    """Stale answers after an export through ``count`` daemons with the cache on."""
    search = aleph.SearchRequest(aleph.ISBNQuery(isbn))
    with daemons(broker, emulator, workdir, count, 60.0):
        before = [len(ask(broker.settings, search).records) for _ in range(4 * count)]
        publication = aleph.EPublication.empty(
            ISBN=[isbn], nazev="Kniha po exportu", nakladatelVydavatel="Nakladatel",
            mistoVydani="Praha", datumVydani="2026", zpracovatelZaznamu="Nakladatel",
            poradiVydani="1. vyd.", vazba="brož.", internal_url="http://edeposit.example/1",
        )  # fmt: skip
        exported = ask(broker.settings, aleph.ExportRequest(publication)).ISBN
        after = [len(ask(broker.settings, search).records) for _ in range(4 * count)]
    return {
        "daemons": count,
        "found_before_export": sum(before),
        "exported": exported,
        "searches_after": len(after),
        "stale_after": sum(1 for found in after if found == 0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 requests instead of 3,000")
    parser.add_argument("--daemons", type=int, default=2, help="daemons sharing the load (2)")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args(argv)
    load = workload(1000 if args.quick else 3000, args.seed)
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="cache-bench-") as folder,
        contextlib.closing(Broker(Settings())) as broker,
        contextlib.closing(EmulatorProcess("--latency", "0.02")) as emulator,
    ):
        for ttl in (0.0, 5.0, 60.0):
            rows.append(run(broker, emulator, Path(folder), count=args.daemons, ttl=ttl, load=load))
        checks = [
            staleness(broker, emulator, Path(folder), count, isbn13(f"{9000000 + count:07d}"))
            for count in (1, args.daemons)
        ]
    off = rows[0]["catalogue_calls"] or 1
    what = f"{len(load)} requests, {args.daemons} daemons"
    print(f"\nZipf s={ZIPF_S} over {POPULATION} ISBNs, {what}")
    print("| TTL s | req/s | p50 ms | mean ms | catalogue calls | saved | hit ratio | failed |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        saved = 100 * (1 - row["catalogue_calls"] / off)
        print(
            f"| {row['ttl_s']:g} | {row['rps']} | {row['p50_ms']} | {row['mean_ms']} | "
            f"{row['catalogue_calls']} | "
            f"{saved:.1f} % | {row['hit_ratio_pct']} % | {row['failed']} |"
        )
    print("\nstaleness after an export (cache 60 s):")
    for check in checks:
        print(
            f"  {check['daemons']} daemon(s): found before the export "
            f"{check['found_before_export']}, exported {check['exported']}, "
            f"stale answers after it {check['stale_after']} of {check['searches_after']}"
        )
    single = checks[0]
    return 1 if single["stale_after"] or any(row["failed"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
