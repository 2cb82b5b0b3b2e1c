"""One catalogue budget for the fleet (ALEPH_FLEET_RATE_LIMIT): daemons on the real broker
split it by the request queue's consumers, and take up a dead daemon's share; the answer
cache counts its hits in the metrics.

The share is read from each daemon's ``edeposit_rate_limit_calls_per_second``; how close
the fleet's calls come to the budget is measured by ``bench/fleet_bench.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from edeposit.amqp import aleph
from edeposit.amqp.emulator import AlephEmulator
from edeposit.amqp.serializers import serialize
from tests.services.support import DaemonFactory, Peer
from tests.services.test_daemon_observability import free_port, get, sample
from tests.waiting import wait_for

PACE = "edeposit_rate_limit_calls_per_second"


def pace(port: int) -> float:
    try:
        return sample(get(f"http://127.0.0.1:{port}/metrics")[1], PACE)
    except OSError:
        return -1.0


def status(pid_file: Path) -> str:
    """What ``alephdaemon status`` prints of the daemon with ``pid_file``."""
    environment = {**os.environ, "ALEPH_DAEMON_PIDFILE": str(pid_file)}
    command = [sys.executable, "-m", "edeposit.amqp.alephdaemon", "status"]
    done = subprocess.run(command, check=False, env=environment, capture_output=True, text=True)
    return done.stdout


def settles_at(port: int, rate: float, timeout: float = 20.0) -> bool:
    return wait_for(lambda: pace(port) == pytest.approx(rate), timeout)


def test_daemons_split_the_budget_and_take_up_a_dead_daemons_share(
    start_daemon: DaemonFactory, tmp_path: Path
) -> None:
    fleet = {"ALEPH_FLEET_RATE_LIMIT": "10", "ALEPH_FLEET_SHARE_PERIOD": "0.5"}
    ports = [free_port(), free_port()]
    first = start_daemon(ALEPH_DAEMON_METRICS_PORT=str(ports[0]), **fleet)
    assert settles_at(ports[0], 10.0), pace(ports[0])  # alone: the whole budget
    start_daemon(ALEPH_DAEMON_METRICS_PORT=str(ports[1]), **fleet)
    assert settles_at(ports[0], 5.0), pace(ports[0])
    assert settles_at(ports[1], 5.0), pace(ports[1])
    assert wait_for(
        lambda: (
            "5 calls/s, this daemon's share of the fleet's 10 (2 consumers)"
            in status(tmp_path / "alephdaemon-0.pid")
        ),
        10,
    ), status(tmp_path / "alephdaemon-0.pid")

    first.send_signal(signal.SIGKILL)  # no goodbye: the broker drops its consumer
    first.wait()
    assert settles_at(ports[1], 10.0), pace(ports[1])

    # A daemon whose own limit is stricter than its share keeps its own limit.
    strict = free_port()
    start_daemon(ALEPH_DAEMON_METRICS_PORT=str(strict), ALEPH_RATE_LIMIT="2", **fleet)
    assert settles_at(ports[1], 5.0), pace(ports[1])
    assert settles_at(strict, 2.0), pace(strict)
    log = (tmp_path / "alephdaemon-1.log").read_text()
    assert "fleet share: 2 consumers" in log
    assert "fleet share: 1 consumers" in log


def test_without_a_budget_only_the_own_limit_paces(start_daemon: DaemonFactory) -> None:
    port = free_port()
    start_daemon(ALEPH_DAEMON_METRICS_PORT=str(port), ALEPH_RATE_LIMIT="7")
    assert settles_at(port, 7.0), pace(port)


def test_repeated_requests_are_answered_from_the_cache(
    start_daemon: DaemonFactory, peer: Peer, emulator: AlephEmulator
) -> None:
    port = free_port()
    start_daemon(ALEPH_DAEMON_METRICS_PORT=str(port), ALEPH_CACHE_TTL="60")
    request = serialize(aleph.CountRequest(aleph.ISBNQuery("80-251-0225-4")))
    calls = emulator.request_count
    for index in range(3):
        peer.publish(request, {"UUID": f"count-{index}"})
        assert len(peer.receive(1)) == 1
    assert emulator.request_count - calls == 1
    metrics = get(f"http://127.0.0.1:{port}/metrics")[1]
    assert sample(metrics, "edeposit_cache_hits_total", kind="count") == 2
    assert sample(metrics, "edeposit_cache_misses_total", kind="count") == 1
