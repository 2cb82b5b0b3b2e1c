"""``amqp_tool`` against the real broker, run as users run it (a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys

import pika
import pika.exceptions
import pytest

from edeposit.amqp import settings
from edeposit.amqp.runtime.parameters import connection_parameters
from tests.services.support import Peer

EXPECTED_CREATE = """\
Creating exchanges:
\tCreated exchange 'search' of type 'topic'.
\tCreated exchange 'count' of type 'topic'.
\tCreated exchange 'export' of type 'topic'.
\tCreated exchange 'validate' of type 'topic'.
Creating queues:
\tCreated durable queue 'daemon'.
\tCreated durable queue 'plone'.
Routing exchanges using routing key to queues:
\tRouting exchange search['request'] -> 'daemon'.
\tRouting exchange search['result'] -> 'plone'.
\tRouting exchange count['request'] -> 'daemon'.
\tRouting exchange count['result'] -> 'plone'.
\tRouting exchange export['request'] -> 'daemon'.
\tRouting exchange export['result'] -> 'plone'.
\tRouting exchange validate['request'] -> 'daemon'.
\tRouting exchange validate['result'] -> 'plone'.
\tRouting exchange search['exception'] -> 'plone'.
"""


def amqp_tool(*arguments: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edeposit.amqp.amqp_tool", *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        check=False,
    )


def test_create_builds_the_topology_and_is_idempotent(
    broker_env: dict[str, str], peer: Peer
) -> None:
    for queue in ("daemon", "plone"):
        peer.channel.queue_delete(queue)
    for _ in range(2):
        completed = amqp_tool("--create")
        assert completed.returncode == 0, completed.stderr
        assert completed.stdout == EXPECTED_CREATE
    channel = peer.channel
    for exchange in ("search", "count", "export", "validate"):
        # Real clients redeclare exactly so; a different declaration would be refused.
        channel.exchange_declare(exchange, exchange_type="topic", durable=True, auto_delete=False)
    for queue in ("daemon", "plone"):
        channel.queue_declare(queue, durable=True)
    peer.publish(b"{}", {"UUID": "x"}, exchange="validate", routing_key="request")
    peer.publish(b"{}", {"UUID": "y"}, exchange="search", routing_key="exception")
    assert peer.receive(1, queue="daemon")
    assert peer.receive(1, queue="plone")


def test_put_then_get_round_trip(broker_env: dict[str, str], peer: Peer) -> None:
    body = (
        '{"query": {"ISBN": "80-251-0225-4", "__nt_name": "ISBNQuery"},'
        ' "__nt_name": "CountRequest"}'
    )
    completed = amqp_tool("--put", "-", stdin=body)
    assert completed.returncode == 0, completed.stderr
    request_uuid = completed.stdout.strip().rsplit(" ", 1)[-1]
    [(_, properties, received)] = peer.receive(1, queue="daemon")
    assert received == body.encode()
    assert properties.headers == {"UUID": request_uuid}
    assert properties.delivery_mode == 2

    peer.publish(
        b'{"num_of_records": 1, "__nt_name": "CountResult"}',
        {"UUID": request_uuid},
        routing_key="result",
    )
    completed = amqp_tool("--get", "--timeout", "5")
    assert completed.returncode == 0, completed.stderr
    assert f"header UUID: {request_uuid}" in completed.stdout
    assert '"num_of_records": 1' in completed.stdout
    assert peer.queue_size("plone") == 0, "--get acks what it printed"
    assert "No message" in amqp_tool("--get").stdout


def test_list_shows_the_configured_host_without_the_password(broker_env: dict[str, str]) -> None:
    completed = amqp_tool("--list", RABBITMQ_USER_PASSWORD="s3cret-value")
    assert completed.returncode == 0
    assert broker_env["RABBITMQ_ALEPH_VIRTUALHOST"] in completed.stdout
    assert "s3cret-value" not in completed.stdout + completed.stderr


def test_list_shows_every_broker_node(broker_env: dict[str, str]) -> None:
    completed = amqp_tool("--list", RABBITMQ_NODES="mq1.example:5672,[::1]:5673")
    assert completed.returncode == 0, completed.stderr
    assert "amqp://guest@mq1.example:5672,[::1]:5673/" in completed.stdout
    assert completed.stdout.endswith("Broker nodes:\n\tmq1.example:5672\n\t[::1]:5673\n")


def test_a_malformed_broker_node_is_a_one_line_error(broker_env: dict[str, str]) -> None:
    completed = amqp_tool("--create", RABBITMQ_NODES="127.0.0.1:5672,mq2")
    assert completed.returncode == 78  # settings: as alephdaemon and aleph
    assert completed.stderr == (
        "amqp_tool: environment: setting RABBITMQ_NODES holds 'mq2', not a node: "
        "expected host:port\n"
    )


def test_create_goes_to_a_node_that_answers(broker_env: dict[str, str]) -> None:
    # Two unreachable nodes and the session's broker: whichever it starts at, it gets there.
    nodes = "127.0.0.1:1,127.0.0.1:5672,127.0.0.1:2"
    for _ in range(3):
        completed = amqp_tool("--create", RABBITMQ_NODES=nodes)
        assert completed.returncode == 0, completed.stderr
    unreachable = amqp_tool("--create", RABBITMQ_NODES="127.0.0.1:1,127.0.0.1:2")
    assert unreachable.returncode == 1
    assert "cannot reach RabbitMQ at amqp://127.0.0.1:" in unreachable.stderr
    assert "are they running and is RABBITMQ_NODES right?" in unreachable.stderr


@pytest.mark.parametrize(
    ("env", "expected", "code"),
    [
        (
            {"RABBITMQ_ALEPH_VIRTUALHOST": "no-such-vhost"},
            "rabbitmqctl add_vhost no-such-vhost",
            78,
        ),
        ({"RABBITMQ_USER_PASSWORD": "wrong-secret"}, "RABBITMQ_USER_PASSWORD", 78),
        ({"RABBITMQ_PORT": "x"}, "setting RABBITMQ_PORT must be int, not 'x'", 78),
        ({"RABBITMQ_PORT": "1"}, "cannot reach RabbitMQ at amqp://127.0.0.1:1/", 1),
    ],
    ids=["missing-vhost", "bad-password", "bad-settings", "unreachable"],
)
def test_broker_problems_are_one_line_errors(
    broker_env: dict[str, str], env: dict[str, str], expected: str, code: int
) -> None:
    """78 where retrying cannot help until something is changed (as alephdaemon and aleph
    exit), 1 where the broker is not there."""
    completed = amqp_tool("--create", **env)
    assert completed.returncode == code
    assert completed.stdout == ""
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert expected in lines[0]
    assert "wrong-secret" not in completed.stderr


def test_conflicting_queue_declaration_is_explained(broker_env: dict[str, str]) -> None:
    cfg = settings.get()
    connection = pika.BlockingConnection(connection_parameters(cfg))
    channel = connection.channel()
    channel.queue_delete("plone")
    channel.queue_declare("plone", durable=True, arguments={"x-max-length": 10})
    try:
        completed = amqp_tool("--create")
        assert completed.returncode == 78
        assert "PRECONDITION_FAILED" in completed.stderr
        assert "declared differently" in completed.stderr
    finally:
        channel.queue_delete("plone")
        connection.close()
