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
  20 ms as a timer) — no framework can beat it, so it shows the ceiling of the run;
* ``threadpool-noop`` / ``threadpool-sleep20``  the peer: the usual plain pika server,
  prefetch 32, the handler in a ``ThreadPoolExecutor(32)``, publish and ack handed back
  with ``add_callback_threadsafe``, no confirms.

The other servers are in :mod:`bench.peer_servers`. Each is driven with 1 and with 32
requests in flight, once by a minimal pipelined raw pika client and once by
``AlephClient``. Printed per run: requests/s, latency p50/p99, server CPU ms per request,
server peak RSS; then ratios against the baseline and the peers.

``--modes`` runs only the modes named; ``--rounds N`` runs the plan N times, each round
in the opposite order, and prints each ratio's median (and range) over the rounds: on a
busy machine only ratios from the same round compare like with like. ``--side-by-side``
starts every server once, each on a vhost of its own, and gives them turns: a round's
runs are then seconds apart. For example, the daemon against its peers on the 20 ms
handler, at 32 in flight::

    PYTHONPATH=src:. .venv/bin/python bench/services_bench.py --quick --side-by-side \\
        --rounds 9 --modes threadpool-sleep20,sleep20,minimal-sleep20 --in-flight 32
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pika

HERE = Path(__file__).resolve()
if str(HERE.parents[1]) not in sys.path:  # run as a script: make `bench` importable
    sys.path.insert(0, str(HERE.parents[1]))

from bench.peer_servers import (  # noqa: E402
    bench_reply,
    catalogue_answer,
    serve_baseline,
    serve_minimal,
    serve_threadpool,
    sleeping_answer,
)
from bench.services_plan import MODES, plan, report  # noqa: E402

VHOST = "edeposit-bench"
REQUEST_PADDING = "x" * 200  # makes a serialized request about 300 bytes


# --- servers (run in a subprocess: `services_bench.py serve MODE`) ---------------------


def serve_pikadaemon(delay: float, *, transactional: bool = True) -> None:
    from pika.spec import Basic, BasicProperties  # noqa: PLC0415

    from edeposit.amqp import settings  # noqa: PLC0415
    from edeposit.amqp.daemon.answers import result_key  # noqa: PLC0415
    from edeposit.amqp.pikadaemon import PikaDaemon  # noqa: PLC0415
    from edeposit.amqp.runtime.envelopes import Outgoing  # noqa: PLC0415
    from edeposit.amqp.runtime.parameters import connection_parameters  # noqa: PLC0415
    from edeposit.amqp.runtime.topology import aleph_topology  # noqa: PLC0415

    reply = bench_reply()
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


