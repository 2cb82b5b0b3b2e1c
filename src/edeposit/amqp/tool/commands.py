"""``amqp_tool``: build the broker topology and put/get debug messages.

::

    amqp_tool --create             exchanges, queues and bindings (idempotent)
    amqp_tool --put request.json   publish a request with a fresh UUID ('-' reads stdin)
    amqp_tool --get --timeout 5    print and ack what waits in the answer queue
    amqp_tool --list               the configured hosts: broker nodes, vhost, queues
    amqp_tool --asyncapi           the message contract, an AsyncAPI 3.0 JSON document
    amqp_tool --migrate-to-quorum  classic queues (empty, unused) become quorum queues

Broker problems end with one line naming the host, the vhost and the fix. Exit codes
(:class:`Exit`): 1 when the broker cannot be reached or a message not published, 2 for wrong
usage or an unreadable ``--put`` file, 78 when retrying cannot help until an operator changes
something: bad settings, a refused login, a missing vhost, a queue declared differently (as
``alephdaemon`` and ``aleph``).
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pika
import pika.exceptions

from edeposit.amqp import __version__
from edeposit.amqp import settings as settings_module
from edeposit.amqp.config import Settings
from edeposit.amqp.errors import ConfigError, FatalBrokerError, ToolError
from edeposit.amqp.runtime.console import (
    EXIT_BROKEN_PIPE,
    CommandParser,
    quiet_broken_pipe,
    seconds_or_zero,
)
from edeposit.amqp.runtime.diagnosis import describe_open_error, is_refusal
from edeposit.amqp.runtime.parameters import (
    describe_broker,
    describe_node,
    name_program,
    node_parameters,
)
from edeposit.amqp.runtime.topology import aleph_topology
from edeposit.amqp.tool.asyncapi import asyncapi_document
from edeposit.amqp.tool.migration import migrate_to_quorum

__all__ = [
    "Exit",
    "asyncapi",
    "build_parser",
    "create",
    "get",
    "list_hosts",
    "main",
    "migrate",
    "put",
]

#: The host names ``--host`` accepts: this project serves one, the Aleph vhost.
HOSTS = ("aleph",)


class Exit(enum.IntEnum):
    """Exit codes of ``amqp_tool``."""

    OK = 0
    #: The broker could not be reached, or a message not published or read.
    BROKER = 1
    USAGE = 2
    #: Bad settings, a refused login, a missing vhost, a queue declared differently.
    CONFIG = 78
    #: The reader of the output went away (``amqp_tool --get | head``).
    BROKEN_PIPE = EXIT_BROKEN_PIPE


EPILOG = """exit codes:
  0    done
  1    the broker could not be reached, or a message not published or read
  2    wrong usage, or an unreadable --put file
  78   configuration: bad settings, a refused login, a missing vhost, a queue declared
       differently (retrying cannot help until it is changed)
  141  the output was closed early (| head)
