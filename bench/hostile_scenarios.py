"""Hostile senders and a catalogue's bad days: none may take the fleet down.

Each scenario runs daemons (subprocesses) on a private RabbitMQ node, never the
machine's broker, sends valid requests alongside the hostile traffic and counts their
answers per UUID (lost, twice, twice by one daemon):

* ``frame-poison``: requests whose error answers would echo a 200,000-character class or
  field name — answers bounded to fit one frame; no connection closed by the broker;
* ``reply-to-own-queue``: ``reply_to`` naming the service's own queues — refused, counted,
  the answers go to the result queue only (nothing comes back as a request);
* ``breaker-recovery``: the catalogue drops every call, then shows a maintenance page
  (``200``, ``<!DOCTYPE html>``) while it comes back, then heals — served again within
  one reset period;
* ``overload``: five times the catalogue's budget offered — the catalogue kept busy at its
  budget, no "catalogue unavailable", the excess waiting in the broker;
* ``given-up``: requests whose handler raises, or that hang past the settle timeout twice
  — each answered once with a final error, nothing left unsettled;
* ``io-crash``: an exception thrown into a daemon's I/O loop — it exits with a failure
  code (so systemd restarts it) and its request is answered by the other daemon;
* ``forged-revived``: a poison request carrying a forged ``x-edeposit-revived`` header —
  it still gets its second round before it is answered as poison.

``bench/faults.py --only NAME`` runs the full versions; the suite runs the short ones.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.brokers import PrivateNode
from bench.fleet import Broker, DaemonFleet, EmulatorProcess, queue_settings
from bench.traffic import Collector, Publisher, Tally
from edeposit.amqp import aleph
from edeposit.amqp.serializers import serialize

__all__ = ["HOSTILE_SCENARIOS", "HostileRun"]

HERE = Path(__file__).resolve().parent
DAEMON_ENV = {
    "ALEPH_RATE_LIMIT": "0",
    "ALEPH_TIMEOUT": "2",
    "ALEPH_RETRIES": "1",
    "ALEPH_RETRY_BACKOFF": "0.05",
    "ALEPH_DAEMON_WORKERS": "8",
    "ALEPH_DAEMON_SHUTDOWN_TIMEOUT": "10",
    "ALEPH_DAEMON_RECONNECT_MAX_DELAY": "2",
}
#: A name as long as a body under the 1 MiB limit allows many times over.
LONG_NAME = "N" * 200_000


def count_request() -> bytes:
    return serialize(aleph.CountRequest(aleph.ISBNQuery("80-251-0225-4"))).encode()


def search_request(title: str = "") -> bytes:
    query = aleph.TitleQuery(title) if title else aleph.ISBNQuery("80-251-0225-4")
    return serialize(aleph.SearchRequest(query)).encode()


class HostileRun:
    """One scenario's broker vhost (on a private node), emulator, daemons and load."""

    def __init__(
        self,
        workdir: Path,
        node: PrivateNode | None,
        *,
        emulator_args: tuple[str, ...] = (),
        **env: str,
    ) -> None:
        self.broker = Broker(queue_settings(env), node=node, restarts=True)
        self.emulator = EmulatorProcess(*emulator_args)
        self.workdir = workdir
        self.fleet = DaemonFleet(
            workdir, {**self.broker.env(), **self.emulator.env(), **DAEMON_ENV, **env}
        )
        self.collector = Collector(self.broker.settings)
        self.collector.start()
        self.queue = self.broker.settings.RABBITMQ_ALEPH_DAEMON_QUEUE

    def start_daemons(self, count: int, script: str | None = None, **env: str) -> None:
        expected = len(self.fleet.alive()) + count
        if script is None:
            self.fleet.start(count, **env)
        else:
            for _ in range(count):
                index = len(self.fleet.processes)
                with (self.workdir / f"daemon-{index}.log").open("wb") as log:
                    self.fleet.processes.append(
                        subprocess.Popen(
                            [sys.executable, str(HERE / script)],
                            env={
                                **self.fleet.env,
                                "ALEPH_DAEMON_PIDFILE": str(self.workdir / f"daemon-{index}.pid"),
                                **env,
                            },
                            stdout=log,
                            stderr=subprocess.STDOUT,
                        )
                    )
        if self.broker.wait_consumers(self.queue, expected, 30) is None:
            raise RuntimeError("daemons did not start consuming:\n" + self.logs()[-3000:])

    def publish(
        self, total: int, rate: float, make: Callable[[int], tuple[Any, ...]] | None = None
    ) -> Publisher:
        publisher = Publisher(
            self.broker.settings, make or (lambda _i: (count_request(), {})), total, rate
        )
        publisher.start()
        return publisher

    def logs(self) -> str:
        return "".join(self.fleet.log(index) for index in range(len(self.fleet.processes)))

    def emulator_calls(self) -> int:
        with urllib.request.urlopen(self.emulator.url + "/_emulator/stats", timeout=10) as reply:
            return int(json.loads(reply.read())["request_count"])

    def tally(self, sent: list[str], **extra: Any) -> Tally:
        """Counts for ``sent``, with what the daemons' logs say about their connections."""
        time.sleep(0.5)  # a late duplicate would show up now
        logs = self.logs()
        return Tally.of(
            sent,
            self.collector,
            connections_lost=logs.count("connection closed"),
            frame_errors=logs.count("FRAME_ERROR"),
            longest_log_line=max((len(line) for line in logs.splitlines()), default=0),
            left_in_queue=self.broker.queue_state(self.queue)[0],
            **extra,
        )

    def close(self) -> None:
        self.fleet.close()
        self.collector.stop()
        self.emulator.close()
        self.broker.close()


