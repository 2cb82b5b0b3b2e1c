"""``AlephClient`` on a cluster: a call in flight when a node stops is still answered.

With quorum queues the client's answer queue is a quorum queue too: an answer the
daemon routes while the client's node is down (or that the node held when it stopped)
waits on the other nodes until the client, connected to one of them again, takes it.
(The transient classic queue a client declares with classic queues is lost with its
node, and so are such answers: run against it, the first test saw 3 of its 60 calls
time out.) The cluster is the
private one of ``test_cluster_scenarios`` (booted once); each test starts the node it
stopped again (the whole node for the client's, the RabbitMQ application for the
daemon's: quicker, and every connection to it drops all the same).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.brokers import PrivateCluster, PrivateNode
from bench.cluster_faults import ClusterRun

from edeposit.amqp import aleph
from edeposit.amqp.client import AlephClient, PendingCall
from tests.waiting import wait_for

RAYMOND = aleph.ISBNQuery("80-251-0225-4")
#: Calls in flight at once, answered at ``ANSWERS_PER_SECOND`` (the daemon's rate limit):
#: a stream of answers that goes on while the client's node stops.
CALLS = 60
ANSWERS_PER_SECOND = 10


@pytest.fixture
def run(tmp_path: Path, private_cluster: PrivateCluster) -> Iterator[ClusterRun]:
    """One daemon on the cluster, answering at a steady pace; the nodes mended after."""
    cluster_run = ClusterRun(
        tmp_path, private_cluster, ALEPH_RATE_LIMIT=str(ANSWERS_PER_SECOND), ALEPH_TIMEOUT="30"
    )
    try:
        cluster_run.start_daemons(1)
        yield cluster_run
    finally:
        cluster_run.close()


def node_of(cluster: PrivateCluster, client: AlephClient) -> PrivateNode | None:
    """The node the client is connected to, None while it is not."""
    if not client.connection.is_ready:
        return None
    port = int(client.connection.node.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    return next((node for node in cluster.nodes if node.port == port), None)


def client_away_from(run: ClusterRun, daemon_node: PrivateNode) -> AlephClient:
    """A client connected to another node than the daemon's (clients pick nodes at random)."""
    for _ in range(20):
        client = AlephClient(run.broker.settings, timeout=30)
        if node_of(run.cluster, client) not in (daemon_node, None):
            return client
        client.close()
    raise RuntimeError("no client would connect to a node other than the daemon's")


def outcome(call: PendingCall) -> int | str:
    """The count a call returned, or the name of the error it raised."""
    try:
        return int(call.result().num_of_records)
    except Exception as error:  # noqa: BLE001 - shown in the comparison
        return type(error).__name__


def queue_types(node: PrivateNode, vhost: str) -> dict[str, str]:
    rows = json.loads(
        node.rabbitmqctl("list_queues", "-p", vhost, "name", "type", "--formatter", "json")
    )
    return {row["name"]: row["type"] for row in rows}


@pytest.mark.timeout(240)
def test_calls_in_flight_are_answered_when_the_clients_node_stops(run: ClusterRun) -> None:
    daemon_node = run.node_of(0)
    assert daemon_node is not None
    with client_away_from(run, daemon_node) as client:
        victim = node_of(run.cluster, client)
        assert victim is not None
        assert queue_types(victim, run.broker.vhost)[client.reply_queue] == "quorum"
        calls = [client.submit(aleph.CountRequest(RAYMOND)) for _ in range(CALLS)]
        assert wait_for(lambda: sum(call.done() for call in calls) >= ANSWERS_PER_SECOND, 30)
        in_flight = [call for call in calls if not call.done()]
        victim.stop()  # answers go on coming while it stops and after
        # Each call gets its answer: none timed out (30 s) for an answer lost with the node.
        assert [outcome(call) for call in calls] == [1] * CALLS
        assert len(in_flight) >= CALLS // 2, "the node stopped after most calls were answered"
        now_on = node_of(run.cluster, client)
        assert now_on is not None and now_on is not victim
    # close() removes the quorum queue while one of its nodes is down.
    assert client.reply_queue not in queue_types(now_on, run.broker.vhost)


@pytest.mark.timeout(240)
def test_a_call_in_flight_is_answered_when_the_daemons_node_stops(run: ClusterRun) -> None:
    daemon_node = run.node_of(0)
    assert daemon_node is not None
    with client_away_from(run, daemon_node) as client:
        run.emulator.set_faults(latency=3.0)  # the catalogue answers after the node stopped
        call = client.submit(aleph.CountRequest(RAYMOND))
        received = f"UUID '{call.uuid}' CountRequest: received"
        assert wait_for(lambda: received in run.fleet.log(0), 30), run.fleet.log(0)[-2000:]
        daemon_node.stop_app()  # its RabbitMQ stops, every connection to it drops
        try:
            # The request, unacked on the lost connection, comes back to the daemon on
            # another node, which publishes the answer it computed meanwhile (its ledger).
            assert call.result().num_of_records == 1
            assert wait_for(lambda: run.node_of(0) not in (daemon_node, None), 30)
        finally:
            daemon_node.start_app()
        lines = [line for line in run.fleet.log(0).splitlines() if call.uuid in line]
        assert sum(": answered" in line for line in lines) == 1, lines
