"""The private-node harness of ``bench/brokers.py``: nodes to break at will, clusters.

The single-node tests share the session's private node and leave it running; the
cluster test starts three nodes of its own (about half a minute).
"""

from __future__ import annotations

import json
import uuid

import pika
import pika.exceptions
import pytest
from bench import brokers
from bench.brokers import PrivateCluster, PrivateNode
from pika.adapters.utils.connection_workflow import AMQPConnectorException


def connect(node: PrivateNode, vhost: str = "/") -> pika.BlockingConnection:
    """One attempt, short timeouts: a node that does not answer fails fast."""
    return pika.BlockingConnection(
        pika.ConnectionParameters(
            host="127.0.0.1",
            port=node.port,
            virtual_host=vhost,
            credentials=pika.PlainCredentials("guest", "guest"),
            connection_attempts=1,
            socket_timeout=2,
            stack_timeout=5,
        )
    )


def test_the_machines_broker_is_never_addressed() -> None:
    with pytest.raises(ValueError, match="not a private node"):
        brokers.rabbitmqctl("rabbit@localhost", "status")


def test_a_private_node_accepts_connections(private_node: PrivateNode) -> None:
    assert private_node.name.startswith("edeposit-")
    assert private_node.port != 5672
    assert private_node.env() == {
        "RABBITMQ_HOST": "127.0.0.1",
        "RABBITMQ_PORT": str(private_node.port),
    }
    connection = connect(private_node)
    channel = connection.channel()
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.basic_publish("", queue, b"hello")
    method, _, body = channel.basic_get(queue, auto_ack=True)
    assert method is not None and body == b"hello"
    connection.close()


def test_an_app_restart_drops_connections_and_the_node_comes_back(
    private_node: PrivateNode,
) -> None:
    connection = connect(private_node)
    private_node.stop_app()
    try:
        with pytest.raises(pika.exceptions.AMQPConnectionError):
            connection.process_data_events(time_limit=10)  # the broker's close arrives
    finally:
        private_node.start_app()
    connect(private_node).close()


def test_a_paused_node_answers_nothing_until_resumed(private_node: PrivateNode) -> None:
    private_node.pause()
    try:
        with pytest.raises(AMQPConnectorException):  # no AMQP handshake within 5 s
            connect(private_node)
    finally:
        private_node.resume()
    connect(private_node).close()


def test_a_stopped_node_starts_again_with_its_data(private_node: PrivateNode) -> None:
    vhost = private_node.add_vhost(f"harness-{uuid.uuid4().hex[:8]}")
    connection = connect(private_node, vhost)
    channel = connection.channel()
    channel.confirm_delivery()
    channel.queue_declare("kept", durable=True)
    channel.basic_publish("", "kept", b"persistent", pika.BasicProperties(delivery_mode=2))
    connection.close()

    private_node.stop()
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        connect(private_node, vhost)
    private_node.start()

    connection = connect(private_node, vhost)
    method, _, body = connection.channel().basic_get("kept", auto_ack=True)
    connection.close()
    private_node.rabbitmqctl("delete_vhost", vhost)
    assert method is not None and body == b"persistent"


@pytest.mark.timeout(300)
def test_a_three_node_cluster_forms() -> None:
    with PrivateCluster(3) as cluster:
        status = json.loads(cluster.node(2).rabbitmqctl("cluster_status", "--formatter", "json"))
        assert sorted(status["running_nodes"]) == sorted(node.name for node in cluster.nodes)
        handling = cluster.node(1).rabbitmqctl(
            "eval", "application:get_env(rabbit, cluster_partition_handling)."
        )
        assert handling.strip() == "{ok,pause_minority}"
        assert cluster.env() == {
            "RABBITMQ_HOST": "127.0.0.1",
            "RABBITMQ_PORT": str(cluster.ports[0]),
            "RABBITMQ_NODES": ",".join(f"127.0.0.1:{port}" for port in cluster.ports),
        }
        for node in cluster.nodes:
            connect(node).close()