@contextmanager
def hostile_run(workdir: Path, node: PrivateNode | None, **kwargs: Any) -> Iterator[HostileRun]:
    run = HostileRun(workdir, node, **kwargs)
    try:
        yield run
    finally:
        run.close()


def _valid_alongside(run: HostileRun, total: int, rate: float) -> Publisher:
    return run.publish(total, rate, lambda _i: (count_request(), {"UUID": str(uuid.uuid4())}))


def _broken_unless(tally: Tally, condition: bool, why: str) -> Tally:
    if not condition:
        tally["broken"] = why
    return tally


def frame_poison(workdir: Path, short: bool, node: PrivateNode | None = None) -> Tally:
    """Error answers that would echo huge names fit one frame; the fleet keeps serving."""
    hostile, valid = (3, 200) if short else (10, 2000)
    bodies = [
        json.dumps({"__nt_name": LONG_NAME}).encode(),
        json.dumps(
            {"query": {"__nt_name": "ISBNQuery", LONG_NAME: 1}, "__nt_name": "CountRequest"}
        ).encode(),
    ]
    with hostile_run(workdir, node) as run:
        run.start_daemons(2)
        poison = run.publish(2 * hostile, 0, lambda i: (bodies[i % 2], {"UUID": f"poison-{i}"}))
        normal = _valid_alongside(run, valid, 50.0)
        poison.join()
        normal.join()
        sent = [*poison.sent, *normal.sent]
        run.collector.wait_for(sent, 120)
        tally = run.tally(
            sent,
            load=f"{2 * hostile} requests naming a 200,000-character class or field, "
            f"{valid} valid ones at 50/s, 2 daemons",
        )
        clean = not (tally["connections_lost"] or tally["frame_errors"] or tally["left_in_queue"])
        return _broken_unless(tally, clean, "a connection was closed or a request left behind")


def reply_to_own_queue(workdir: Path, short: bool, node: PrivateNode | None = None) -> Tally:
    """``reply_to`` naming the service's own queues is refused; answered once, to plone."""
    hostile, valid = (20, 200) if short else (200, 2000)
    targets = ("daemon", "plone", "daemon.dead")
    with hostile_run(workdir, node) as run:
        run.start_daemons(2)
        bad = run.publish(
            hostile,
            0,
            lambda i: (count_request(), {"UUID": f"own-{i}"}, {"reply_to": targets[i % 3]}),
        )
        normal = _valid_alongside(run, valid, 50.0)
        bad.join()
        normal.join()
        sent = [*bad.sent, *normal.sent]
        run.collector.wait_for(sent, 120)
        tally = run.tally(sent, load=f"{hostile} with reply_to {targets}, {valid} valid at 50/s")
        refusals = run.logs().count("reply_to '")
        tally["refusals_logged"] = refusals
        return _broken_unless(
            tally,
            not tally["duplicated"] and 1 <= refusals <= len(targets) * 2,
            "a request was answered twice, or refusals not logged once per sender",
        )


