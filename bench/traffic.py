"""Load for fault scenarios: a publisher and an answer collector that survive broker restarts.

Both reconnect on their own, like a careful client would (to any node of
RABBITMQ_NODES, from a random one on): the publisher republishes a
request until the broker confirms it (persistent, mandatory); the collector acks each
answer and tells a redelivered copy of an answer it already counted (the broker resends
what it could not see acked) from a real second answer.

A request republished after a broker restart may stand in the queue twice (the broker
kept the first copy but went down before confirming it): two requests with one UUID,
each answered. The tally counts their second answers apart from a daemon answering one
request twice.
"""

from __future__ import annotations

import collections
import contextlib
import re
import threading
import time
import uuid
from collections.abc import Callable, Collection
from typing import Any

import pika
import pika.exceptions

from edeposit.amqp.config import Settings
from edeposit.amqp.runtime.parameters import node_parameters

__all__ = ["Collector", "Publisher", "Tally", "close_quietly", "unconfirmed_answers"]

_TRANSIENT = (pika.exceptions.AMQPError, OSError)

#: Makes one request: ``index -> (body, headers)`` or ``(body, headers, properties)``
#: (more ``BasicProperties`` arguments: ``reply_to``…); headers without "UUID" get one
#: unless the publisher is told not to add them.
Maker = Callable[[int], tuple[bytes, dict[str, Any]] | tuple[bytes, dict[str, Any], dict[str, Any]]]


#: A daemon's log line saying that an answer's confirm (or commit) was cut off.
_UNCONFIRMED = re.compile(r"UUID '([^']*)'.*answer not confirmed")


def unconfirmed_answers(*logs: str) -> set[str]:
    """The UUIDs whose answer a daemon published and saw no confirm for (its connection
    was lost first), from the daemons' text logs: answering such a request again when it
    comes back is the at-least-once window (docs/operations.md), not a daemon's mistake."""
    return {match.group(1) for text in logs for match in _UNCONFIRMED.finditer(text)}


def close_quietly(connection: pika.BlockingConnection | None) -> None:
    """Close a connection that may already be broken, releasing its sockets either way."""
    if connection is None:
        return
    with contextlib.suppress(*_TRANSIENT):
        if connection.is_open:
            connection.close()
    # A connection the broker dropped keeps its loop's wake-up sockets until this runs.
    with contextlib.suppress(Exception):
        connection._impl.ioloop.close()


class Publisher(threading.Thread):
    """Publishes ``total`` requests at ``rate`` per second (0: as fast as confirmed)."""

    def __init__(
        self, settings: Settings, make: Maker, total: int, rate: float, *, add_uuid: bool = True
    ) -> None:
        super().__init__(name="publisher", daemon=True)
        self.add_uuid = add_uuid
        self.settings = settings
        self.make = make
        self.total = total
        self.rate = rate
        self.sent: list[str] = []
        self.republished = 0
        #: UUIDs of requests published more than once: their first attempt failed, but
        #: the broker may have kept that copy too.
        self.resent: set[str] = set()
        self._connection: pika.BlockingConnection | None = None
        self._channel: Any = None

    def run(self) -> None:
        started = time.monotonic()
        for index in range(self.total):
            made = self.make(index)
            body, headers = made[0], made[1]
            extra: dict[str, Any] = made[2] if len(made) > 2 else {}  # type: ignore[misc]
            if self.add_uuid:
                headers.setdefault("UUID", str(uuid.uuid4()))
            failed_attempts = self._publish_until_confirmed(body, headers, extra)
            if "UUID" in headers:
                self.sent.append(str(headers["UUID"]))
                if failed_attempts:
                    self.resent.add(str(headers["UUID"]))
            if self.rate:
                pause = started + (index + 1) / self.rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
        close_quietly(self._connection)

    def _publish_until_confirmed(
        self, body: bytes, headers: dict[str, Any], extra: dict[str, Any]
    ) -> int:
        """Publish until confirmed; how many attempts failed before."""
        attempts = 0
        while True:
            try:
                if self._connection is None or not self._connection.is_open:
                    self._connection = pika.BlockingConnection(node_parameters(self.settings))
                    self._channel = self._connection.channel()
                    self._channel.confirm_delivery()
                self._channel.basic_publish(
                    self.settings.RABBITMQ_ALEPH_EXCHANGE,
                    self.settings.RABBITMQ_ALEPH_DAEMON_KEY,
                    body,
                    pika.BasicProperties(
                        content_type="application/json", delivery_mode=2, headers=headers, **extra
                    ),
                    mandatory=True,
                )
                return attempts
            except _TRANSIENT:
                attempts += 1
                if attempts > 1:
                    self.republished += 1
                close_quietly(self._connection)
                self._connection = None
                time.sleep(0.2)


