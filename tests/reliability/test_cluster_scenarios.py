"""Short versions of the cluster scenarios of ``bench/cluster_faults.py``.

Two daemons given the three nodes of one private cluster (shared by these tests, booted
once) answer every request exactly once while nodes stop, return, or freeze one at a
time; quorum queues keep requests and answers through each loss. Duplicates across
daemons are at-least-once delivery (an answer committed just as its node went) and
bounded; a daemon never answers one request twice.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from bench import cluster_faults
from bench.brokers import PrivateCluster
from bench.traffic import Tally

from edeposit.amqp import settings


@pytest.fixture(autouse=True)
def _defaults() -> None:
    settings.reload()


def _check(tally: Tally, faults: int) -> None:
    print(tally)  # the figures, shown with -s or on failure
    assert tally["sent"] > 0
    assert tally["lost"] == 0, tally
    assert tally["answered"] == tally["sent"], tally
    assert tally["duplicated_by_one_daemon"] == 0, tally
    assert tally["duplicated"] <= 2 * faults, tally
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


@pytest.mark.timeout(240)
def test_a_frozen_node_is_left_once_heartbeats_stop(
    tmp_path: Path, private_cluster: PrivateCluster
) -> None:
    tally = cluster_faults.node_paused(tmp_path, short=True, cluster=private_cluster)
    _check(tally, faults=1)
    assert tally["failover_s"], "a daemon used the frozen node"
    # pika gives up on a silent broker within twice (heartbeat + 5 s), heartbeat 2 s here.
    assert max(tally["failover_s"]) < 2 * (2 + 5) + 3