def breaker_recovery(workdir: Path, short: bool, node: PrivateNode | None = None) -> Tally:
    """Down, then a maintenance page while coming back, then healed: served again within
    one reset period (ALEPH_CIRCUIT_RESET)."""
    reset = 2.0 if short else 10.0
    phase = 8.0 if short else 30.0
    with hostile_run(
        workdir, node, ALEPH_CIRCUIT_FAILURES="3", ALEPH_CIRCUIT_RESET=str(reset)
    ) as run:
        run.start_daemons(2)
        run.emulator.set_faults(drop_rate=1.0)
        down = _valid_alongside(run, int(phase * 5), 5.0)
        down.join()
        run.emulator.set_faults(maintenance_rate=1.0)
        maintenance = _valid_alongside(run, int(phase * 5), 5.0)
        maintenance.join()
        run.collector.wait_for([*down.sent, *maintenance.sent], 60)
        run.emulator.clear_faults()
        healed = time.monotonic()
        after = _valid_alongside(run, int(phase * 5), 5.0)
        after.join()
        sent = [*down.sent, *maintenance.sent, *after.sent]
        run.collector.wait_for(sent, 120)
        late = [  # answered after the catalogue healed plus one reset period (+ margin)
            key for index, key in enumerate(after.sent) if index / 5.0 > reset + 1.0
        ]
        unavailable_late = sum(
            1 for key in late if "AlephUnavailableError" in run.collector.answers[key]
        )
        tally = run.tally(
            sent,
            load=f"5/s: {phase:g} s dropped, {phase:g} s maintenance page, {phase:g} s healed",
            unavailable_after_reset=unavailable_late,
            served_after_heal_s=round(time.monotonic() - healed, 1),
        )
        return _broken_unless(
            tally,
            unavailable_late == 0 and all(not run.collector.answers[k][0] for k in late),
            "a request after the catalogue healed (plus one reset period) was not served",
        )


def overload(workdir: Path, short: bool, node: PrivateNode | None = None) -> Tally:
    """Five times the catalogue's budget offered: the budget kept busy, nothing failed as
    'catalogue unavailable', the excess left waiting in the broker."""
    budget, deadline = 2.0, 5.0
    seconds = 20.0 if short else 60.0
    with hostile_run(
        workdir,
        node,
        ALEPH_RATE_LIMIT=str(budget),
        ALEPH_DAEMON_WORKERS="32",
        ALEPH_REQUEST_DEADLINE=str(deadline),
    ) as run:
        run.start_daemons(1)
        time.sleep(1.5)  # the daemon sets its prefetch to what its budget serves in time
        calls_before = run.emulator_calls()
        offered = _valid_alongside(run, int(seconds * budget * 5), budget * 5)
        started = time.monotonic()
        offered.join()
        elapsed = time.monotonic() - started
        calls = run.emulator_calls() - calls_before
        answers = [run.collector.answers.get(key, []) for key in offered.sent]
        outcomes: dict[str, int] = {}
        for names in answers:
            for name in names:
                outcomes[name or "result"] = outcomes.get(name or "result", 0) + 1
        busy = calls / (elapsed * budget)
        tally = Tally(
            sent=len(offered.sent),
            offered_per_s=budget * 5,
            budget_calls_per_s=budget,
            catalogue_calls=calls,
            catalogue_busy=round(busy, 3),
            outcomes=outcomes,
            waiting_in_broker=run.broker.queue_state(run.queue)[0],
            lost=0,
            duplicated=0,
            duplicated_by_one_daemon=0,
            answered=sum(1 for names in answers if names),
        )
        return _broken_unless(
            tally,
            busy >= 0.9 and not outcomes.get("AlephUnavailableError"),
            "the catalogue was not kept busy at its budget, or answered unavailable",
        )


