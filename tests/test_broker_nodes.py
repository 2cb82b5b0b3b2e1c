"""The broker nodes a service is given: their parameters, and the order a connection
tries them in after a failure (no broker needed: these are the decisions, the cluster
tests in tests/reliability show them at work)."""

from __future__ import annotations

import collections
import os
import socket

import pika

from edeposit.amqp.config import Settings, load_settings
from edeposit.amqp.runtime.backoff import Backoff
from edeposit.amqp.runtime.nodes import NEXT_NODE_PAUSE, Nodes
from edeposit.amqp.runtime.parameters import describe_broker, node_parameters, where

CLUSTER = {"RABBITMQ_NODES": "mq1:5672,mq2:5673,[::1]:5674"}


def addresses(parameters: list[pika.ConnectionParameters]) -> list[tuple[str, int]]:
    return [(p.host, p.port) for p in parameters]


def test_every_node_from_a_given_one_round_the_list() -> None:
    cfg = load_settings(CLUSTER, files=[])
    assert addresses(node_parameters(cfg, start=1)) == [("mq2", 5673), ("::1", 5674), ("mq1", 5672)]
    assert [where(p) for p in node_parameters(cfg, start=0)] == [
        "amqp://mq1:5672/aleph",
        "amqp://mq2:5673/aleph",
        "amqp://[::1]:5674/aleph",
    ]
    assert describe_broker(cfg) == "amqp://guest@mq1:5672,mq2:5673,[::1]:5674/aleph"


def test_a_fleet_starts_at_random_nodes() -> None:
    cfg = load_settings(CLUSTER, files=[])
    firsts = collections.Counter(node_parameters(cfg)[0].host for _ in range(300))
    assert set(firsts) == {"mq1", "mq2", "::1"}
    assert min(firsts.values()) > 50


def test_services_that_lose_the_same_node_move_to_different_nodes() -> None:
    cfg = load_settings(CLUSTER, files=[])
    orders = [addresses(node_parameters(cfg)) for _ in range(300)]
    assert all(sorted(order) == sorted(orders[0]) for order in orders)  # every node, once
    seconds = collections.Counter(order[1][0] for order in orders if order[0][0] == "mq1")
    assert set(seconds) == {"mq2", "::1"}


def test_without_nodes_the_host_and_port_are_the_one_node() -> None:
    cfg = load_settings({"RABBITMQ_HOST": "mq.example", "RABBITMQ_PORT": "5999"}, files=[])
    assert addresses(node_parameters(cfg)) == [("mq.example", 5999)]


def test_tls_checks_each_nodes_own_name() -> None:
    cfg = load_settings({**CLUSTER, "RABBITMQ_USE_TLS": "true"}, files=[])
    parameters = node_parameters(cfg, start=0)
    assert [p.ssl_options.server_hostname for p in parameters] == ["mq1", "mq2", "::1"]
    assert where(parameters[0]) == "amqps://mq1:5672/aleph"


def test_a_lost_node_is_followed_by_the_next_one_at_once_then_backoff() -> None:
    cfg = load_settings(CLUSTER, files=[])
    nodes = Nodes(node_parameters(cfg, start=0), Backoff(0.25, 3.0))
    assert nodes.current.host == "mq1"
    first, second = nodes.failed(), nodes.failed()  # mq1 lost, mq2 refused
    assert nodes.current.host == "::1"
    assert all(NEXT_NODE_PAUSE[0] <= pause <= NEXT_NODE_PAUSE[1] for pause in (first, second))
    pauses = [nodes.failed() for _ in range(7)]  # every node failed: exponential backoff
    assert nodes.current.host == "mq1"
    assert pauses[0] <= 0.5 and pauses[-1] >= 1.5
    nodes.connected()  # a node works again: the next loss moves on quickly
    assert nodes.failed() <= NEXT_NODE_PAUSE[1]


def test_one_node_backs_off_from_the_first_failure() -> None:
    cfg = load_settings({}, files=[])
    nodes = Nodes(node_parameters(cfg)[0], Backoff(1.0, 30.0))
    assert [nodes.failed() >= 1.0 for _ in range(3)] == [True, True, True]
    assert nodes.current.port == 5672


def test_a_connection_is_named_after_its_process() -> None:
    """``command@host:pid`` (here the test runner's name); a name made in another process
    of the same command (before a daemon detached) is renamed for the one connecting."""
    [parameters] = node_parameters(Settings())
    name = parameters.client_properties["connection_name"]
    owner, _, pid = name.rpartition(":")
    assert pid == str(os.getpid()) and owner.endswith(f"@{socket.gethostname()}")
    before_the_fork = pika.ConnectionParameters(client_properties={"connection_name": f"{owner}:1"})
    assert Nodes(before_the_fork, Backoff(1.0, 30.0)).current.client_properties == {
        "connection_name": name
    }
    assert before_the_fork.client_properties == {"connection_name": f"{owner}:1"}, "a copy"
    chosen = pika.ConnectionParameters(client_properties={"connection_name": "billing@mq"})
    assert Nodes(chosen, Backoff(1.0, 30.0)).current is chosen, "a name of one's own stays"
