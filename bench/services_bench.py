"""Benchmark of the consumer service and the Aleph daemon through the real broker.

    .venv/bin/python bench/services_bench.py [--quick]

Servers run as subprocesses (so their CPU time and peak RSS are their own):

* ``noop``      PikaDaemon answering each ~300 B request with a ~4 KB reply at once;
* ``sleep20``   the same after 20 ms of "catalogue" time;
* ``noop-confirms`` / ``sleep20-confirms``  the same answering with publisher confirms
  and acks instead of transactions (the cost of never answering twice);
* ``aleph``     the real Aleph daemon against the emulator with 20 ms added latency;
* ``aleph-metrics``  the same with its metrics endpoint on (ALEPH_DAEMON_METRICS_PORT),
  scraped every second while it runs — ``--metrics-overhead`` measures only these two,
  alternating, and prints the throughput ratio;
* ``baseline-noop`` / ``baseline-sleep20`` / ``baseline-aleph``  the original design,
  measured in the same run: one thread, prefetch 1, publish without confirms, ack after
  answering (``baseline-aleph`` asks the emulator like the Aleph daemon does);
* ``minimal-noop`` / ``minimal-sleep20``  what this machine's broker allows at all: a
  single-threaded asynchronous pika server without confirms that acks at once (the
  20 ms as a timer) — no framework can beat it, so it shows the ceiling of the run.

Each is driven with 1 and with 32 requests in flight, once by a minimal pipelined raw
pika client and once by ``AlephClient``. Printed per run: requests/s, latency p50/p99,
server CPU ms per request, server peak RSS; then ratios against the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pika

VHOST = "edeposit-bench"
HERE = Path(__file__).resolve()
REQUEST_PADDING = "x" * 200  # makes a serialized request about 300 bytes
REPLY_XML = "<record>" + "y" * 3900 + "</record>"  # makes a reply about 4 KB


# --- servers (run in a subprocess: `services_bench.py serve MODE`) ---------------------


def _bench_reply() -> bytes:
    from edeposit.amqp import aleph  # noqa: PLC0415
    from edeposit.amqp.serializers import serialize  # noqa: PLC0415

    record = aleph.AlephRecord("nkc", "NKC01", 1, REPLY_XML, aleph.EPublication.empty(nazev="x"))
    return serialize(aleph.SearchResult([record])).encode()


def serve_pikadaemon(delay: float, *, transactional: bool = True) -> None:
    from pika.spec import Basic, BasicProperties  # noqa: PLC0415

    from edeposit.amqp import settings  # noqa: PLC0415
    from edeposit.amqp.daemon.answers import result_key  # noqa: PLC0415
    from edeposit.amqp.pikadaemon import PikaDaemon  # noqa: PLC0415
    from edeposit.amqp.runtime.envelopes import Outgoing  # noqa: PLC0415
    from edeposit.amqp.runtime.parameters import connection_parameters  # noqa: PLC0415
    from edeposit.amqp.runtime.topology import aleph_topology  # noqa: PLC0415

    reply = _bench_reply()
    cfg = settings.get()

    class Bench(PikaDaemon):
        answers_in_transactions = transactional

        def onMessageReceived(  # noqa: N802 - the contract's name
            self, method_frame: Basic.Deliver, properties: BasicProperties, body: bytes
        ) -> bool:
            if delay:
                time.sleep(delay)
            key = result_key(method_frame.routing_key, self.output_key)
            answer = BasicProperties(
                content_type="application/json",
                delivery_mode=2,
                headers={"UUID": properties.headers["UUID"]},
            )
            self.respond([Outgoing(self.output_exchange, key, reply, answer)])
            return True

    daemon = Bench(
        connection_parameters(cfg),
        cfg.RABBITMQ_ALEPH_DAEMON_QUEUE,
        cfg.RABBITMQ_ALEPH_EXCHANGE,
        cfg.RABBITMQ_ALEPH_PLONE_KEY,
        workers=cfg.ALEPH_DAEMON_WORKERS,
        topology=aleph_topology(cfg),
        pid_filename=f"/tmp/edeposit-bench-{os.getpid()}.pid",
    )
    daemon.configure_logging(foreground=True)
    daemon.run()


def serve_baseline(answer: Callable[[bytes], bytes]) -> None:
    """The original design: one thread, prefetch 1, no confirms, ack after answering."""
    from edeposit.amqp import settings  # noqa: PLC0415
    from edeposit.amqp.daemon.answers import result_key  # noqa: PLC0415
    from edeposit.amqp.runtime.parameters import connection_parameters  # noqa: PLC0415

    cfg = settings.get()
    connection = pika.BlockingConnection(connection_parameters(cfg))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=1)
    signal.signal(signal.SIGTERM, lambda *_: channel.stop_consuming())

    def on_message(ch: Any, method: Any, properties: Any, body: bytes) -> None:
        ch.basic_publish(
            cfg.RABBITMQ_ALEPH_EXCHANGE,
            result_key(method.routing_key, cfg.RABBITMQ_ALEPH_PLONE_KEY),
            answer(body),
            pika.BasicProperties(
                content_type="application/json",
                delivery_mode=1,
                headers={"UUID": properties.headers["UUID"]},
            ),
        )
        ch.basic_ack(method.delivery_tag)

    channel.basic_consume(cfg.RABBITMQ_ALEPH_DAEMON_QUEUE, on_message)
    channel.start_consuming()
    connection.close()


def sleeping_answer(delay: float) -> Callable[[bytes], bytes]:
    """The fixed ~4 KB reply after ``delay`` seconds (the original design's handler)."""
    reply = _bench_reply()

    def answer(body: bytes) -> bytes:
        if delay:
            time.sleep(delay)
        return reply

    return answer


def catalogue_answer() -> Callable[[bytes], bytes]:
    """The answer of an Aleph service, as the original design computed it (no daemon)."""
    from edeposit.amqp import settings  # noqa: PLC0415
    from edeposit.amqp.catalogue.service import AlephService  # noqa: PLC0415
    from edeposit.amqp.serializers import deserialize, serialize  # noqa: PLC0415

    service = AlephService(settings.get())
    return lambda body: serialize(service.handle(deserialize(body))).encode()


def serve_minimal(delay: float) -> None:
    """The ceiling: asynchronous pika on one thread, no confirms, ack at once."""
    from pika.adapters.select_connection import SelectConnection  # noqa: PLC0415

    from edeposit.amqp import settings  # noqa: PLC0415
    from edeposit.amqp.daemon.answers import result_key  # noqa: PLC0415
    from edeposit.amqp.runtime.parameters import connection_parameters  # noqa: PLC0415

    cfg = settings.get()
    reply = _bench_reply()

    def on_channel(channel: Any) -> None:
        channel.basic_qos(prefetch_count=cfg.ALEPH_DAEMON_WORKERS)

        def on_message(ch: Any, method: Any, properties: Any, body: bytes) -> None:
            def answer() -> None:
                ch.basic_publish(
                    cfg.RABBITMQ_ALEPH_EXCHANGE,
                    result_key(method.routing_key, cfg.RABBITMQ_ALEPH_PLONE_KEY),
                    reply,
                    pika.BasicProperties(
                        content_type="application/json",
                        delivery_mode=2,
                        headers={"UUID": properties.headers["UUID"]},
                    ),
                )
                ch.basic_ack(method.delivery_tag)

            connection.ioloop.call_later(delay, answer)

        channel.basic_consume(cfg.RABBITMQ_ALEPH_DAEMON_QUEUE, on_message)

    connection = SelectConnection(
        connection_parameters(cfg),
        on_open_callback=lambda opened: opened.channel(on_open_callback=on_channel),
    )
    signal.signal(signal.SIGTERM, lambda *_: connection.ioloop.stop())
    connection.ioloop.start()


def serve_aleph() -> None:
    from edeposit.amqp import settings  # noqa: PLC0415
    from edeposit.amqp.alephdaemon import AlephDaemon  # noqa: PLC0415

    pidfile = f"/tmp/edeposit-bench-{os.getpid()}.pid"
    daemon = AlephDaemon(settings=settings.get().replace(ALEPH_DAEMON_PIDFILE=pidfile))
    daemon.configure_logging(foreground=True)
    daemon.run()


# --- drivers ------------------------------------------------------------------------------


def _request_body() -> bytes:
    from edeposit.amqp import aleph  # noqa: PLC0415
    from edeposit.amqp.serializers import serialize  # noqa: PLC0415

    query = aleph.GenericQuery("nkc", "80-251-0225-4", False, "sbn")
    body = serialize(aleph.SearchRequest(query))
    return body.encode()


def drive_raw(total: int, in_flight: int) -> list[float]:
    """A pipelined raw pika client: keeps ``in_flight`` requests out; latencies in seconds.

    Requests are transient (``delivery_mode`` 1), as the original clients sent them.
    """
    from edeposit.amqp import settings  # noqa: PLC0415
    from edeposit.amqp.runtime.parameters import connection_parameters  # noqa: PLC0415

    cfg = settings.get()
    connection = pika.BlockingConnection(connection_parameters(cfg))
    channel = connection.channel()
    body = _request_body()
    sent: dict[str, float] = {}
    latencies: list[float] = []
    published = 0

    def publish() -> None:
        nonlocal published
        request_uuid = uuid.uuid4().hex
        sent[request_uuid] = time.perf_counter()
        channel.basic_publish(
            cfg.RABBITMQ_ALEPH_EXCHANGE,
            cfg.RABBITMQ_ALEPH_DAEMON_KEY,
            body,
            pika.BasicProperties(
                content_type="application/json", delivery_mode=1, headers={"UUID": request_uuid}
            ),
        )
        published += 1

    def on_answer(ch: Any, method: Any, properties: Any, answer: bytes) -> None:
        started = sent.pop(str(properties.headers.get("UUID")), None)
        if started is not None:
            latencies.append(time.perf_counter() - started)
        if published < total:
            publish()
        if len(latencies) >= total:
            ch.stop_consuming()

    channel.basic_consume(cfg.RABBITMQ_ALEPH_PLONE_QUEUE, on_answer, auto_ack=True)
    for _ in range(min(in_flight, total)):
        publish()
    channel.start_consuming()
    connection.close()
    return latencies


def drive_client(total: int, in_flight: int) -> list[float]:
    """``AlephClient`` with ``in_flight`` threads each making calls one after the other."""
    from edeposit.amqp import aleph  # noqa: PLC0415
    from edeposit.amqp.client import AlephClient  # noqa: PLC0415

    request = aleph.SearchRequest(aleph.GenericQuery("nkc", "80-251-0225-4", False, "sbn"))
    latencies: list[float] = []
    lock = threading.Lock()
    remaining = [total]
    with AlephClient(timeout=120) as client:

        def worker() -> None:
            while True:
                with lock:
                    if remaining[0] <= 0:
                        return
                    remaining[0] -= 1
                started = time.perf_counter()
                client.call(request)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)

        threads = [threading.Thread(target=worker) for _ in range(in_flight)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return latencies


# --- orchestration ------------------------------------------------------------------------


def _rabbitmqctl(*arguments: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *arguments], check=False, capture_output=True)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_queues() -> None:
    from edeposit.amqp import settings  # noqa: PLC0415
    from edeposit.amqp.runtime.parameters import connection_parameters  # noqa: PLC0415
    from edeposit.amqp.runtime.topology import aleph_topology  # noqa: PLC0415

    cfg = settings.get()
    connection = pika.BlockingConnection(connection_parameters(cfg))
    channel = connection.channel()
    for queue in (cfg.RABBITMQ_ALEPH_DAEMON_QUEUE, cfg.RABBITMQ_ALEPH_PLONE_QUEUE):
        channel.queue_delete(queue)
    aleph_topology(cfg).declare(channel)
    connection.close()


