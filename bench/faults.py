"""Fault scenarios: evidence that nothing is lost and nothing gets in.

    .venv/bin/python bench/faults.py [--short] [--only NAME ...] [--soak-minutes N]

Scenarios (DESIGN §9-§10): broker restart under load, a daemon killed mid-work, a
graceful stop under load, catalogue faults, hostile input (fuzz), poison messages,
hostile catalogue replies, secrets and access, a soak with periodic faults; on a
three-node cluster (``bench/cluster_faults.py``) a node's failover, a rolling restart,
the quorum leader's node stopped and a frozen node; network partitions between hosts
that are network namespaces (``bench/partition_faults.py``, as root); and hostile
senders and a sick catalogue (``bench/hostile_scenarios.py``: answers that would not fit a frame,
``reply_to`` into the service's own queues, a breaker meeting a maintenance page,
overload, requests given up on, a crashing I/O loop, a forged internal header). Each
runs real processes (RabbitMQ's app, the emulator, daemons) on this machine, prints its
figures and fails (exit 1) when a request is lost, answered twice, or an expectation
breaks. ``--short`` runs the versions the test suite runs. Broker restarts happen on a
private RabbitMQ node (``bench/brokers.py``), never on the machine's broker.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pika
import pika.exceptions

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run as a script: make `bench` importable
    sys.path.insert(0, str(HERE.parent))

from bench.brokers import PrivateCluster, PrivateNode  # noqa: E402
from bench.cluster_faults import CLUSTER_SCENARIOS, NET_TICKTIME  # noqa: E402
from bench.datacentre import DataCentre  # noqa: E402
from bench.fleet import (  # noqa: E402
    Broker,
    DaemonFleet,
    EmulatorProcess,
    connections_to,
    fd_count,
    queue_settings,
    rabbitmqctl,
    rss_mb,
    thread_count,
)
from bench.hostile_catalogue import KINDS, HostileCatalogue  # noqa: E402
from bench.hostile_scenarios import HOSTILE_SCENARIOS  # noqa: E402
from bench.partition_faults import PARTITION_SCENARIOS, centre_for  # noqa: E402
from bench.tls_node import TLSNode  # noqa: E402
from bench.traffic import (  # noqa: E402
    Collector,
    Publisher,
    Tally,
    close_quietly,
    unconfirmed_answers,
)
from edeposit.amqp import aleph  # noqa: E402
from edeposit.amqp import settings as settings_module  # noqa: E402
from edeposit.amqp.config import Settings  # noqa: E402
from edeposit.amqp.runtime import frames  # noqa: E402
from edeposit.amqp.runtime.frames import RawField  # noqa: E402
from edeposit.amqp.runtime.parameters import connection_parameters  # noqa: E402
from edeposit.amqp.serializers import serialize  # noqa: E402

__all__ = ["SCENARIOS", "main"]

REQUESTS = [
    serialize(aleph.CountRequest(aleph.ISBNQuery("80-251-0225-4"))).encode(),
    serialize(aleph.SearchRequest(aleph.ISBNQuery("80-251-0225-4"))).encode(),
    serialize(aleph.SearchRequest(aleph.ICZQuery("cpk20051492461"))).encode(),
    serialize(aleph.ISBNValidationRequest("80-251-0225-4")).encode(),
]
DAEMON_ENV = {
    "ALEPH_RATE_LIMIT": "0",
    "ALEPH_TIMEOUT": "2",
    "ALEPH_RETRIES": "2",
    "ALEPH_RETRY_BACKOFF": "0.05",
    "ALEPH_DAEMON_SHUTDOWN_TIMEOUT": "15",
    "ALEPH_DAEMON_RECONNECT_MAX_DELAY": "3",
}
#: Seconds a daemon may take to stop on SIGTERM under load: its shutdown timeout and
#: a margin to exit; past it, the daemon is killed and the scenario fails.
STOP_BOUND = 15 + 5
#: Seconds the daemons may take to consume again after a broker restart (reconnects
#: back off up to 3 s); past it, the reconnect counts as never (``inf``).
RECONNECT_BOUND = 30


def request(index: int) -> tuple[bytes, dict[str, Any]]:
    return REQUESTS[index % len(REQUESTS)], {}


class Run:
    """One scenario's processes: a private vhost, the emulator, a fleet, load tools.

    The vhost is on the machine's broker, unless the scenario restarts the broker: then
    it is on ``node`` (a private node shared by several scenarios) or on a private node
    the run starts for itself; or it stops cluster nodes: then it is on ``cluster``. The
    queues are declared as the daemons' ``env`` says (``RABBITMQ_ALEPH_QUEUE_TYPE``).
    """

    def __init__(
        self,
        workdir: Path,
        *,
        node: PrivateNode | None = None,
        restarts: bool = False,
        cluster: PrivateCluster | None = None,
        emulator_args: tuple[str, ...] = (),
        **env: str,
    ) -> None:
        self.broker = Broker(queue_settings(env), node=node, restarts=restarts, cluster=cluster)
        self.emulator = EmulatorProcess(*emulator_args)
        self.fleet = DaemonFleet(
            workdir, {**self.broker.env(), **self.emulator.env(), **DAEMON_ENV, **env}
        )
        self.collector = Collector(self.broker.settings)
        self.collector.start()
        self.queue = self.broker.settings.RABBITMQ_ALEPH_DAEMON_QUEUE

    def start_daemons(self, count: int, **env: str) -> None:
        expected = len(self.fleet.alive()) + count
        self.fleet.start(count, **env)
        if self.broker.wait_consumers(self.queue, expected, 30) is None:
            raise RuntimeError("daemons did not start consuming:\n" + self.fleet.log(0)[-2000:])

    def publish(
        self, total: int, rate: float, make: Callable[[int], tuple[bytes, dict[str, Any]]] = request
    ) -> Publisher:
        publisher = Publisher(self.broker.settings, make, total, rate)
        publisher.start()
        return publisher

    def finish(self, publisher: Publisher, timeout: float = 120.0, **extra: Any) -> Tally:
        publisher.join()
        self.collector.wait_for(publisher.sent, timeout)
        time.sleep(0.5)  # a late duplicate would show up now
        self.fleet.sample()
        return Tally.of(
            publisher.sent,
            self.collector,
            publisher.resent,
            unconfirmed_answers(*(self.fleet.log(i) for i in range(len(self.fleet.processes)))),
            peak_rss_mb=round(max(self.fleet.peak_rss.values(), default=0.0), 1),
            **extra,
        )

    def close(self) -> None:
        self.fleet.close()
        self.collector.stop()
        self.emulator.close()
        self.broker.close()


def broker_restart(
    workdir: Path, short: bool, node: PrivateNode | None = None, *, whole_node: bool = False
) -> Tally:
    """2 daemons, steady load, RabbitMQ's app (or, ``whole_node``, the whole node: its
    Erlang VM) restarted mid-run; one answer per request.

    The broker is ``node`` or a private node of the scenario's own, never the machine's.
    """
    total, rate, restarts = (240, 40.0, 1) if short else (1000, 40.0, 2)
    run = Run(workdir, node=node, restarts=True)
    restart = run.broker.restart_node if whole_node else run.broker.restart_app
    try:
        run.start_daemons(2)
        publisher = run.publish(total, rate)
        reconnect: list[float] = []
        for _ in range(restarts):
            time.sleep(total / rate / (restarts + 1))
            restarted = restart()
            back = run.broker.wait_consumers(run.queue, 2, RECONNECT_BOUND, since=restarted)
            reconnect.append(round(back, 2) if back is not None else float("inf"))
        what = "node stop and start" if whole_node else "app restart"
        return run.finish(
            publisher,
            load=f"{total} at {rate:g}/s, 2 daemons",
            faults=f"{restarts} broker {what}(s)",
            reconnect_s=reconnect,
            republished=publisher.republished,
        )
    finally:
        run.close()


def broker_stop(workdir: Path, short: bool, node: PrivateNode | None = None) -> Tally:
    """The whole broker node stopped and started again under load (not just its app)."""
    return broker_restart(workdir, short, node, whole_node=True)


def daemon_killed(workdir: Path, short: bool) -> Tally:
    """3 daemons, slow catalogue (200 ms); one is SIGKILLed mid-work; survivors answer all."""
    total, rate = (90, 30.0) if short else (600, 30.0)
    run = Run(workdir, emulator_args=("--latency", "0.2"))
    try:
        run.start_daemons(3)
        publisher = run.publish(total, rate)
        time.sleep(total / rate / 2)
        victim = run.fleet.alive()[0]
        run.fleet.sample()
        victim.kill()
        victim.wait()
        return run.finish(
            publisher,
            load=f"{total} at {rate:g}/s, 3 daemons",
            faults="SIGKILL of 1 daemon mid-work",
            killed_exit=victim.returncode,
        )
    finally:
        run.close()


def graceful_stop(workdir: Path, short: bool) -> Tally:
    """SIGTERM under load: in flight answered, exit 0 in time, the rest wait for the next."""
    total = 60 if short else 300
    run = Run(workdir, emulator_args=("--latency", "0.2"))
    try:
        run.start_daemons(1, ALEPH_DAEMON_WORKERS="8")
        publisher = run.publish(total, 0)
        publisher.join()
        time.sleep(0.5)
        [daemon] = run.fleet.alive()
        started = time.monotonic()
        code = run.fleet.stop(daemon, timeout=STOP_BOUND)  # killed past its bound: -9
        stop_seconds = round(time.monotonic() - started, 2)
        answered_by_first = len(run.collector.answers)
        waiting = run.broker.queue_state(run.queue)[0]
        run.start_daemons(1)
        tally = run.finish(
            publisher,
            load=f"{total} queued at once, 1 daemon x 8 workers",
            faults="SIGTERM under load, then a new daemon",
            exit_code=code,
            stop_s=stop_seconds,
            answered_before_stop=answered_by_first,
            left_queued=waiting,
        )
        if code != 0:
            tally["broken"] = "daemon did not stop cleanly within its bound"
        return tally
    finally:
        run.close()


CATALOGUE_FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("timeouts", {"latency": 3.0}),
    ("dropped connections", {"drop_rate": 0.5}),
    ("HTML 403", {"forbidden_rate": 0.5}),
    ("malformed XML", {"malformed_rate": 0.5}),
    ("licence errors", {"licence_limit": 5, "licence_window": 2.0}),
    ("30 s hang", {"hang_seconds": 30.0}),
]


def catalogue_faults(workdir: Path, short: bool) -> Tally:
    """Each emulator fault in turn: every request answered; healthy throughput recovers."""
    per_phase = 12 if short else 60
    run = Run(workdir)
    try:
        run.start_daemons(2)
        healthy_before = _throughput(run, per_phase * 2)
        phases = []
        sent: list[str] = []
        for fault_name, fault in CATALOGUE_FAULTS:
            name, faults = fault_name, fault
            if short and "hang_seconds" in faults:
                name, faults = "5 s hang", {"hang_seconds": 5.0}  # still past ALEPH_TIMEOUT
            run.emulator.set_faults(**faults)
            publisher = run.publish(per_phase, 20.0)
            publisher.join()
            ok = run.collector.wait_for(publisher.sent, 120)
            phases.append(f"{name}: {'all answered' if ok else 'MISSING'}")
            sent.extend(publisher.sent)
            run.emulator.clear_faults()
        healthy_after = _throughput(run, per_phase * 2)
        tally = Tally.of(
            sent,
            run.collector,
            load=f"{per_phase} per fault, 2 daemons",
            faults="; ".join(phases),
            healthy_rate_before=round(healthy_before, 1),
            healthy_rate_after=round(healthy_after, 1),
        )
        if healthy_after < 0.5 * healthy_before:
            tally["broken"] = "throughput did not recover after the faults"
        return tally
    finally:
        run.close()


def _throughput(run: Run, count: int) -> float:
    started = time.monotonic()
    publisher = run.publish(count, 0)
    publisher.join()
    run.collector.wait_for(publisher.sent, 60)
    return count / (time.monotonic() - started)


def fuzz_bodies(seed: int) -> Callable[[int], tuple[bytes, dict[str, Any]]]:
    """Generated hostile requests: broken encodings, shapes, sizes, headers."""
    rng = random.Random(seed)
    words = [
        "ISBNQuery",
        "SearchRequest",
        "CountRequest",
        "Popen",
        "eval",
        "__nt_name",
        "query",
        "base",
        "ISBN",
        "\u0000",
        "\ud800",
        "Dítě",
        "null",
        "true",
        "1e999",
    ]

    def body(kind: int) -> bytes:
        if kind == 0:
            return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))
        if kind == 1:
            return ("[" * rng.randint(10, 5000)).encode()
        if kind == 2:
            return json.dumps({"__nt_name": rng.choice(words), "x": rng.random()}).encode()
        if kind == 3:
            value = rng.choice([1, -1, 1.5, True, None, [], {}, "x" * rng.randint(0, 5000)])
            return json.dumps(
                {"query": {"ISBN": value, "__nt_name": "ISBNQuery"}, "__nt_name": "SearchRequest"}
            ).encode()
        if kind == 4:
            return " ".join(rng.choice(words) for _ in range(rng.randint(1, 30))).encode(
                "utf-8", "surrogatepass"
            )
        if kind == 5:
            return json.dumps(
                {
                    "query": {"ISBN": "x" * rng.randint(10_000, 200_000), "__nt_name": "ISBNQuery"},
                    "__nt_name": "CountRequest",
                }
            ).encode()
        return REQUESTS[rng.randrange(len(REQUESTS))]

    def headers(index: int) -> dict[str, Any]:
        choice = rng.randrange(10)
        if choice == 0:
            return {}
        values: list[Any] = [
            str(uuid.uuid4()),
            index,
            f"bin-{index}".encode() + bytes([0xFF, 0xFE]),
            [index, "list"],
            {"k": index},
            json.dumps({"uuid": index, "Dítě": True}),
            f" spaced {index} ",
            f"dup-{index // 2}",
        ]
        return {"UUID": values[choice % len(values)], "x-junk": rng.randrange(1 << 30)}

    def make(index: int) -> tuple[bytes, dict[str, Any]]:
        return body(rng.randrange(8)), headers(index)

    return make


def hostile_input(workdir: Path, short: bool) -> Tally:
    """Fuzzed bodies and headers: every message with a UUID answered, all acked, RSS bounded."""
    total = 3000 if short else 100_000
    huge = 1 if short else 5
    run = Run(workdir)
    try:
        run.start_daemons(1)
        make = fuzz_bodies(seed=7)
        expected: dict[str, int] = {}
        without_uuid = 0

        def tracked(index: int) -> tuple[bytes, dict[str, Any]]:
            nonlocal without_uuid
            if index < huge:
                body, headers = (
                    b'{"x": "' + b"y" * (50 * 1024 * 1024) + b'"}',
                    {"UUID": f"huge-{index}"},
                )
            else:
                body, headers = make(index)
            if "UUID" in headers:
                key = str(headers["UUID"])
                expected[key] = expected.get(key, 0) + 1
            else:
                without_uuid += 1
            return body, headers

        publisher = Publisher(run.broker.settings, tracked, total, 0, add_uuid=False)
        publisher.start()
        publisher.join()
        keys = list(expected)
        run.collector.wait_for(keys, 300)
        time.sleep(1.0)
        run.fleet.sample()
        answers = run.collector.answers
        missing = [key for key in keys if key not in answers]
        extra = sum(max(0, len(answers[key]) - expected[key]) for key in keys if key in answers)
        alive = len(run.fleet.alive())
        left = run.broker.queue_state(run.queue)[0]
        tally = Tally(
            sent=sum(expected.values()),
            answered=sum(min(len(answers.get(k, [])), n) for k, n in expected.items()),
            lost=len(missing),
            duplicated=extra,
            duplicated_by_one_daemon=extra,  # one daemon answers them all here
            errors=dict(run.collector.errors),
            load=f"{total} generated messages ({huge} of 50 MB), {without_uuid} without UUID",
            faults="fuzzed bodies and headers",
            daemon_alive=alive == 1,
            left_in_queue=left,
            peak_rss_mb=round(max(run.fleet.peak_rss.values(), default=0.0), 1),
        )
        if alive != 1 or left:
            tally["broken"] = "daemon died or left messages unacked"
        return tally
    finally:
        run.close()


def poison_message(workdir: Path, short: bool) -> Tally:
    """A request that kills its daemon is set aside after its deliveries and answered."""
    limit = 3
    quorum = {"RABBITMQ_ALEPH_QUEUE_TYPE": "quorum", "RABBITMQ_ALEPH_DELIVERY_LIMIT": str(limit)}
    run = Run(workdir, **quorum)
    try:
        poison = serialize(aleph.SearchRequest(aleph.TitleQuery("CRASH"))).encode()
        publisher = run.publish(1, 0, lambda _: (poison, {"UUID": "poison"}))
        publisher.join()
        deaths = 0
        # Dead-lettered after `limit` deliveries, given one more round (connection losses
        # count against the limit too), dead-lettered again, then answered.
        most_deaths = 2 * (limit + 1)
        while "poison" not in run.collector.answers and deaths <= most_deaths:
            with (workdir / "crash.log").open("ab") as crash_log:
                crasher = subprocess.Popen(
                    [sys.executable, str(HERE / "crashing_daemon.py")],
                    env={**run.fleet.env, "ALEPH_DAEMON_PIDFILE": str(workdir / "crash.pid")},
                    stdout=crash_log,
                    stderr=subprocess.STDOUT,
                )
            try:
                crasher.wait(20)
            except subprocess.TimeoutExpired:  # nothing left to crash on
                crasher.terminate()
                crasher.wait()
                break
            if crasher.returncode != 70:
                raise RuntimeError(
                    f"the crashing daemon ended with {crasher.returncode}:\n"
                    + (workdir / "crash.log").read_text(errors="replace")[-2000:]
                )
            deaths += 1
        run.start_daemons(1)
        normal = run.publish(5, 0)
        tally = run.finish(
            normal,
            load="1 poison request + 5 normal ones",
            faults=f"daemon dies on the poison (delivery limit {limit})",
            daemon_deaths=deaths,
        )
        answer = run.collector.answers.get("poison", [])
        tally["poison_answer"] = answer
        if answer != ["PoisonMessageError"] or deaths > most_deaths:
            tally["broken"] = "the poison request was not set aside and answered once"
        return tally
    finally:
        run.close()


#: A timestamp RabbitMQ accepts and pika cannot turn into a datetime (past year 9999).
FAR_FUTURE = RawField(b"T" + struct.pack(">Q", 2**63))
#: Log lines of a daemon that met unreadable headers (one per such message).
UNREADABLE_LINES = ("unreadable headers", "properties cannot be read")


def nested_table(depth: int) -> RawField:
    """A header table nested ``depth`` deep, written raw (pika cannot encode it)."""
    value = b"V"
    for _ in range(depth):
        entry = b"\x01k" + value
        value = b"F" + struct.pack(">I", len(entry)) + entry
    return RawField(value)


def undecodable_headers(workdir: Path, short: bool, *, quorum: bool = False) -> Tally:
    """Headers RabbitMQ accepts and pika cannot read, among valid requests, 2 daemons.

    A timestamp past the year 9999 and a table nested 600 deep, with a UUID (answered
    with a MessageError, then rejected: dead-lettered once with ``quorum``, else dropped)
    and without one (dropped with one warning). Every valid request answered once, the
    daemons consuming throughout, no connection lost, logs bounded.
    """
    frames.install()  # this process publishes raw header fields
    total, every, anonymous = (300, 10, 5) if short else (3000, 10, 50)
    limit = 3
    env = (
        {"RABBITMQ_ALEPH_QUEUE_TYPE": "quorum", "RABBITMQ_ALEPH_DELIVERY_LIMIT": str(limit)}
        if quorum
        else {}
    )
    run = Run(workdir, **env)
    try:
        run.start_daemons(2)
        nameless = Publisher(
            run.broker.settings, lambda _: (REQUESTS[0], {"when": FAR_FUTURE}), anonymous, 0,
            add_uuid=False,
        )  # fmt: skip
        nameless.start()
        nameless.join()

        def make(index: int) -> tuple[bytes, dict[str, Any]]:
            if index % every != every - 1:
                return request(index)
            poison = FAR_FUTURE if (index // every) % 2 else nested_table(600)
            return REQUESTS[0], {
                "UUID": f"poison-{index}",
                "when" if (index // every) % 2 else "deep": poison,
            }

        publisher = run.publish(total, 100.0, make)
        tally = run.finish(
            publisher,
            load=f"{total} at 100/s ({total // every} poisoned), {anonymous} poisoned without UUID",
            faults=f"unreadable headers{' on a quorum queue' if quorum else ''}",
        )
        _check_poison_aftermath(run, tally, publisher.sent, total // every + anonymous, quorum)
        return tally
    finally:
        run.close()


def _check_poison_aftermath(
    run: Run, tally: Tally, sent: list[str], poisoned: int, quorum: bool
) -> None:
    answers = run.collector.answers
    wrong = [
        key
        for key in sent
        if answers.get(key) != (["MessageError"] if key.startswith("poison-") else [""])
    ]
    messages, consumers = run.broker.queue_state(run.queue)
    dead = run.broker.queue_state(run.queue + ".dead")[0] if quorum else 0
    logs = [run.fleet.log(index) for index in range(len(run.fleet.processes))]
    warnings = sum(log.count(line) for log in logs for line in UNREADABLE_LINES)
    aborts = sum(log.count("connection closed") for log in logs)
    lines = sum(len(log.splitlines()) for log in logs)
    tally.update(
        left_in_queue=messages,
        consumers=consumers,
        dead_letters_left=dead,
        unreadable_warnings=warnings,
        connection_aborts=aborts,
        log_lines=lines,
    )
    if wrong:
        tally["broken"] = (
            f"{len(wrong)} request(s) answered wrongly, e.g. {wrong[0]}: {answers.get(wrong[0])}"
        )
    elif messages or dead or consumers < 2 or aborts:
        tally["broken"] = "a request stayed, a daemon stopped consuming, or a connection was lost"
    elif warnings != poisoned or lines > 20 * len(sent):
        tally["broken"] = (
            f"{warnings} warnings for {poisoned} unreadable messages; {lines} log lines"
        )


def undecodable_quorum(workdir: Path, short: bool) -> Tally:
    """:func:`undecodable_headers` on a quorum request queue with its dead-letter queue."""
    return undecodable_headers(workdir, short, quorum=True)


def bad_reply_copy(workdir: Path, short: bool) -> Tally:
    """Requests whose ``reply_to`` copy cannot be made (a UUID too long for a
    correlation_id) answered and acked like any other: no prefetch slot held."""
    bad_count, valid_count = (32, 200) if short else (64, 1000)
    run = Run(workdir, ALEPH_DAEMON_WORKERS="4")
    try:
        run.start_daemons(2)
        connection = run.broker.connect()
        connection.channel().queue_declare("copies")
        connection.close()
        bad = run.publish(
            bad_count,
            0,
            lambda i: (REQUESTS[0], {"UUID": "u" * 300 + str(i)}, {"reply_to": "copies"}),
        )
        bad.join()
        valid = run.publish(valid_count, 100.0)
        valid.join()
        run.collector.wait_for([*bad.sent, *valid.sent], 120)
        time.sleep(0.5)  # a late duplicate would show up now
        run.fleet.sample()
        tally = Tally.of(
            [*bad.sent, *valid.sent],
            run.collector,
            peak_rss_mb=round(max(run.fleet.peak_rss.values(), default=0.0), 1),
            load=f"{bad_count} with a 300-character UUID and reply_to, then {valid_count} at 100/s",
            faults="reply_to copies that cannot carry the UUID as correlation_id",
        )
        left, _ = run.broker.queue_state(run.queue)
        copies, _ = run.broker.queue_state("copies")
        tally.update(left_in_queue=left, copies_delivered=copies)
        if left or copies:
            tally["broken"] = "a request was left unsettled, or a copy carried a cut UUID"
        return tally
    finally:
        run.close()


def hostile_catalogue(workdir: Path, short: bool) -> Tally:
    """External entities, entity bombs, huge and mis-encoded replies: clear errors only."""
    with HostileCatalogue(huge_mb=20 if short else 100) as catalogue:
        run = Run(workdir, ALEPH_URL=catalogue.url, ALEPH_MAX_REPLY_BYTES=str(8 * 1024 * 1024))
        try:
            run.start_daemons(1)
            sent: list[str] = []
            causes: dict[str, str] = {}
            for kind in KINDS:
                catalogue.kind = kind
                publisher = run.publish(2, 0, lambda i, k=kind: (REQUESTS[1], {"UUID": f"{k}-{i}"}))
                publisher.join()
                run.collector.wait_for(publisher.sent, 120)
                sent.extend(publisher.sent)
                causes[kind] = ",".join(
                    sorted({n for u in publisher.sent for n in run.collector.answers.get(u, [])})
                )
            tally = run.finish(
                run.publish(0, 0),
                load="2 searches per hostile reply kind",
                faults=", ".join(KINDS),
                causes=causes,
            )
            tally.update(Tally.of(sent, run.collector))
            tally["peak_rss_mb"] = round(max(run.fleet.peak_rss.values(), default=0.0), 1)
            texts = " ".join(run.collector.texts.get(key, "") for key in sent)
            if "root:" in texts or any(not value for value in causes.values()):
                tally["broken"] = "a hostile reply was not refused, or a local file leaked"
            if tally["peak_rss_mb"] > 300:
                tally["broken"] = "memory grew with a hostile reply"
            return tally
        finally:
            run.close()


def secrets_and_access(workdir: Path, short: bool) -> Tally:
    """No password anywhere; a wrong one is one clear error; TLS with client certificates."""
    user, password = f"edeposit-{uuid.uuid4().hex[:6]}", f"Pw-{uuid.uuid4().hex}"
    run = Run(workdir, RABBITMQ_USER_NAME=user, RABBITMQ_USER_PASSWORD=password)
    rabbitmqctl("add_user", user, password)
    try:
        rabbitmqctl("set_permissions", "-p", run.broker.vhost, user, ".*", ".*", ".*")
        run.start_daemons(1)
        bad = run.publish(
            3,
            0,
            lambda i: (
                [
                    b"{oops",
                    REQUESTS[0],
                    serialize(aleph.SearchRequest(aleph.DocumentQuery(999999998))).encode(),
                ][i],
                {},
            ),
        )
        tally = run.finish(
            bad,
            load="3 requests as a user with a secret password",
            faults="bad body, catalogue error; status, --list, repr, logs",
        )
        env = {**run.fleet.env, "ALEPH_DAEMON_PIDFILE": str(workdir / "daemon-0.pid")}
        outputs = [
            _command(env, "-m", "edeposit.amqp.alephdaemon", "status"),
            _command(env, "-m", "edeposit.amqp.amqp_tool", "--list"),
            _command(
                env,
                "-c",
                "from edeposit.amqp import settings; s = settings.get(); "
                "print(repr(s), str(s), s.describe())",
            ),
        ]
        texts = [*outputs, run.fleet.log(0), *run.collector.texts.values()]
        leaks = sum(password in text for text in texts)
        wrong = run.fleet.start(1, RABBITMQ_USER_PASSWORD="not-the-" + password)[0]
        started = time.monotonic()
        code = wrong.wait(30)
        wrong_log = run.fleet.log(len(run.fleet.processes) - 1)
        tally.update(
            places_checked=len(texts),
            password_leaks=leaks,
            wrong_password=f"exit {code} after {time.monotonic() - started:.1f} s, "
            f"{wrong_log.count('reconnecting in')} reconnect attempt(s)",
            tls=_tls_round_trip(workdir, run, short),
        )
        retried = "reconnecting in" in wrong_log or "RABBITMQ_USER_PASSWORD" not in wrong_log
        if leaks or code == 0 or retried or not tally["tls"].startswith("ok"):
            tally["broken"] = "a secret leaked, a wrong password was retried, or TLS failed"
        return tally
    finally:
        run.close()
        subprocess.run(
            ["rabbitmqctl", "-q", "delete_user", user], capture_output=True, check=False, timeout=60
        )


def _command(env: dict[str, str], *arguments: str) -> str:
    completed = subprocess.run(
        [sys.executable, *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return completed.stdout + completed.stderr


def _tls_round_trip(workdir: Path, run: Run, short: bool) -> str:
    """A daemon and a client on a TLS-only node; and a daemon without a client certificate."""
    with TLSNode() as node:
        tls_settings = run.broker.settings.replace(
            RABBITMQ_USER_NAME="guest",
            RABBITMQ_USER_PASSWORD="guest",
            RABBITMQ_HOST="localhost",
            RABBITMQ_PORT=node.tls_port,
            RABBITMQ_USE_TLS=True,
            RABBITMQ_TLS_CA_FILE=str(node.ca),
            RABBITMQ_TLS_CERT_FILE=str(node.client_cert),
            RABBITMQ_TLS_KEY_FILE=str(node.client_key),
            RABBITMQ_ALEPH_VIRTUALHOST="/",
        )
        tls_env = {**node.env(), "RABBITMQ_USER_NAME": "guest", "RABBITMQ_USER_PASSWORD": "guest"}
        fleet = DaemonFleet(workdir / "tls", {**run.fleet.env, **tls_env})
        (workdir / "tls").mkdir()
        collector = Collector(tls_settings)
        collector.start()
        try:
            fleet.start(1)
            _wait_consuming(tls_settings)
            publisher = Publisher(tls_settings, request, 5 if short else 50, 0)
            publisher.start()
            publisher.join(60)
            answered = collector.wait_for(publisher.sent, 60)
            no_certificate = fleet.start(1, RABBITMQ_TLS_CERT_FILE="", RABBITMQ_TLS_KEY_FILE="")[0]
            refused = no_certificate.wait(30) != 0 and "TLS" in fleet.log(1)
        finally:
            collector.stop()
            fleet.close()
    if answered and refused:
        return f"ok: {len(publisher.sent)} answered over amqps; no client certificate refused"
    return f"failed: answered={answered}, refused without certificate={refused}"


def _wait_consuming(settings: Settings, timeout: float = 30.0) -> None:
    """Wait until a daemon consumes the request queue (it declares the topology first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        connection = None
        try:
            connection = pika.BlockingConnection(connection_parameters(settings))
            state = connection.channel().queue_declare(
                settings.RABBITMQ_ALEPH_DAEMON_QUEUE, passive=True
            )
            if state.method.consumer_count:
                return
        except (pika.exceptions.AMQPError, OSError):
            pass
        finally:
            close_quietly(connection)
        time.sleep(0.2)
    raise RuntimeError("no daemon consumes the request queue")


def soak(
    workdir: Path, short: bool, minutes: float = 30.0, node: PrivateNode | None = None
) -> Tally:
    """Steady load with periodic faults; no loss, and no growth of memory, fds or threads.

    Its broker restarts happen on ``node`` or on a private node of its own.
    """
    duration = 120.0 if short else minutes * 60
    rate = 10.0
    run = Run(workdir, node=node, restarts=True, emulator_args=("--latency", "0.02"))
    try:
        run.start_daemons(2)
        observed = run.fleet.alive()[0]
        publisher = run.publish(int(duration * rate), rate)
        time.sleep(10)
        start = _resources(run, observed.pid)
        faults = [
            ("broker restart", run.broker.restart_app),
            ("daemon killed", lambda: _replace_victim(run, observed, kill=True)),
            ("catalogue faults", lambda: _catalogue_burst(run)),
            ("graceful restart", lambda: _replace_victim(run, observed, kill=False)),
        ]
        injected: list[str] = []
        rss_series = [round(start[0], 1)]  # one sample a period: growth must level off
        period = 25.0 if short else 90.0
        index = 0
        while publisher.is_alive():
            publisher.join(period)
            rss_series.append(round(rss_mb(observed.pid), 1))
            if publisher.is_alive():
                name, inject = faults[index % len(faults)]
                inject()
                injected.append(name)
                index += 1
        run.collector.wait_for(publisher.sent, 120)
        time.sleep(3)
        end = _resources(run, observed.pid)
        tally = run.finish(
            publisher,
            load=f"{rate:g}/s for {duration / 60:g} min, 2 daemons",
            faults=", ".join(injected),
            observed_rss_mb=[round(start[0], 1), round(end[0], 1)],
            observed_rss_series_mb=rss_series,
            observed_other_fds=[start[1], end[1]],
            observed_threads=[start[2], end[2]],
            observed_catalogue_connections=[start[3], end[3]],
        )
        pool = Settings().ALEPH_DAEMON_WORKERS
        if end[0] - start[0] > 25 or end[1] - start[1] > 5 or end[2] - start[2] > 5:
            tally["broken"] = "the observed daemon grew (memory, file descriptors or threads)"
        elif end[3] > pool:
            tally["broken"] = f"{end[3]} connections to the catalogue, more than the pool's {pool}"
        return tally
    finally:
        run.close()


def _resources(run: Run, pid: int) -> tuple[float, int, int, int]:
    """RSS MB, descriptors other than catalogue connections, threads, catalogue connections.

    Keep-alive connections to the catalogue grow with peak concurrency up to the pool
    size; counted apart, so that any other descriptor that leaks shows.
    """
    catalogue = connections_to(pid, run.emulator.port)
    return rss_mb(pid), fd_count(pid) - catalogue, thread_count(pid), catalogue


def _replace_victim(run: Run, observed: subprocess.Popen[bytes], *, kill: bool) -> None:
    """Stop (or kill) every daemon but the observed one and start a new one in its place."""
    for process in run.fleet.alive():
        if process is not observed:
            if kill:
                process.kill()
                process.wait()
            else:
                run.fleet.stop(process)
    run.start_daemons(1)


def _catalogue_burst(run: Run) -> None:
    run.emulator.set_faults(malformed_rate=0.3, drop_rate=0.2)
    time.sleep(8)
    run.emulator.clear_faults()


SCENARIOS: dict[str, Callable[[Path, bool], Tally]] = {
    "broker-restart": broker_restart,
    "broker-stop": broker_stop,
    "undecodable-headers": undecodable_headers,
    "undecodable-quorum": undecodable_quorum,
    "bad-reply-copy": bad_reply_copy,
    "daemon-killed": daemon_killed,
    "graceful-stop": graceful_stop,
    "catalogue-faults": catalogue_faults,
    "hostile-input": hostile_input,
    "poison-message": poison_message,
    "hostile-catalogue": hostile_catalogue,
    "secrets-and-access": secrets_and_access,
    "soak": soak,
    # Two daemons on a three-node cluster with quorum queues (bench/cluster_faults.py).
    **CLUSTER_SCENARIOS,
    # The same, each node and daemon a host of its own, partitioned (bench/partition_faults.py).
    **PARTITION_SCENARIOS,
    # Hostile senders and a catalogue's bad days, on a private node (bench/hostile_scenarios.py).
    **HOSTILE_SCENARIOS,
}


#: Scenarios that restart the broker or cut it off: there a request can be answered by two
#: daemons (answer confirmed, then the broker went down before it saw the request's ack).
BROKER_RESTARTS = frozenset(
    {"broker-restart", "broker-stop", "soak", *CLUSTER_SCENARIOS, *PARTITION_SCENARIOS}
)


def failed(name: str, tally: Tally) -> bool:
    """Lost requests, answers given twice by one daemon, broken expectations; and outside
    broker restarts any duplicate at all."""
    duplicates_allowed = name in BROKER_RESTARTS
    return bool(
        tally.get("lost")
        or tally.get("duplicated_by_one_daemon")
        or (tally.get("duplicated") and not duplicates_allowed)
        or tally.get("broken")
    )


def _run_one(
    name: str,
    arguments: argparse.Namespace,
    cluster: PrivateCluster | None,
    dc: DataCentre | None = None,
) -> Tally:
    with tempfile.TemporaryDirectory(prefix=f"edeposit-{name}-") as tmp:
        if name == "soak":
            return soak(Path(tmp), arguments.short, arguments.soak_minutes)
        if cluster is not None:
            return SCENARIOS[name](Path(tmp), arguments.short, cluster=cluster)
        if dc is not None:
            return PARTITION_SCENARIOS[name](Path(tmp), arguments.short, dc)
        return SCENARIOS[name](Path(tmp), arguments.short)


def _repeated(name: str, arguments: argparse.Namespace) -> Tally:
    """``name`` run ``--repeat`` times in a row (a cluster scenario on one fresh private
    cluster, a partition scenario in one data centre); one line a run, then the sums."""
    runs: list[Tally] = []
    with contextlib.ExitStack() as stack:
        cluster = dc = None
        if name in CLUSTER_SCENARIOS:
            cluster = stack.enter_context(PrivateCluster(3, net_ticktime=NET_TICKTIME))
        if name in PARTITION_SCENARIOS:
            dc = stack.enter_context(centre_for(None))
        for index in range(1, arguments.repeat + 1):
            tally = _run_one(name, arguments, cluster, dc)
            runs.append(tally)
            print(f"   run {index}: " + json.dumps(tally, ensure_ascii=False), flush=True)
    keys = ("sent", "answered", "lost", "duplicated", "duplicated_by_one_daemon")
    total = Tally({key: sum(int(run.get(key, 0)) for run in runs) for key in keys})
    total["runs"] = len(runs)
    total["runs_failed"] = sum(1 for run in runs if failed(name, run))
    broken = [run["broken"] for run in runs if "broken" in run]
    if broken:
        total["broken"] = "; ".join(broken)
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the test suite's short versions")
    parser.add_argument("--only", nargs="+", choices=sorted(SCENARIOS), help="these scenarios")
    parser.add_argument("--soak-minutes", type=float, default=30.0, help="soak length (30)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run each scenario this many times in a row (1)"
    )
    arguments = parser.parse_args(argv)
    if arguments.repeat < 1:
        parser.error("--repeat must be at least 1")
    settings_module.reload()
    results: dict[str, Tally] = {}
    for name in arguments.only or list(SCENARIOS):
        print(f"== {name}", flush=True)
        if arguments.repeat > 1:
            tally = _repeated(name, arguments)
        else:
            tally = _run_one(name, arguments, None)
        results[name] = tally
        print("   " + json.dumps(tally, ensure_ascii=False), flush=True)
    print("\nscenario            sent  answered  lost  dup  peak RSS MB  notes")
    for name, tally in results.items():
        notes = {
            k: v
            for k, v in tally.items()
            if k not in ("sent", "answered", "lost", "duplicated", "peak_rss_mb", "errors")
        }
        print(
            f"{name:18} {tally['sent']:5d} {tally['answered']:9d} {tally['lost']:5d} "
            f"{tally['duplicated']:4d} {tally.get('peak_rss_mb', 0):12} "
            f"{json.dumps(notes, ensure_ascii=False)}"
        )
    return 1 if any(failed(name, tally) for name, tally in results.items()) else 0


if __name__ == "__main__":
    sys.exit(main())