"""


def _connect(settings: Settings) -> pika.BlockingConnection:
    """A connection to one of the broker nodes (tried from a random one on)."""
    parameters = node_parameters(settings, quick=True)
    try:
        return pika.BlockingConnection(parameters)
    except (pika.exceptions.AMQPError, OSError) as error:
        if is_refusal(error):
            raise FatalBrokerError(describe_open_error(parameters, error)) from error
        raise ToolError(describe_open_error(parameters, error)) from error


def create(settings: Settings) -> None:
    """Declare the Aleph topology, printing one line per declaration."""
    connection = _connect(settings)
    try:
        aleph_topology(settings).declare(connection.channel(), report=print)
    except pika.exceptions.ChannelClosedByBroker as error:
        raise FatalBrokerError(
            f"the broker at {describe_broker(settings)} refused a declaration: "
            f"{error.reply_text}; an existing exchange or queue was declared differently "
            "(see docs/operations.md for the migration)"
        ) from error
    finally:
        if connection.is_open:
            connection.close()


def migrate(settings: Settings) -> None:
    """Make the classic queues quorum queues (see :mod:`~edeposit.amqp.tool.migration`)."""
    connection = _connect(settings)
    try:
        migrate_to_quorum(settings, connection)
    except pika.exceptions.ChannelClosedByBroker as error:
        raise FatalBrokerError(
            f"the broker at {describe_broker(settings)} refused a declaration: {error.reply_text}"
        ) from error
    finally:
        if connection.is_open:
            connection.close()


def put(settings: Settings, body: bytes, *, routing_key: str | None = None) -> str:
    """Publish ``body`` as a request with a fresh UUID (persistent, confirmed); the UUID."""
    request_uuid = str(uuid.uuid4())
    exchange = settings.RABBITMQ_ALEPH_EXCHANGE
    key = routing_key or settings.RABBITMQ_ALEPH_DAEMON_KEY
    connection = _connect(settings)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            exchange,
            key,
            body,
            pika.BasicProperties(
                content_type="application/json", delivery_mode=2, headers={"UUID": request_uuid}
            ),
            mandatory=True,
        )
    except pika.exceptions.UnroutableError as error:
        raise ToolError(
            f"no queue is bound to {exchange}['{key}'] at {describe_broker(settings)}; "
            "run `amqp_tool --create` first"
        ) from error
    except pika.exceptions.ChannelClosedByBroker as error:
        raise ToolError(
            f"cannot publish to exchange {exchange!r} at {describe_broker(settings)}: "
            f"{error.reply_text}; run `amqp_tool --create` first"
        ) from error
    finally:
        if connection.is_open:
            connection.close()
    print(f"Published {len(body)} bytes to {exchange}['{key}'] with UUID {request_uuid}")
    return request_uuid


def get(settings: Settings, *, timeout: float = 0.0, limit: int | None = None) -> int:
    """Print and ack the messages waiting in the answer queue; how many there were.

    Waits up to ``timeout`` seconds for the first message when the queue is empty.
    """
    queue = settings.RABBITMQ_ALEPH_PLONE_QUEUE
    connection = _connect(settings)
    count = 0
    try:
        channel = connection.channel()
        deadline = time.monotonic() + timeout
        while limit is None or count < limit:
            method, properties, body = channel.basic_get(queue)
            if method is None:
                if count or time.monotonic() >= deadline:
                    break
                connection.sleep(0.1)
                continue
            count += 1
            print(_format_message(count, method, properties, body))
            channel.basic_ack(method.delivery_tag)
    except pika.exceptions.ChannelClosedByBroker as error:
        raise ToolError(
            f"cannot read queue {queue!r} at {describe_broker(settings)}: {error.reply_text}; "
            "run `amqp_tool --create` first"
        ) from error
    finally:
        if connection.is_open:
            connection.close()
    if not count:
        print(f"No message in queue '{queue}'.")
    return count


def _format_message(number: int, method: Any, properties: Any, body: bytes) -> str:
    lines = [
        f"Message {number}:",
        f"  exchange: {method.exchange!r}, routing key: {method.routing_key!r}",
        f"  content type: {properties.content_type}",
    ]
    for name, value in (properties.headers or {}).items():
        shown = value if name != "traceback" else "\n    " + str(value).replace("\n", "\n    ")
        lines.append(f"  header {name}: {shown}")
    text = body.decode("utf-8", "replace")
    if properties.content_type == "application/json":
        with contextlib.suppress(ValueError):  # shown as it came when not JSON after all
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    lines.append("  body:")
    lines.extend(f"    {line}" for line in text.splitlines() or [""])
    return "\n".join(lines)


def list_hosts(settings: Settings) -> None:
    """Print the configured hosts, where each one points, and its exchange and queues;
    then the broker nodes, one a line."""
    for host in HOSTS:
        print(
            f"{host}: {describe_broker(settings)} exchange '{settings.RABBITMQ_ALEPH_EXCHANGE}',"
            f" queues '{settings.RABBITMQ_ALEPH_DAEMON_QUEUE}' (requests, "
            f"{settings.RABBITMQ_ALEPH_QUEUE_TYPE}) and "
            f"'{settings.RABBITMQ_ALEPH_PLONE_QUEUE}' (answers)"
        )
    print("Broker nodes:")
    for host, port in settings.broker_nodes():
        print(f"\t{describe_node(host, port)}")


def asyncapi(settings: Settings) -> None:
    """Print the message contract (docs/messages.md) as an AsyncAPI 3.0 JSON document."""
    print(json.dumps(asyncapi_document(settings), indent=2, ensure_ascii=False))


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="amqp_tool",
        description="Build the RabbitMQ topology of the Aleph services and put/get debug "
        "messages. Settings come from /etc/edeposit/amqp.json, ~/edeposit/amqp.json, "
        "$EDEPOSIT_AMQP_CONFIG and environment variables.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    actions = parser.add_mutually_exclusive_group(required=True)
    actions.add_argument("--create", action="store_true", help="declare exchanges and queues")
    actions.add_argument("--put", metavar="FILE", help="publish FILE ('-': stdin) as a request")
    actions.add_argument("--get", action="store_true", help="print and ack waiting answers")
    actions.add_argument("-l", "--list", action="store_true", help="list the configured hosts")
    actions.add_argument(
        "--migrate-to-quorum",
        action="store_true",
        help="replace the classic queues by quorum queues (each must be empty and unused: "
        "stop daemons and clients first; see docs/operations.md)",
    )
    actions.add_argument(
        "--asyncapi",
        action="store_true",
        help="print the message contract as an AsyncAPI 3.0 JSON document (no broker needed)",
    )
    parser.add_argument("--host", default=HOSTS[0], choices=HOSTS, help="which host to use")
    parser.add_argument(
        "--timeout", type=seconds_or_zero, default=0.0, help="--get: seconds to wait for an answer"
    )
    parser.add_argument("--count", type=int, default=None, help="--get: at most this many")
    parser.add_argument("--key", default=None, help="--put: routing key (default: request)")
    parser.add_argument(
        "--quorum",
        action="store_true",
        help="--create: make the request queue a quorum queue with a delivery limit and a "
        "dead-letter queue (RABBITMQ_ALEPH_QUEUE_TYPE=quorum does the same)",
    )
    parser.add_argument(
        "--delivery-limit", type=int, default=None, help="--create --quorum: deliveries allowed"
    )
    return parser


def _perform(arguments: argparse.Namespace, body: bytes | None) -> None:
    """Carry out the action the command line asks for (``body``: what ``--put`` publishes)."""
    settings = settings_module.get()
    if arguments.quorum:
        settings = settings.replace(RABBITMQ_ALEPH_QUEUE_TYPE="quorum")
    if arguments.delivery_limit is not None:
        settings = settings.replace(RABBITMQ_ALEPH_DELIVERY_LIMIT=arguments.delivery_limit)
    if arguments.list:
        list_hosts(settings)
    elif arguments.asyncapi:
        asyncapi(settings)
    elif arguments.create:
        create(settings)
    elif arguments.migrate_to_quorum:
        migrate(settings)
    elif body is not None:
        put(settings, body, routing_key=arguments.key)
    else:
        get(settings, timeout=arguments.timeout, limit=arguments.count)


def _read_put_file(parser: argparse.ArgumentParser, source: str) -> bytes:
    """The bytes ``--put`` publishes; an unreadable file is wrong usage (exit 2), told at once."""
    if source == "-":
        return sys.stdin.buffer.read()
    if not source:
        parser.error("argument --put: expected a file name, or '-' for standard input")
    try:
        return Path(source).read_bytes()
    except OSError as error:
        parser.error(f"argument --put: cannot read {source}: {error.strerror or error}")


@quiet_broken_pipe
def main(argv: list[str] | None = None) -> int:
    """The ``amqp_tool`` command; returns the exit code (:class:`Exit`)."""
    name_program("amqp_tool")
    parser = build_parser()
    arguments = parser.parse_args(argv)
    body = _read_put_file(parser, arguments.put) if arguments.put is not None else None
    try:
        _perform(arguments, body)
    except BrokenPipeError:
        raise  # the reader went away: quiet_broken_pipe ends quietly
    except (ConfigError, FatalBrokerError) as error:
        print(f"amqp_tool: {error}", file=sys.stderr)
        return Exit.CONFIG
    except (ToolError, OSError) as error:
        print(f"amqp_tool: {error}", file=sys.stderr)
        return Exit.BROKER
    return Exit.OK
