"""Short versions of the partition scenarios of ``bench/partition_faults.py``.

One small data centre (``bench/datacentre.py``) is built for this module: three
RabbitMQ nodes clustered with ``pause_minority``, two daemon hosts, a client host and the
catalogue's host, each a network namespace on a bridge of its own addresses. Each test
partitions the network silently (links leave the bridge, hosts move to a second one),
heals it, and counts every answer by UUID: none lost, none given twice by one daemon;
twice across daemons is at-least-once delivery (docs/operations.md) and bounded. Each
also checks that its fault did what it claims (a node paused, the fleet stalled, a
daemon slowed), so that a fault that silently did nothing fails.

Namespaces need root: elsewhere the module is skipped, saying so (CI runs as root).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench import cluster_faults, netns, partition_faults
from bench.datacentre import DataCentre
from bench.partition_faults import HEARTBEAT
from bench.traffic import Tally

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def datacentre() -> Iterator[DataCentre]:
    """The module's data centre, torn down after its last test, whatever happened."""
    reason = netns.unavailable()
    if reason is not None:
        pytest.skip(f"partition tests build hosts as network namespaces: {reason}")
    with DataCentre(net_ticktime=partition_faults.NET_TICKTIME) as centre:
        yield centre


#: Requests a daemon of these scenarios holds at once (its workers and prefetch).
IN_HAND = int(cluster_faults.DAEMON_ENV["ALEPH_DAEMON_WORKERS"])


def _check(tally: Tally, faults: int = 1) -> None:
    print(tally)  # the figures, shown with -s or on failure
    assert tally["sent"] > 0
    assert tally["lost"] == 0, tally
    assert tally["answered"] == tally["sent"], tally
    assert tally["duplicated_by_one_daemon"] == 0, tally
    # A second answer (at-least-once, docs/operations.md) can only come for a request a
    # daemon held when the fault struck: at most its prefetch, for each fault.
    assert tally["duplicated"] <= IN_HAND * faults, tally
    assert tally["errors"] == {}, tally
    assert math.isfinite(tally["whole_s"]), "both daemons consume again after the heal"


@pytest.mark.timeout(120)
def test_a_daemon_host_cut_off_from_every_node(tmp_path: Path, datacentre: DataCentre) -> None:
    tally = partition_faults.host_cut(tmp_path, short=True, dc=datacentre)
    _check(tally)
    # The other daemon went on serving; the requests the broker had handed the cut daemon
    # waited until the broker gave up on its connection (missed heartbeats), then were
    # answered by the other one.
    assert tally["gap_s"] < HEARTBEAT, tally
    assert tally["longest_wait_s"] > HEARTBEAT, tally
    assert float(tally["observed"]["reconnects_after_heal"]) >= 1, "it connected anew"


@pytest.mark.timeout(150)
def test_the_leaders_node_isolated_with_a_daemon(tmp_path: Path, datacentre: DataCentre) -> None:
    tally = partition_faults.leader_isolated(tmp_path, short=True, dc=datacentre)
    _check(tally)
    assert tally["minority_paused_after_s"] is not None, "pause_minority paused the node"
    assert tally["new_leader"] not in (None, tally["leader_was"]), tally
    assert tally["victim_not_serving_s"] > 0, "the daemon on the minority stopped"
    # The majority went on (a new leader) well before the split healed.
    assert tally["gap_s"] < tally["held_s"], tally


@pytest.mark.timeout(120)
def test_a_flapping_link_to_the_leaders_node(tmp_path: Path, datacentre: DataCentre) -> None:
    tally = partition_faults.link_flapping(tmp_path, short=True, dc=datacentre)
    _check(tally, faults=2)
    assert tally["cluster"]["restarted"] == [], "cuts shorter than net_ticktime pause nothing"


@pytest.mark.timeout(120)
def test_a_slow_network_to_one_daemon_host(tmp_path: Path, datacentre: DataCentre) -> None:
    tally = partition_faults.slow_network(tmp_path, short=True, dc=datacentre)
    _check(tally, faults=0)
    waits = tally["slow_median_wait_s"]
    # 200 ms each way: a delivery and its answer cross the relay, 0.4 s at least.
    assert waits["slow"] >= 0.4, tally
    assert waits["fast"] < 0.2, "the other daemon stays fast"
    assert tally["slow_catalogue_call_mean_s"] < 0.1, "the catalogue's calls stay fast"
    assert tally["slow_share"] > 0, "the slow daemon still serves"
    assert tally["not_serving_s"] == {}, "heartbeats survive a slow link"


@pytest.mark.timeout(150)
def test_a_split_between_client_and_daemons(tmp_path: Path, datacentre: DataCentre) -> None:
    tally = partition_faults.client_split(tmp_path, short=True, dc=datacentre)
    _check(tally)
    assert tally["minority_paused_after_s"] is not None, "the daemons' node paused"
    assert tally["accepted_during_split"] > 0, "the majority accepted requests meanwhile"
    assert tally["answered_during_split"] == 0, "nobody could answer them during the split"
