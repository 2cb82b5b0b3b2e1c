"""Helpers for broker tests: a raw pika peer and the daemon subprocess's log."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pika
import pika.exceptions

from edeposit.amqp import settings
from edeposit.amqp.runtime.parameters import connection_parameters

DaemonFactory = Callable[..., subprocess.Popen[bytes]]


class Peer:
    """A raw pika client, as the original front-end used: publish, then read answers."""

    def __init__(self) -> None:
        self.settings = settings.get()
        self.connection = pika.BlockingConnection(connection_parameters(self.settings))
        self.channel = self.connection.channel()

    def publish(
        self,
        body: bytes | str,
        headers: dict[str, Any] | None = None,
        *,
        exchange: str | None = None,
        routing_key: str | None = None,
        **properties: Any,
    ) -> None:
        self.channel.basic_publish(
            exchange=self.settings.RABBITMQ_ALEPH_EXCHANGE if exchange is None else exchange,
            routing_key=routing_key or self.settings.RABBITMQ_ALEPH_DAEMON_KEY,
            body=body,
            properties=pika.BasicProperties(
                content_type="application/json", delivery_mode=2, headers=headers, **properties
            ),
        )

    def receive(
        self, count: int = 1, queue: str | None = None, timeout: float = 30.0
    ) -> list[tuple[Any, pika.BasicProperties, bytes]]:
        """``count`` messages from ``queue`` (default: the answer queue), acked."""
        queue = queue or self.settings.RABBITMQ_ALEPH_PLONE_QUEUE
        messages: list[tuple[Any, pika.BasicProperties, bytes]] = []
        deadline = time.monotonic() + timeout
        while len(messages) < count and time.monotonic() < deadline:
            method, properties, body = self.channel.basic_get(queue, auto_ack=True)
            if method is None:
                self.connection.sleep(0.02)
                continue
            messages.append((method, properties, body))
        return messages

    def queue_size(self, queue: str) -> int:
        return int(self.channel.queue_declare(queue, passive=True).method.message_count)

    def consumers(self, queue: str) -> int:
        return int(self.channel.queue_declare(queue, passive=True).method.consumer_count)

    def close(self) -> None:
        with contextlib.suppress(pika.exceptions.AMQPError):  # the broker may have closed it
            if self.connection.is_open:
                self.connection.close()


def daemon_log(tmp_path: Path, index: int = 0) -> str:
    path = tmp_path / f"alephdaemon-{index}.log"
    return path.read_text(errors="replace") if path.exists() else "(no log)"


def close_vhost_connections(vhost: str) -> int:
    """Have the broker close every connection to ``vhost`` (a network failure, seen
    from the clients); how many it closed."""
    listing = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "pid", "vhost"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    closed = 0
    for line in listing.splitlines():
        fields = line.split("\t")
        if len(fields) == 2 and fields[1] == vhost:
            subprocess.run(
                ["rabbitmqctl", "-q", "close_connection", fields[0], "test: forced close"],
                capture_output=True,
                timeout=60,
                check=False,
            )
            closed += 1
    return closed


def connection_names(vhost: str) -> list[str]:
    """The ``connection_name`` of every connection to ``vhost``, as the broker shows them."""
    columns = ["vhost", "client_properties", "--formatter", "json"]
    listing = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", *columns],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    names = []
    for connection in json.loads(listing):
        if connection["vhost"] == vhost:
            properties = {name: value for name, _, value in connection["client_properties"]}
            names.append(str(properties.get("connection_name")))
    return names