def _start_server(mode: str, env: dict[str, str]) -> subprocess.Popen[str]:
    from edeposit.amqp import settings  # noqa: PLC0415
    from edeposit.amqp.runtime.parameters import connection_parameters  # noqa: PLC0415

    process = subprocess.Popen(
        [sys.executable, str(HERE), "serve", mode],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    connection = pika.BlockingConnection(connection_parameters(settings.get()))
    channel = connection.channel()
    deadline = time.monotonic() + 30
    queue = settings.get().RABBITMQ_ALEPH_DAEMON_QUEUE
    while channel.queue_declare(queue, passive=True).method.consumer_count < 1:
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"server {mode} did not start")
        time.sleep(0.05)
    connection.close()
    return process


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _scraping(port: int | None) -> Iterator[None]:
    """Fetch the daemon's /metrics every second meanwhile (Prometheus scrapes every 15 s)."""
    if port is None:
        yield
        return
    done = threading.Event()

    def scrape() -> None:
        while not done.wait(1.0):
            url = f"http://127.0.0.1:{port}/metrics"
            with urllib.request.urlopen(url, timeout=5) as reply:
                reply.read()

    scraper = threading.Thread(target=scrape, daemon=True)
    scraper.start()
    try:
        yield
    finally:
        done.set()
        scraper.join()