def given_up(workdir: Path, short: bool, node: PrivateNode | None = None) -> Tally:
    """Requests whose handler raises or that hang past the settle timeout twice are each
    answered once with a final SetAsideError; valid ones alongside answered too."""
    # A hanging handler holds its worker thread for ever (each hanging request holds two:
    # it is released, requeued, delivered again): fewer than the fleet's 16 workers hang.
    raising, hanging, valid = (2, 2, 100) if short else (10, 3, 1000)
    markers = ["RAISE"] * raising + ["HANG"] * hanging
    with hostile_run(workdir, node, ALEPH_DAEMON_SETTLE_TIMEOUT="2") as run:
        run.start_daemons(2, script="faulty_daemon.py")
        bad = run.publish(
            len(markers),
            0,
            lambda i: (search_request(markers[i]), {"UUID": f"given-up-{i}"}),
        )
        normal = _valid_alongside(run, valid, 20.0)
        bad.join()
        normal.join()
        sent = [*bad.sent, *normal.sent]
        run.collector.wait_for(sent, 120)
        tally = run.tally(sent, load=f"{raising} raising, {hanging} hanging, {valid} valid")
        finals = [run.collector.answers.get(key, []) for key in bad.sent]
        tally["final_answers"] = sorted({name for names in finals for name in names})
        return _broken_unless(
            tally,
            tally["final_answers"] == ["SetAsideError"] and not tally["left_in_queue"],
            "a request given up on was not answered with SetAsideError, or left unsettled",
        )


def io_crash(workdir: Path, short: bool, node: PrivateNode | None = None) -> Tally:
    """An exception in one daemon's I/O loop ends it with exit code 1; its request is
    redelivered to the other daemon and answered once."""
    valid = 100 if short else 1000
    with hostile_run(workdir, node) as run:
        run.start_daemons(1, script="faulty_daemon.py")
        victim = run.fleet.processes[-1]
        bomb = run.publish(1, 0, lambda _i: (search_request("IOCRASH"), {"UUID": "io-crash"}))
        bomb.join()
        try:
            exit_code = victim.wait(30)
        except subprocess.TimeoutExpired:
            exit_code = None
        run.start_daemons(1)  # a healthy daemon (as systemd's restart would bring)
        normal = _valid_alongside(run, valid, 50.0)
        normal.join()
        sent = [*bomb.sent, *normal.sent]
        run.collector.wait_for(sent, 120)
        tally = run.tally(sent, load=f"1 request that crashes a daemon's I/O loop, {valid} valid")
        tally["crashed_exit_code"] = exit_code
        said_why = "I/O thread failed" in run.fleet.log(0)
        return _broken_unless(
            tally, exit_code == 1 and said_why, "the daemon did not fail loudly with exit code 1"
        )


def forged_revived(workdir: Path, short: bool, node: PrivateNode | None = None) -> Tally:
    """A poison request with a sender's ``x-edeposit-revived`` still gets two rounds of
    the delivery limit before its PoisonMessageError."""
    limit = 2
    with hostile_run(
        workdir,
        node,
        RABBITMQ_ALEPH_QUEUE_TYPE="quorum",
        RABBITMQ_ALEPH_DELIVERY_LIMIT=str(limit),
    ) as run:
        poison = search_request("CRASH")
        headers = {"UUID": "forged", "x-edeposit-revived": 1}
        run.publish(1, 0, lambda _i: (poison, dict(headers))).join()
        deaths = 0
        while "forged" not in run.collector.answers and deaths <= 3 * (limit + 1):
            crasher = subprocess.Popen(
                [sys.executable, str(HERE / "crashing_daemon.py")],
                env={**run.fleet.env, "ALEPH_DAEMON_PIDFILE": str(workdir / "crash.pid")},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                crasher.wait(20)
            except subprocess.TimeoutExpired:
                crasher.terminate()
                crasher.wait()
                break
            deaths += 1
        run.start_daemons(1)
        run.collector.wait_for(["forged"], 60)
        tally = run.tally(["forged"], load="1 poison request with a forged revived header")
        tally["daemon_deaths"] = deaths
        tally["answer"] = run.collector.answers.get("forged", [])
        # A round is limit + 1 deliveries (the one over the limit dead-letters it); a
        # trusted forged header would have answered after the first round.
        return _broken_unless(
            tally,
            tally["answer"] == ["PoisonMessageError"] and deaths >= 2 * (limit + 1),
            "the forged header skipped the second round, or no poison answer",
        )


HOSTILE_SCENARIOS: dict[str, Callable[..., Tally]] = {
    "frame-poison": frame_poison,
    "reply-to-own-queue": reply_to_own_queue,
    "breaker-recovery": breaker_recovery,
    "overload": overload,
    "given-up": given_up,
    "io-crash": io_crash,
    "forged-revived": forged_revived,
}
