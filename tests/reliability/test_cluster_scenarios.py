"""Short versions of the cluster scenarios of ``bench/cluster_faults.py``, and the
migration to quorum queues of docs/operations.md, end to end on the cluster.

Two daemons given the three nodes of one private cluster (shared by these tests, booted
once) answer every request exactly once while nodes stop, return, or freeze one at a
time; quorum queues keep requests and answers through each loss. Duplicates across
daemons are at-least-once delivery (an answer committed just as its node went) and
bounded; a daemon never answers one request twice.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from bench import cluster_faults
from bench.brokers import PrivateCluster
from bench.fleet import Broker, DaemonFleet, EmulatorProcess
from bench.traffic import Tally

from edeposit.amqp import aleph, settings
from edeposit.amqp.serializers import serialize

pytestmark = pytest.mark.cluster


@pytest.fixture(autouse=True)
def _defaults() -> None:
    settings.reload()


#: Requests a daemon of these scenarios holds at once (its workers and prefetch).
IN_HAND = int(cluster_faults.DAEMON_ENV["ALEPH_DAEMON_WORKERS"])


def _check(tally: Tally, faults: int) -> None:
    print(tally)  # the figures, shown with -s or on failure
    assert tally["sent"] > 0
    assert tally["lost"] == 0, tally
    assert tally["answered"] == tally["sent"], tally
    assert tally["duplicated_by_one_daemon"] == 0, tally
    # A second answer (at-least-once, docs/operations.md) can only come for a request a
    # daemon held when the fault struck: at most its prefetch, for each fault.
    assert tally["duplicated"] <= IN_HAND * faults, tally
    assert "broken" not in tally, tally["broken"]
    assert len(tally["consuming_s"]) == faults, tally
    assert all(math.isfinite(seconds) for seconds in tally["consuming_s"]), tally
    assert all(math.isfinite(seconds) for seconds in tally["failover_s"]), tally


@pytest.mark.timeout(240)
def test_a_daemon_fails_over_when_its_node_stops(
    tmp_path: Path, private_cluster: PrivateCluster
) -> None:
    tally = cluster_faults.node_failover(tmp_path, short=True, cluster=private_cluster)
    _check(tally, faults=1)
    assert tally["failover_s"], "daemon 0 used the stopped node"
    assert max(tally["failover_s"]) < 10, "another node within seconds"
    # Its status and its metrics name the node it moved to, not the stopped one.
    assert tally["moved_to"] not in (None, tally["stopped_node"])
    assert tally["observed"] == {"status": tally["moved_to"], "metrics": tally["moved_to"]}


@pytest.mark.timeout(300)
def test_a_rolling_restart_of_every_node(tmp_path: Path, private_cluster: PrivateCluster) -> None:
    tally = cluster_faults.rolling_restart(tmp_path, short=True, cluster=private_cluster)
    _check(tally, faults=3)
    assert len(tally["failover_s"]) >= 2, "each daemon's node went once"


@pytest.mark.timeout(240)
def test_the_quorum_leaders_node_stops(tmp_path: Path, private_cluster: PrivateCluster) -> None:
    tally = cluster_faults.leader_stop(tmp_path, short=True, cluster=private_cluster)
    _check(tally, faults=1)
    assert tally["new_leader"] != tally["leader_was"]
    assert tally["failover_s"], "the daemon on the leader's node moved to another"


@pytest.mark.timeout(240)
def test_a_frozen_node_is_left_once_heartbeats_stop(
    tmp_path: Path, private_cluster: PrivateCluster
) -> None:
    tally = cluster_faults.node_paused(tmp_path, short=True, cluster=private_cluster)
    _check(tally, faults=1)
    assert tally["failover_s"], "a daemon used the frozen node"
    # pika gives up on a silent broker within twice (heartbeat + 5 s), heartbeat 2 s here.
    assert max(tally["failover_s"]) < 2 * (2 + 5) + 3


def _tool(
    env: dict[str, str], *arguments: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edeposit.amqp.amqp_tool", *arguments],
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.timeout(240)
def test_the_migration_to_quorum_queues_end_to_end(
    tmp_path: Path, private_cluster: PrivateCluster
) -> None:
    broker = Broker(settings.get(), cluster=private_cluster)  # the classic topology
    env = broker.env()
    emulator = EmulatorProcess()
    fleet = DaemonFleet(tmp_path, {**env, **emulator.env(), "RABBITMQ_ALEPH_QUEUE_TYPE": "quorum"})
    request = serialize(aleph.CountRequest(aleph.ISBNQuery("80-251-0225-4")))
    try:
        assert _tool(env, "--put", "-", stdin=request).returncode == 0
        refused = _tool(env, "--migrate-to-quorum")
        assert refused.returncode == 1
        assert "queue 'daemon'" in refused.stderr and "not empty" in refused.stderr
        connection = broker.connect()  # the waiting request is taken
        assert connection.channel().basic_get("daemon", auto_ack=True)[0] is not None
        connection.close()

        migrated = _tool(env, "--migrate-to-quorum")
        assert migrated.returncode == 0, migrated.stderr
        assert "Replaced queue 'daemon' (classic) by a quorum queue." in migrated.stdout
        assert "Replaced queue 'plone' (classic) by a quorum queue." in migrated.stdout
        assert "Queue 'daemon.dead' does not exist yet." in migrated.stdout
        assert "\tRouting exchange search['request'] -> 'daemon'." in migrated.stdout
        rows = private_cluster.node(1).rabbitmqctl(
            "list_queues", "-p", broker.vhost, "name", "type", "--formatter", "json"
        )  # the tests before mended the cluster whole (PrivateCluster.wait_whole)
        types = {row["name"]: row["type"] for row in json.loads(rows)}
        assert types == {"daemon": "quorum", "plone": "quorum", "daemon.dead": "quorum"}
        again = _tool(env, "--migrate-to-quorum")
        assert again.returncode == 0 and again.stdout.count("a quorum queue already") == 3

        # A daemon of the quorum settings answers through the migrated queues.
        fleet.start(1)
        assert broker.wait_consumers("daemon", 1, 60) is not None, fleet.log(0)[-2000:]
        put = _tool(env, "--put", "-", stdin=request)
        request_uuid = put.stdout.rsplit(" ", 1)[-1].strip()
        answer = _tool(env, "--get", "--timeout", "30")
        assert f"header UUID: {request_uuid}" in answer.stdout, answer.stdout + answer.stderr
        assert "CountResult" in answer.stdout
    finally:
        fleet.close()
        emulator.close()
        broker.close()
