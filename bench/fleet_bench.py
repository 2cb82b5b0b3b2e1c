"""Fleet benchmark: one catalogue budget for many daemons, scaling, and the CPU ceiling.

    .venv/bin/python bench/fleet_bench.py [--quick] [--part budget scaling cpu]

Everything runs on a private 3-node RabbitMQ cluster (``bench/brokers.py``,
``pause_minority``) with a **quorum** request queue, the emulator as a subprocess, and
``alephdaemon --foreground`` subprocesses spread round-robin over the nodes (each gets
``RABBITMQ_HOST``/``RABBITMQ_PORT`` of one node). The load is closed-loop: a fixed number
of ISBN searches outstanding (each one ``find`` and one ``present``: two catalogue calls).

* ``budget``: ``ALEPH_FLEET_RATE_LIMIT`` (60 calls/s), the emulator without latency and
  load far above the budget; 1, 2 and 4 daemons; then 3, a 4th joining, and one of the
  4 SIGKILLed mid-run. Catalogue calls/s are measured at the emulator over windows
  (after the shares settled, the join and the kill each followed by one window of a
  share period and a half, where the transient shows); target: within 5 % of the budget
  in every settled window.
* ``scaling``: 4 workers per daemon, 100 ms per catalogue call, no budget; 1, 2 and 4
  daemons: requests/s, latency p50/p99, catalogue calls/s, and the ratio to 1 daemon in
  the same run (targets: 1.8x at 2, 3.0x at 4); then 4 daemons under a budget of half
  their calls/s: the total sits at the budget.
* ``cpu``: 32 workers per daemon, 20 ms per call; 1, 2 and 3 daemons with enough load to
  keep every worker busy: where this machine's throughput stops growing, the daemons'
  CPU per request, and how busy the machine was.

Figures print as tables; ``--json PATH`` writes them too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run as a script: make `bench` importable
    sys.path.insert(0, str(HERE.parent))

from bench.brokers import PrivateCluster  # noqa: E402
from bench.fleet import Broker, DaemonFleet, EmulatorProcess  # noqa: E402
from bench.fleet_load import ClosedLoop, cpu_seconds, emulator_calls, system_cpu  # noqa: E402
from edeposit.amqp import aleph  # noqa: E402
from edeposit.amqp.config import Settings  # noqa: E402
from edeposit.amqp.serializers import serialize  # noqa: E402

SEARCH = serialize(aleph.SearchRequest(aleph.ISBNQuery("80-251-0225-4"))).encode()
BASE = Settings().replace(RABBITMQ_ALEPH_QUEUE_TYPE="quorum")
DAEMON_ENV = {
    "RABBITMQ_ALEPH_QUEUE_TYPE": "quorum",
    "ALEPH_RATE_LIMIT": "0",
    "ALEPH_TIMEOUT": "10",
    "ALEPH_DAEMON_SHUTDOWN_TIMEOUT": "10",
}
#: Seconds between two readings of the fleet's size in these runs.
SHARE_PERIOD = 2.0


@dataclass
class Setup:
    """One configuration's processes: vhost, emulator, daemons (spread over the nodes)."""

    broker: Broker
    emulator: EmulatorProcess
    fleet: DaemonFleet
    cluster: PrivateCluster

    def add_daemon(self, **env: str) -> None:
        index = len(self.fleet.processes)
        port = self.cluster.ports[index % len(self.cluster.ports)]
        self.fleet.start(1, RABBITMQ_HOST="127.0.0.1", RABBITMQ_PORT=str(port), **env)

    def wait_consumers(self, count: int) -> None:
        queue = self.broker.settings.RABBITMQ_ALEPH_DAEMON_QUEUE
        if self.broker.wait_consumers(queue, count, timeout=90) is None:
            raise SystemExit(f"{count} daemons did not consume:\n{self.fleet.log(0)[-3000:]}")

    def calls(self) -> int:
        return emulator_calls(self.emulator.url)

    def daemon_cpu(self) -> float:
        return sum(cpu_seconds(process.pid) for process in self.fleet.alive())

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far: daemons, broker nodes, the emulator, this load driver."""
        return {
            "daemon": self.daemon_cpu(),
            "broker": sum(cpu_seconds(node.pid) for node in self.cluster.nodes),
            "emulator": cpu_seconds(self.emulator.process.pid),
            "load": cpu_seconds(os.getpid()),
        }


@contextlib.contextmanager
def setup(
    cluster: PrivateCluster, workdir: Path, latency: float, daemons: int, **env: str
) -> Iterator[Setup]:
    broker = Broker(BASE, node=cluster.node(0))
    emulator = EmulatorProcess("--latency", str(latency))
    folder = Path(tempfile.mkdtemp(dir=workdir))
    fleet = DaemonFleet(folder, {**broker.env(), **emulator.env(), **DAEMON_ENV, **env})
    try:
        running = Setup(broker, emulator, fleet, cluster)
        for _ in range(daemons):
            running.add_daemon()
        running.wait_consumers(daemons)
        yield running
    finally:
        for process in fleet.alive():
            process.send_signal(signal.SIGKILL)  # measured already; no drain needed
        fleet.close()
        emulator.close()
        broker.close()


def call_rate(running: Setup, seconds: float) -> float:
    """Catalogue calls per second at the emulator over the next ``seconds``."""
    before, started = running.calls(), time.monotonic()
    time.sleep(seconds)
    return (running.calls() - before) / (time.monotonic() - started)


# --- (a) the budget ------------------------------------------------------------------


def budget_part(cluster: PrivateCluster, workdir: Path, quick: bool) -> dict[str, Any]:
    budget = 60.0
    window, windows = (4.0, 2) if quick else (5.0, 3)
    env = {"ALEPH_FLEET_RATE_LIMIT": str(budget), "ALEPH_FLEET_SHARE_PERIOD": str(SHARE_PERIOD)}
    rows = []
    for daemons in (1, 2, 4):
        with setup(cluster, workdir, 0.0, daemons, **env) as running:
            load = ClosedLoop(running.broker.settings, lambda _i: SEARCH, 150).start()
            time.sleep(SHARE_PERIOD + 2)  # every daemon read the fleet's size once
            rates = [call_rate(running, window) for _ in range(windows)]
            load.stop()
        rows.append(budget_row(f"{daemons} daemons", budget, rates))
    with setup(cluster, workdir, 0.0, 3, **env) as running:
        load = ClosedLoop(running.broker.settings, lambda _i: SEARCH, 150).start()
        time.sleep(SHARE_PERIOD + 2)
        three = [call_rate(running, window) for _ in range(windows)]
        running.add_daemon()
        running.wait_consumers(4)
        joining = call_rate(running, SHARE_PERIOD + 1.5)  # the others read the new size
        four = [call_rate(running, window) for _ in range(windows)]
        running.fleet.processes[0].send_signal(signal.SIGKILL)
        leaving = call_rate(running, SHARE_PERIOD + 1.5)  # survivors read the new size
        survivors = [call_rate(running, window) for _ in range(windows)]
        load.stop()
    rows.append(budget_row("3 daemons", budget, three))
    rows.append(budget_row("a 4th joins: the next 3.5 s", budget, [joining]))
    rows.append(budget_row("4 daemons, after the join", budget, four))
    rows.append(budget_row("one SIGKILLed: the next 3.5 s", budget, [leaving]))
    rows.append(budget_row("the 3 survivors, after rebalancing", budget, survivors))
    return {"budget": budget, "window_s": window, "rows": rows}


def budget_row(name: str, budget: float, rates: list[float]) -> dict[str, Any]:
    mean = sum(rates) / len(rates)
    return {
        "fleet": name,
        "windows": [round(rate, 1) for rate in rates],
        "calls_per_s": round(mean, 2),
        "error_pct": round(100 * (mean / budget - 1), 2),
    }


# --- (b) scaling ---------------------------------------------------------------------


def measure(running: Setup, load: ClosedLoop, seconds: float) -> dict[str, Any]:
    """Requests/s, latency, catalogue calls/s and CPU over the next ``seconds``."""
    calls, cpu, machine = running.calls(), running.cpu(), system_cpu()
    started = time.monotonic()
    time.sleep(seconds)
    ended = time.monotonic()
    calls = running.calls() - calls
    used = {key: value - cpu[key] for key, value in running.cpu().items()}
    busy = system_cpu()
    figures = load.summary(started, ended)
    answers = max(figures["answers"], 1)
    return {
        **{key: round(value, 1) for key, value in figures.items()},
        "calls_per_s": round(calls / (ended - started), 1),
        "daemon_cpu_ms_per_request": round(1000 * used["daemon"] / answers, 2),
        "broker_cpu_ms_per_request": round(1000 * used["broker"] / answers, 2),
        **{f"{key}_cores": round(value / (ended - started), 2) for key, value in used.items()},
        "machine_busy_pct": round(100 * (busy[0] - machine[0]) / (busy[1] - machine[1]), 1),
    }


def scaling_part(cluster: PrivateCluster, workdir: Path, quick: bool) -> dict[str, Any]:
    workers, latency = 4, 0.1
    seconds = 6.0 if quick else 12.0
    env = {"ALEPH_DAEMON_WORKERS": str(workers)}
    rows = []
    for daemons in (1, 2, 4):
        with setup(cluster, workdir, latency, daemons, **env) as running:
            load = ClosedLoop(running.broker.settings, lambda _i: SEARCH, 5 * daemons).start()
            time.sleep(2.0)
            rows.append({"daemons": daemons, **measure(running, load, seconds)})
            load.stop()
    one = rows[0]["rps"] or float("nan")
    for row in rows:
        row["ratio"] = round(row["rps"] / one, 2)
    budget = round(rows[-1]["calls_per_s"] / 2)
    budget_env = {
        **env,
        "ALEPH_FLEET_RATE_LIMIT": str(budget),
        "ALEPH_FLEET_SHARE_PERIOD": str(SHARE_PERIOD),
    }
    with setup(cluster, workdir, latency, 4, **budget_env) as running:
        load = ClosedLoop(running.broker.settings, lambda _i: SEARCH, 40).start()
        time.sleep(SHARE_PERIOD + 2)
        bound = {"daemons": 4, "budget": budget, **measure(running, load, seconds)}
        load.stop()
    bound["error_pct"] = round(100 * (bound["calls_per_s"] / budget - 1), 2)
    return {"workers": workers, "latency_s": latency, "rows": rows, "with_budget": bound}


# --- (c) the CPU ceiling -------------------------------------------------------------


def cpu_part(cluster: PrivateCluster, workdir: Path, quick: bool) -> dict[str, Any]:
    workers, latency = 32, 0.02
    seconds = 6.0 if quick else 12.0
    rows = []
    for daemons in (1, 2, 3):
        with setup(cluster, workdir, latency, daemons, ALEPH_DAEMON_WORKERS=str(workers)) as run:
            load = ClosedLoop(run.broker.settings, lambda _i: SEARCH, 2 * workers * daemons)
            load.start()
            time.sleep(2.0)
            rows.append({"daemons": daemons, **measure(run, load, seconds)})
            load.stop()
    one = rows[0]["rps"] or float("nan")
    for row in rows:
        row["ratio"] = round(row["rps"] / one, 2)
    return {"workers": workers, "latency_s": latency, "rows": rows}


# --- output --------------------------------------------------------------------------


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(str(row.get(column, "")) for column in columns) + " |")
    return "\n".join(lines)


def report(results: dict[str, Any]) -> None:
    if "budget" in results:
        part = results["budget"]
        print(f"\n(a) fleet budget {part['budget']:g} calls/s, windows of {part['window_s']:g} s")
        print(table(part["rows"], ["fleet", "windows", "calls_per_s", "error_pct"]))
    if "scaling" in results:
        part = results["scaling"]
        print(f"\n(b) scaling: {part['workers']} workers/daemon, {part['latency_s']:g} s a call")
        columns = ["daemons", "rps", "ratio", "p50_ms", "p99_ms", "calls_per_s"]
        print(table(part["rows"], [*columns, "daemon_cpu_ms_per_request", "failed"]))
        bound = part["with_budget"]
        print(
            f"4 daemons under a budget of {bound['budget']} calls/s: "
            f"{bound['calls_per_s']} calls/s ({bound['error_pct']:+.2f} %), {bound['rps']} req/s"
        )
    if "cpu" in results:
        part = results["cpu"]
        what = f"{part['workers']} workers/daemon, {part['latency_s']:g} s a call"
        print(f"\n(c) CPU ceiling: {what}")
        columns = ["daemons", "rps", "ratio", "p50_ms", "p99_ms", "daemon_cpu_ms_per_request"]
        print(table(part["rows"], [*columns, "broker_cpu_ms_per_request", "failed"]))
        cores = ["daemon_cores", "broker_cores", "emulator_cores", "load_cores"]
        print(table(part["rows"], ["daemons", *cores, "machine_busy_pct"]))


PARTS = {"budget": budget_part, "scaling": scaling_part, "cpu": cpu_part}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short windows")
    parser.add_argument("--part", nargs="+", choices=sorted(PARTS), default=list(PARTS))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as folder, PrivateCluster(3) as cluster:
        print(f"cluster of 3 nodes up in {time.monotonic() - began:.0f} s", flush=True)
        for name in args.part:
            started = time.monotonic()
            results[name] = PARTS[name](cluster, Path(folder), args.quick)
            print(f"{name}: {time.monotonic() - started:.0f} s", flush=True)
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