def run_one(
    mode: str, driver: str, in_flight: int, total: int, env: dict[str, str]
) -> dict[str, Any]:
    _reset_queues()
    port = _free_port() if mode == "aleph-metrics" else None
    if port is not None:
        env = {**env, "ALEPH_DAEMON_METRICS_PORT": str(port)}
    server = _start_server(mode, env)
    try:
        warmup = max(20, total // 20)
        drive = drive_raw if driver == "raw" else drive_client
        drive(warmup, in_flight)
        cpu_before = _cpu_seconds(server.pid)
        started = time.perf_counter()
        with _scraping(port):
            latencies = drive(total, in_flight)
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds(server.pid) - cpu_before
        rss = _peak_rss_mb(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    return {
        "server": mode,
        "driver": driver,
        "in_flight": in_flight,
        "requests": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * _percentile(latencies, 0.99),
        "cpu_ms": 1000 * cpu / len(latencies),
        "rss_mb": rss,
    }


def _start_emulator(latency: float) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "edeposit.amqp.emulator", "--port", "0", "--latency", str(latency)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip().rsplit(" ", 1)[-1]
    return process, url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer requests per run")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--metrics-overhead",
        action="store_true",
        help="only the Aleph daemon with its metrics endpoint off and on, alternating",
    )
    parser.add_argument("--rounds", type=int, default=3, help="--metrics-overhead: rounds")
    arguments = parser.parse_args()
    scale = 0.25 if arguments.quick else 1.0

    _rabbitmqctl("add_vhost", VHOST)
    _rabbitmqctl("set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")
    env = {
        **os.environ,
        "RABBITMQ_ALEPH_VIRTUALHOST": VHOST,
        "ALEPH_RATE_LIMIT": "0",
        "ALEPH_DAEMON_WORKERS": "32",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    from edeposit.amqp import settings  # noqa: PLC0415

    settings.reload()
    emulator, url = _start_emulator(0.02)
    env.update({"ALEPH_URL": url, "ALEPH_EXPORT_URL": url + "/aleph-cgi/e-deposit"})

    def count(base: int) -> int:
        return max(50, int(base * scale))

    if arguments.metrics_overhead:
        try:
            return _metrics_overhead(env, count(3000), arguments.rounds)
        finally:
            emulator.terminate()
            emulator.wait(10)

    plan = []
    for mode, sizes in (
        ("noop", {1: 1500, 32: 8000}),
        ("noop-confirms", {1: 1500, 32: 8000}),
        ("sleep20", {1: 150, 32: 4000}),
        ("sleep20-confirms", {32: 4000}),
        ("aleph", {1: 150, 32: 3000}),
        ("aleph-metrics", {32: 3000}),
        ("baseline-noop", {1: 1500, 32: 3000}),
        ("baseline-sleep20", {1: 100, 32: 150}),
        ("baseline-aleph", {1: 100, 32: 150}),
        ("minimal-noop", {32: 8000}),
        ("minimal-sleep20", {32: 4000}),
    ):
        single = mode.startswith(("baseline", "minimal")) or mode.endswith(
            ("-metrics", "-confirms")
        )
        drivers = ("raw",) if single else ("raw", "client")
        for in_flight, total in sizes.items():
            for driver in drivers:
                plan.append((mode, driver, in_flight, count(total)))
    results = []
    try:
        print(
            f"{'server':17} {'driver':7} {'inflight':>8} {'requests':>8} {'req/s':>8} "
            f"{'p50 ms':>8} {'p99 ms':>8} {'cpu ms/req':>10} {'rss MB':>7}"
        )
        for mode, driver, in_flight, total in plan:
            row = run_one(mode, driver, in_flight, total, env)
            results.append(row)
            print(
                f"{mode:17} {driver:7} {in_flight:8d} {row['requests']:8d} {row['rate']:8.0f} "
                f"{row['p50_ms']:8.2f} {row['p99_ms']:8.2f} {row['cpu_ms']:10.3f} "
                f"{row['rss_mb']:7.1f}",
                flush=True,
            )
    finally:
        emulator.terminate()
        emulator.wait(10)

    def rate(mode: str, driver: str, in_flight: int) -> float:
        return next(
            r["rate"]
            for r in results
            if (r["server"], r["driver"], r["in_flight"]) == (mode, driver, in_flight)
        )

    baseline_noop = rate("baseline-noop", "raw", 32)
    baseline_slow = rate("baseline-sleep20", "raw", 32)
    baseline_aleph = rate("baseline-aleph", "raw", 32)
    ratios = [
        ("noop raw / original design noop", rate("noop", "raw", 32) / baseline_noop),
        (
            "noop raw / minimal async server",
            rate("noop", "raw", 32) / rate("minimal-noop", "raw", 32),
        ),
        (
            "noop raw, answers in transactions / with confirms",
            rate("noop", "raw", 32) / rate("noop-confirms", "raw", 32),
        ),
        (
            "sleep20 raw, answers in transactions / with confirms",
            rate("sleep20", "raw", 32) / rate("sleep20-confirms", "raw", 32),
        ),
        ("sleep20 raw / physical limit 1600/s", rate("sleep20", "raw", 32) / 1600),
        (
            "sleep20 raw / minimal async server",
            rate("sleep20", "raw", 32) / rate("minimal-sleep20", "raw", 32),
        ),
        ("aleph raw / original design (20 ms)", rate("aleph", "raw", 32) / baseline_slow),
        ("aleph raw / original design (Aleph)", rate("aleph", "raw", 32) / baseline_aleph),
        ("aleph client / original design (Aleph)", rate("aleph", "client", 32) / baseline_aleph),
        (
            "aleph raw, metrics on / off",
            rate("aleph-metrics", "raw", 32) / rate("aleph", "raw", 32),
        ),
    ]
    print("\nratios at 32 in flight:")
    for label, value in ratios:
        print(f"  {label + ':':40} {value:7.2f}")
    if arguments.json:
        arguments.json.write_text(json.dumps(results, indent=2))
    return 0


def _metrics_cost() -> tuple[float, float]:
    """CPU seconds the metrics add to one search (its catalogue calls included), and of
    one scrape: measured alone, so the figure holds on a busy machine too."""
    from prometheus_client import generate_latest  # noqa: PLC0415

    from edeposit.amqp.daemon.metrics import CatalogueMetrics, DaemonMetrics  # noqa: PLC0415

    metrics = DaemonMetrics(in_flight=lambda: 0, watch=lambda: None)
    observer = CatalogueMetrics(metrics)
    rounds = 20000
    started = time.process_time()
    for _ in range(rounds):  # a search: find and present, each paced by the rate limit
        observer.rate_limited(0.0)
        observer.call_finished("find", "ok", 0.02)
        observer.rate_limited(0.0)
        observer.call_finished("present", "ok", 0.02)
        metrics.request_done("SearchRequest", "result", 0.05)
    recording = (time.process_time() - started) / rounds
    started = time.process_time()
    for _ in range(200):
        generate_latest(metrics.registry)
    return recording, (time.process_time() - started) / 200


def _metrics_overhead(env: dict[str, str], total: int, rounds: int) -> int:
    """The Aleph daemon with the metrics endpoint off and on, alternating; the ratio."""
    rates: dict[str, list[float]] = {"aleph": [], "aleph-metrics": []}
    cpu: dict[str, list[float]] = {"aleph": [], "aleph-metrics": []}
    print(
        f"{'server':17} {'round':>5} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'cpu ms/req':>10}"
    )
    for index in range(rounds):
        for mode in ("aleph", "aleph-metrics") if index % 2 == 0 else ("aleph-metrics", "aleph"):
            row = run_one(mode, "raw", 32, total, env)
            rates[mode].append(row["rate"])
            cpu[mode].append(row["cpu_ms"])
            print(
                f"{mode:17} {index + 1:5d} {row['requests']:8d} {row['rate']:8.0f} "
                f"{row['p50_ms']:8.2f} {row['cpu_ms']:10.3f}",
                flush=True,
            )
    off, on = statistics.median(rates["aleph"]), statistics.median(rates["aleph-metrics"])
    print(f"\nmedian req/s: metrics off {off:.0f}, on {on:.0f}; on / off = {on / off:.3f}")
    off, on = statistics.median(cpu["aleph"]), statistics.median(cpu["aleph-metrics"])
    print(f"median CPU ms/request: off {off:.3f}, on {on:.3f}; on / off = {on / off:.3f}")
    recording, scrape = _metrics_cost()
    print(
        f"metrics work per request {1e6 * recording:.1f} us "
        f"({100 * recording / (off / 1000):.2f} % of the daemon's CPU per request); "
        f"one scrape {1e3 * scrape:.2f} ms"
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "serve":
        mode = sys.argv[2]
        if mode in ("aleph", "aleph-metrics"):
            serve_aleph()
        elif mode == "baseline-aleph":
            serve_baseline(catalogue_answer())
        elif mode.startswith("minimal"):
            serve_minimal(0.02 if mode.endswith("sleep20") else 0.0)
        elif mode.startswith("baseline"):
            serve_baseline(sleeping_answer(0.02 if mode.endswith("sleep20") else 0.0))
        else:
            serve_pikadaemon(
                0.02 if mode.startswith("sleep20") else 0.0,
                transactional=not mode.endswith("-confirms"),
            )
        sys.exit(0)
    sys.exit(main())