def _stop(server: subprocess.Popen[str]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()


def _measure(
    server: subprocess.Popen[str], driver: str, in_flight: int, total: int, port: int | None
) -> dict[str, Any]:
    """Drive ``total`` requests through the running ``server``; its figures."""
    drive = drive_raw if driver == "raw" else drive_client
    cpu_before = _cpu_seconds(server.pid)
    started = time.perf_counter()
    with _scraping(port):
        latencies = drive(total, in_flight)
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds(server.pid) - cpu_before
    return {
        "driver": driver,
        "in_flight": in_flight,
        "requests": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * _percentile(latencies, 0.99),
        "cpu_ms": 1000 * cpu / len(latencies),
        "rss_mb": _peak_rss_mb(server.pid),
    }


def _launch(mode: str, env: dict[str, str]) -> tuple[subprocess.Popen[str], int | None]:
    """Fresh queues, then the server of ``mode`` (and its metrics port, if any)."""
    _reset_queues()
    port = _free_port() if mode == "aleph-metrics" else None
    if port is not None:
        env = {**env, "ALEPH_DAEMON_METRICS_PORT": str(port)}
    return _start_server(mode, env), port


def run_one(
    mode: str, driver: str, in_flight: int, total: int, env: dict[str, str]
) -> dict[str, Any]:
    """A server of ``mode`` started for this run alone: warmed up, measured, stopped."""
    server, port = _launch(mode, env)
    try:
        (drive_raw if driver == "raw" else drive_client)(max(20, total // 20), in_flight)
        return {"server": mode, **_measure(server, driver, in_flight, total, port)}
    finally:
        _stop(server)


def _use_vhost(env: dict[str, str], vhost: str) -> None:
    """Point this process (drivers, queue resets) and ``env`` (servers) at ``vhost``."""
    from edeposit.amqp import settings  # noqa: PLC0415

    env["RABBITMQ_ALEPH_VIRTUALHOST"] = os.environ["RABBITMQ_ALEPH_VIRTUALHOST"] = vhost
    settings.reload()


def side_by_side(
    runs: list[tuple[str, str, int, int]], rounds: int, env: dict[str, str]
) -> list[dict[str, Any]]:
    """Every run's server started at once, each on a vhost of its own, idle but for its
    turn; then ``rounds`` rounds of one turn each, alternating forward and backward:
    turns seconds apart instead of a server start and more apart."""
    base = env["RABBITMQ_ALEPH_VIRTUALHOST"]
    servers: list[tuple[str, subprocess.Popen[str], int | None]] = []
    results = []
    try:
        for mode, driver, in_flight, total in runs:
            vhost = f"{base}-{mode}-{driver}-{in_flight}"
            _rabbitmqctl("add_vhost", vhost)
            _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
            _use_vhost(env, vhost)
            server, port = _launch(mode, env)
            servers.append((vhost, server, port))
            (drive_raw if driver == "raw" else drive_client)(max(20, total // 20), in_flight)
        turns = list(zip(runs, servers, strict=True))
        for index in range(rounds):
            for (mode, driver, in_flight, total), (vhost, server, port) in (
                turns if index % 2 == 0 else turns[::-1]
            ):
                _use_vhost(env, vhost)
                row = _measure(server, driver, in_flight, total, port)
                results.append({"round": index, "server": mode, **row})
                _print_row(results[-1])
    finally:
        for vhost, server, _port in servers:
            _stop(server)
            _rabbitmqctl("delete_vhost", vhost)
        _use_vhost(env, base)
    return results


def _print_row(row: dict[str, Any]) -> None:
    print(
        f"{row['server']:18} {row['round'] + 1:5d} {row['driver']:7} {row['in_flight']:8d} "
        f"{row['requests']:8d} {row['rate']:8.0f} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f} "
        f"{row['cpu_ms']:10.3f} {row['rss_mb']:7.1f}",
        flush=True,
    )


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


def _environment(vhost: str) -> dict[str, str]:
    """The servers' environment: this checkout's sources first (the venv may have another
    checkout installed in editable mode), the bench's own vhost, 32 workers."""
    root = HERE.parents[1]
    path = os.pathsep.join(
        p for p in (str(root / "src"), str(root), os.environ.get("PYTHONPATH", "")) if p
    )
    return {
        **os.environ,
        "PYTHONPATH": path,
        "RABBITMQ_ALEPH_VIRTUALHOST": vhost,
        "ALEPH_RATE_LIMIT": "0",
        "ALEPH_DAEMON_WORKERS": "32",
        "LOG_LEVEL": "WARNING",
    }


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer requests per run")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--metrics-overhead",
        action="store_true",
        help="only the Aleph daemon with its metrics endpoint off and on, alternating",
    )
    parser.add_argument(
        "--modes",
        type=lambda text: [mode.strip() for mode in text.split(",") if mode.strip()],
        default=list(MODES),
        help=f"comma-separated, run in this order (default: all): {', '.join(MODES)}",
    )
    parser.add_argument(
        "--in-flight", type=int, action="append", help="only runs with this many in flight"
    )
    parser.add_argument(
        "--drivers", type=lambda text: set(text.split(",")), help="only these: raw,client"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        help="rounds, each in another order; ratios as medians over rounds "
        "(default 1; --metrics-overhead: 3)",
    )
    parser.add_argument(
        "--side-by-side",
        action="store_true",
        help="start every server once (a vhost each) and take turns with them each round",
    )
    parser.add_argument("--vhost", default=VHOST, help=f"the broker's vhost (default {VHOST})")
    arguments = parser.parse_args()
    unknown = [mode for mode in arguments.modes if mode not in MODES]
    if unknown:
        parser.error(f"unknown mode(s): {', '.join(unknown)}")
    return arguments


def main() -> int:
    arguments = _arguments()
    scale = 0.25 if arguments.quick else 1.0
    _rabbitmqctl("add_vhost", arguments.vhost)
    _rabbitmqctl("set_permissions", "-p", arguments.vhost, "guest", ".*", ".*", ".*")
    env = _environment(arguments.vhost)
    os.environ.update(env)
    from edeposit.amqp import settings  # noqa: PLC0415

    settings.reload()
    emulator, url = _start_emulator(0.02)
    env.update({"ALEPH_URL": url, "ALEPH_EXPORT_URL": url + "/aleph-cgi/e-deposit"})

    if arguments.metrics_overhead:
        try:
            return _metrics_overhead(env, max(50, int(3000 * scale)), arguments.rounds or 3)
        finally:
            emulator.terminate()
            emulator.wait(10)

    rounds = arguments.rounds or 1
    in_flights = set(arguments.in_flight) if arguments.in_flight else None
    runs = plan(arguments.modes, in_flights, arguments.drivers, scale)
    results = []
    try:
        print(
            f"{'server':18} {'round':>5} {'driver':7} {'inflight':>8} {'requests':>8} "
            f"{'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'cpu ms/req':>10} {'rss MB':>7}"
        )
        if arguments.side_by_side:
            results = side_by_side(runs, rounds, env)
        for index in range(0 if arguments.side_by_side else rounds):
            for mode, driver, in_flight, total in runs if index % 2 == 0 else runs[::-1]:
                results.append({"round": index, **run_one(mode, driver, in_flight, total, env)})
                _print_row(results[-1])
    finally:
        emulator.terminate()
        emulator.wait(10)
    report(results, rounds)
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
        elif mode.startswith("threadpool"):
            serve_threadpool(sleeping_answer(0.02 if mode.endswith("sleep20") else 0.0))
        elif mode.startswith("baseline"):
            serve_baseline(sleeping_answer(0.02 if mode.endswith("sleep20") else 0.0))
        else:
            serve_pikadaemon(
                0.02 if mode.startswith("sleep20") else 0.0,
                transactional=not mode.endswith("-confirms"),
            )
        sys.exit(0)
    sys.exit(main())
