"""Nothing a client sends stalls the daemon: unreadable headers, odd UUID types, bad copies.

Each test publishes what a hostile or careless client can get past RabbitMQ, then sends
ordinary requests after it and checks that they are answered and that nothing stays
unacknowledged.
"""

from __future__ import annotations

import struct
import uuid
from pathlib import Path

import pika
import pytest

from edeposit.amqp import aleph
from edeposit.amqp.runtime.frames import RawField, install
from edeposit.amqp.serializers import deserialize, serialize
from tests.services.support import DaemonFactory, Peer, daemon_log

COUNT = serialize(aleph.CountRequest(aleph.ISBNQuery("80-251-0225-4")))
#: A timestamp RabbitMQ accepts and pika cannot turn into a datetime.
FAR_FUTURE = RawField(b"T" + struct.pack(">Q", 2**63))


@pytest.fixture(autouse=True)
def _raw_fields() -> None:
    install()  # lets this test's own publisher write raw header fields


def _nested(depth: int) -> RawField:
    """A table nested ``depth`` deep, written raw (pika cannot encode it either)."""
    value = b"V"
    for _ in range(depth):
        entry = b"\x01k" + value
        value = b"F" + struct.pack(">I", len(entry)) + entry
    return RawField(value)


def _answers_by_uuid(peer: Peer, count: int) -> dict[str, list[pika.BasicProperties]]:
    found: dict[str, list[pika.BasicProperties]] = {}
    for _, properties, _ in peer.receive(count, timeout=30):
        found.setdefault(str(properties.headers.get("UUID")), []).append(properties)
    return found


def _assert_all_settled(peer: Peer) -> None:
    queue = peer.settings.RABBITMQ_ALEPH_DAEMON_QUEUE
    method = peer.channel.queue_declare(queue, passive=True).method
    assert method.message_count == 0


@pytest.mark.parametrize(
    "poison",
    [pytest.param({"when": FAR_FUTURE}, id="timestamp"), pytest.param(None, id="nested-600")],
)
def test_unreadable_headers_are_answered_and_do_not_stall_the_daemon(
    start_daemon: DaemonFactory, peer: Peer, tmp_path: Path, poison: dict[str, object] | None
) -> None:
    start_daemon()
    headers: dict[str, object] = {"UUID": "poison"}
    headers.update(poison if poison is not None else {"deep": _nested(600)})
    peer.publish(COUNT, headers)
    valid = [str(uuid.uuid4()) for _ in range(5)]
    for request_uuid in valid:
        peer.publish(COUNT, {"UUID": request_uuid})
    answers = _answers_by_uuid(peer, 6)
    assert sorted(answers) == sorted([*valid, "poison"])
    assert all(len(copies) == 1 for copies in answers.values())
    [error] = answers["poison"]
    assert error.headers["exception_name"] == "MessageError"
    assert "headers cannot be read" in error.headers["exception"]
    assert not peer.receive(1, timeout=1.0), "nothing answered twice"
    _assert_all_settled(peer)
    log = daemon_log(tmp_path)
    assert log.count("unreadable headers") == 1
    assert "connection closed" not in log


def test_unreadable_headers_without_a_uuid_are_dropped_with_one_warning(
    start_daemon: DaemonFactory, peer: Peer, tmp_path: Path
) -> None:
    start_daemon()
    peer.publish(COUNT, {"when": FAR_FUTURE})
    request_uuid = str(uuid.uuid4())
    peer.publish(COUNT, {"UUID": request_uuid})
    [(_, properties, body)] = peer.receive(1)
    assert properties.headers["UUID"] == request_uuid
    assert deserialize(body) == aleph.CountResult(1)
    _assert_all_settled(peer)
    assert daemon_log(tmp_path).count("properties cannot be read") == 1


@pytest.mark.parametrize(
    "field",
    [
        RawField(b"d" + struct.pack(">d", 2.5)),  # pika would read it as the integer 2
        RawField(b"x" + struct.pack(">I", 2) + b"\xff\x01"),
        FAR_FUTURE,
    ],
    ids=["double", "bytes", "timestamp"],
)
def test_any_uuid_type_is_echoed_byte_for_byte(
    start_daemon: DaemonFactory, peer: Peer, field: RawField
) -> None:
    start_daemon()
    peer.publish(COUNT, {"UUID": field})
    [(_, properties, body)] = peer.receive(1)
    assert properties.raw_uuid == field  # type octet and value, as sent
    if field is FAR_FUTURE:  # the request's own headers cannot be read: an error answer
        assert properties.headers["exception_name"] == "MessageError"
    else:
        assert deserialize(body) == aleph.CountResult(1)


def test_a_reply_to_copy_that_cannot_be_made_does_not_hold_the_request(
    start_daemon: DaemonFactory, peer: Peer, tmp_path: Path
) -> None:
    start_daemon(ALEPH_DAEMON_WORKERS="2")
    copies = peer.channel.queue_declare("", exclusive=True).method.queue
    long_uuids = ["u" * 300 + str(index) for index in range(6)]  # more than the prefetch
    for long_uuid in long_uuids:
        peer.publish(COUNT, {"UUID": long_uuid}, reply_to=copies)
    request_uuid = str(uuid.uuid4())
    peer.publish(COUNT, {"UUID": request_uuid})
    answers = _answers_by_uuid(peer, 7)
    assert sorted(answers) == sorted([*long_uuids, request_uuid])
    _assert_all_settled(peer)
    assert peer.queue_size(copies) == 0  # no copy could carry the UUID as correlation_id
    assert "too long for a correlation_id" in daemon_log(tmp_path)