class Collector(threading.Thread):
    """Consumes the answer queue until stopped; records each answer by UUID."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(name="collector", daemon=True)
        self.settings = settings
        self.answers: dict[str, list[str]] = collections.defaultdict(list)
        #: Which daemon (its answers' ``app_id``) gave each answer, by UUID.
        self.answered_by: dict[str, list[str]] = collections.defaultdict(list)
        #: The start of each answer's body and headers, as text (for leak checks).
        self.texts: dict[str, str] = {}
        self.errors: collections.Counter[str] = collections.Counter()
        self.reconnects = 0
        self._stop_event = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        while not self._stop_event.is_set():
            connection = None
            try:
                connection = pika.BlockingConnection(node_parameters(self.settings))
                channel = connection.channel()
                channel.basic_qos(prefetch_count=200)
                channel.basic_consume(self.settings.RABBITMQ_ALEPH_PLONE_QUEUE, self._on_answer)
                while not self._stop_event.is_set():
                    connection.process_data_events(time_limit=0.2)
            except _TRANSIENT:
                self.reconnects += 1
                time.sleep(0.3)
            finally:
                close_quietly(connection)

    def _on_answer(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        headers = properties.headers or {}
        key = str(headers.get("UUID"))
        name = str(headers.get("exception_name", "")) if "exception" in headers else ""
        with self._lock:
            if not (method.redelivered and key in self.answers):
                self.answers[key].append(name)
                self.answered_by[key].append(str(properties.app_id))
                self.texts[key] = f"{headers!r} {body[:4000]!r}"
                if name:
                    self.errors[name] += 1
        channel.basic_ack(method.delivery_tag)

    def wait_for(self, uuids: list[str], timeout: float) -> bool:
        """Wait until every UUID in ``uuids`` has an answer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if all(key in self.answers for key in uuids):
                    return True
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        self._stop_event.set()
        self.join(10)


class Tally(dict[str, Any]):
    """Sent, answered, lost and duplicated requests of one scenario run."""

    @classmethod
    def of(
        cls,
        sent: list[str],
        collector: Collector,
        resent: Collection[str] = (),
        unconfirmed: Collection[str] = (),
        **extra: Any,
    ) -> Tally:
        """Counts for the requests ``sent``; a duplicate is a second answer to one UUID.

        ``duplicated_by_one_daemon`` counts those given twice by the same daemon to a
        request published once for no reason the daemon logged (which must never
        happen); the others come from at-least-once delivery: across daemons (an answer
        confirmed while the broker went down before it saw the request's ack),
        ``duplicated_after_resend`` from a request the client published twice
        (``resent``: the broker kept a copy whose confirm the restart cut off), and
        ``duplicated_after_unconfirmed`` from a daemon answering again a request whose
        first answer's confirm its lost connection cut off (``unconfirmed``: the broker
        had kept that answer).
        """
        answers, answered_by = collector.answers, collector.answered_by
        unique = set(sent)
        answered = [key for key in unique if key in answers]
        same_daemon = {key: len(answered_by[key]) - len(set(answered_by[key])) for key in answered}
        return cls(
            sent=len(unique),
            answered=len(answered),
            lost=len(unique) - len(answered),
            duplicated=sum(len(answers[key]) - 1 for key in answered),
            duplicated_by_one_daemon=sum(
                n for key, n in same_daemon.items() if key not in resent and key not in unconfirmed
            ),
            duplicated_after_resend=sum(n for key, n in same_daemon.items() if key in resent),
            duplicated_after_unconfirmed=sum(
                n for key, n in same_daemon.items() if key in unconfirmed and key not in resent
            ),
            errors=dict(collector.errors),
            **extra,
        )
