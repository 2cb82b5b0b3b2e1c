"""What the daemon writes on a sender's behalf is bounded: texts, headers, the frame.

The largest answers a request can provoke are built here and measured against the
broker's frame (a header frame over ``frame_max`` makes the broker close the whole
connection); the ``reply_to`` policy and the verdicts on dead letters are checked too.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import Future

import pytest
from pika.spec import BasicProperties

from edeposit.amqp import aleph
from edeposit.amqp.config import Settings
from edeposit.amqp.daemon.answers import (
    ADDED_LATER,
    MAX_ERROR_TEXT,
    addressed,
    error_answer,
    fitted,
)
from edeposit.amqp.daemon.dead_letters import judge, revived
from edeposit.amqp.daemon.ledger import request_key
from edeposit.amqp.daemon.reply_to import ReplyToPolicy
from edeposit.amqp.daemon.service import AlephDaemon
from edeposit.amqp.errors import PoisonMessageError, SetAsideError
from edeposit.amqp.runtime.confirms import Confirmed
from edeposit.amqp.runtime.diagnosis import unroutable_logger
from edeposit.amqp.runtime.envelopes import Outgoing
from edeposit.amqp.runtime.frame_limits import (
    DEFAULT_FRAME_MAX,
    HEADER_FRAME_OVERHEAD,
    cut_text,
    header_room,
    properties_size,
    unsendable,
)
from edeposit.amqp.runtime.logs import bounded

#: The largest body the daemon decodes (ALEPH_DAEMON_MAX_BODY_BYTES's default).
MAX_BODY = Settings().ALEPH_DAEMON_MAX_BODY_BYTES


class NoCatalogue:
    """The daemon's service for requests that never get as far as the catalogue."""

    def handle(self, request: object) -> object:
        raise AssertionError(f"the catalogue was asked: {request!r}")


def _daemon() -> AlephDaemon:
    return AlephDaemon(settings=Settings(), service=NoCatalogue())


def _frame_bytes(message: Outgoing) -> int:
    return properties_size(message.properties) + HEADER_FRAME_OVERHEAD


def _provoking_bodies() -> dict[str, bytes]:
    """Request bodies under the size limit whose error answers echo as much as possible."""
    name = "N" * (MAX_BODY - 100)
    return {
        "class name": json.dumps({"__nt_name": name}).encode(),
        "field name": json.dumps(
            {"query": {"__nt_name": "ISBNQuery", name[:-40]: 1}, "__nt_name": "SearchRequest"}
        ).encode(),
        "value": json.dumps(
            {"query": {"__nt_name": "ISBNQuery", "ISBN": [name[:-60]]}, "__nt_name": "CountRequest"}
        ).encode(),
        "not JSON": b"{" + b"x" * (MAX_BODY - 10),
        "too large": b"[" * (MAX_BODY + 1),
    }


@pytest.mark.parametrize("kind", list(_provoking_bodies()))
def test_the_largest_error_answers_fit_one_frame(kind: str) -> None:
    daemon = _daemon()
    body = _provoking_bodies()[kind]
    uuid = "u" * 1000
    request = BasicProperties(headers={"UUID": uuid}, reply_to="amq.gen-abc", correlation_id="c")
    answer = daemon.answer(body, uuid, request)
    assert "exception" in answer[1].headers, answer[1].headers
    messages = daemon.outgoing(answer, "request", request)
    assert messages is not None and len(messages) == 2  # the answer and its reply_to copy
    for message in messages:
        assert _frame_bytes(message) <= DEFAULT_FRAME_MAX
        assert unsendable(message, DEFAULT_FRAME_MAX) is None
        headers = message.properties.headers
        for name in ("exception", "traceback"):
            assert len(headers[name].encode()) <= MAX_ERROR_TEXT
        assert len(message.body) <= MAX_ERROR_TEXT
    assert messages[0].properties.headers["UUID"] == uuid  # echoed whole


def test_a_long_uuid_shrinks_the_error_texts_to_make_room() -> None:
    room = header_room(DEFAULT_FRAME_MAX) - ADDED_LATER
    uuid = "u" * (room - 1000)  # leaves too little room for 4 KB texts
    error = ValueError("x" * 10_000)
    answer = error_answer(error, uuid, BasicProperties(headers={"UUID": uuid}))
    assert properties_size(answer[1]) > room
    shrunk = fitted(answer, room)
    assert shrunk is not None
    assert properties_size(shrunk[1]) <= room
    assert shrunk[1].headers["UUID"] == uuid
    assert "[cut: 10000 bytes]" in shrunk[1].headers["exception"]
    assert shrunk[0] == shrunk[1].headers["exception"].encode()


def test_a_uuid_that_alone_fills_the_frame_leaves_nothing_to_send() -> None:
    daemon = _daemon()
    uuid = "u" * DEFAULT_FRAME_MAX
    request = BasicProperties(headers={"UUID": uuid})
    answer = daemon.answer(b"{}", uuid, request)
    assert daemon.outgoing(answer, "request", request) is None
    too_large = Outgoing("search", "result", b"", BasicProperties(headers={"UUID": uuid}))
    assert "do not fit a frame" in (unsendable(too_large, DEFAULT_FRAME_MAX) or "")


def test_texts_are_cut_on_character_boundaries_with_a_marker() -> None:
    assert cut_text("short", 100) == "short"
    cut = cut_text("ž" * 1000, 100)  # two bytes each
    assert len(cut.encode()) <= 100
    assert cut.endswith("[cut: 2000 bytes]")
    tail = cut_text("a" * 500 + "THE END", 100, keep_end=True)
    assert tail.startswith("[cut: 507 bytes]") and tail.endswith("THE END")
    assert bounded("x" * 1000, 10) == "xxxxxxxxxx… (1000 characters)"


def test_a_traceback_keeps_its_end() -> None:
    def chain(level: int) -> None:  # each error caused by the next: a long traceback
        try:
            if level:
                chain(level - 1)
            raise KeyError("the root of it all")
        except Exception as cause:
            raise ValueError(f"level {level}: " + "y" * 300) from cause

    try:
        chain(30)
    except ValueError as error:
        headers = error_answer(error, "u", BasicProperties())[1].headers
    trace = headers["traceback"]
    assert len(trace.encode()) <= MAX_ERROR_TEXT
    assert trace.startswith("[cut:")
    assert trace.rstrip().endswith("ValueError: level 30: " + "y" * 300)  # the last error


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("amq.gen-Zx9", True),
        ("amq.rabbitmq.reply-to.g1h2AA", True),
        ("daemon", False),  # the request queue: would come back as a request
        ("plone", False),  # the answer queue: a second answer there
        ("daemon.dead", False),
        ("answers-of-x", False),
        ("listed", True),
        ("front-end.1", True),
        ("front-endless", True),  # a prefix is a prefix
        ("other", False),
    ],
)
def test_reply_to_goes_only_to_reply_queues(name: str, allowed: bool) -> None:
    settings = Settings(ALEPH_REPLY_TO=("listed", "front-end*", "daemon", "plone*"))
    daemon = AlephDaemon(settings=settings, service=NoCatalogue())
    assert daemon.reply_to.allows(name) is allowed


def test_a_refused_reply_to_is_counted_each_time_and_logged_once_per_sender(
    caplog: pytest.LogCaptureFixture,
) -> None:
    counted: list[str] = []
    policy = ReplyToPolicy((), ("daemon",), counted.append)
    request = BasicProperties(reply_to="daemon", app_id="front-end")
    with caplog.at_level(logging.WARNING):
        assert policy.check(request) is None
        assert policy.check(request) is None
        assert policy.check(BasicProperties(reply_to="daemon", app_id="another")) is None
    assert counted == ["reply_to_refused"] * 3
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2, lines
    assert "'daemon'" in lines[0] and "'front-end'" in lines[0] and "ALEPH_REPLY_TO" in lines[0]


def test_a_refused_reply_to_still_answers_to_the_result_queue() -> None:
    daemon = _daemon()
    request = BasicProperties(headers={"UUID": "u"}, reply_to="daemon")
    answer = daemon.answer(b"{}", "u", request)
    messages = daemon.outgoing(answer, "request", request)
    assert messages is not None
    assert [(m.exchange, m.routing_key) for m in messages] == [("search", "result")]
    assert daemon.counters()["reply_to_refused"] == 1
    copy = addressed(
        answer, exchange="search", routing_key="result", request=request, sender="d",
        reply_to="amq.gen-1",
    )  # fmt: skip
    assert copy[1].routing_key == "amq.gen-1" and not copy[1].required and copy[1].mandatory
    direct = addressed(
        answer, exchange="search", routing_key="result", request=request, sender="d",
        reply_to="amq.rabbitmq.reply-to.g1h2",
    )  # fmt: skip
    assert not direct[1].mandatory  # RabbitMQ would return it as unroutable, yet deliver it


def _death(reason: str, count: int) -> dict[str, object]:
    return {
        "x-death": [
            {
                "queue": "daemon",
                "reason": reason,
                "count": count,
                "exchange": "search",
                "routing-keys": ["request"],
            }
        ]
    }


def test_over_the_delivery_limit_once_gets_one_more_round_then_an_answer() -> None:
    first = judge(_death("delivery_limit", 1), delivery_limit=5)
    assert first.revive and first.error is None
    second = judge(_death("delivery_limit", 2), delivery_limit=5)
    assert isinstance(second.error, PoisonMessageError)
    assert "10 times" in str(second.error)


def test_a_senders_own_marker_does_not_skip_the_second_round() -> None:
    headers = {**_death("delivery_limit", 1), "x-edeposit-revived": 1, "UUID": "u"}
    assert judge(headers, delivery_limit=5).revive  # the broker's count decides
    again = revived(BasicProperties(headers=headers), b"{}", headers["x-death"][0], "request")
    assert "x-edeposit-revived" not in again.properties.headers
    assert again.properties.headers["x-death"] == headers["x-death"]  # counted on by the broker
    assert (again.exchange, again.routing_key) == ("search", "request")


class HeldBarrier:
    """A side connection whose barrier resolves when the test says the broker has the ack."""

    def __init__(self) -> None:
        self.future: Future[None] = Future()

    def barrier(self) -> Future[None]:
        return self.future


def test_a_revived_dead_letter_holds_its_copy_until_the_broker_has_the_ack() -> None:
    """The copy sent round again may come back to this daemon and end it: its handler
    waits (the ledger) until a barrier behind the dead letter's ack came back, so a crash
    cannot leave the dead letter unacked and send it round twice."""
    daemon = _daemon()
    acked: list[Confirmed] = []
    daemon.respond = lambda _messages, on_done=None: acked.append(on_done)  # type: ignore[method-assign,assignment,misc]
    side = HeldBarrier()
    daemon.side_connection = side  # type: ignore[assignment]
    headers = {**_death("delivery_limit", 1), "UUID": "u"}
    assert daemon.onDeadLetter(_deliver(), BasicProperties(headers=headers), b"{}")  # type: ignore[arg-type]
    copy_started = threading.Event()
    copy = threading.Thread(
        target=lambda: (daemon.ledger.start(request_key("u", b"{}"), wait=5), copy_started.set())
    )
    acked[0](None)  # revived copy confirmed, the dead letter's ack sent
    copy.start()
    assert not copy_started.wait(0.3), "the copy ran before the broker had the ack"
    side.future.set_result(None)
    assert copy_started.wait(2)
    copy.join()


@pytest.mark.parametrize("reason", ["rejected", "expired", "maxlen", "something-new"])
def test_every_other_dead_letter_is_answered(reason: str) -> None:
    verdict = judge(_death(reason, 1), delivery_limit=5)
    assert isinstance(verdict.error, SetAsideError)
    assert "set aside without an answer" in str(verdict.error)


def test_a_final_answer_names_why_the_request_was_given_up_on() -> None:
    daemon = _daemon()
    request = BasicProperties(headers={"UUID": "u"})
    method = _deliver()
    messages = daemon.final_answer(method, request, b"{}", "not answered within 300 s")
    assert messages is not None
    headers = messages[0].properties.headers
    assert headers["exception_name"] == "SetAsideError"
    assert "not answered within 300 s" in headers["exception"]
    assert daemon.final_answer(method, BasicProperties(headers={}), b"{}", "x") is None


def _deliver() -> object:
    from pika.spec import Basic  # noqa: PLC0415 - only this helper needs it

    return Basic.Deliver(delivery_tag=1, routing_key="request", exchange="search")


def test_the_generic_service_has_no_final_answer() -> None:
    assert aleph.CountRequest  # the model is registered for the daemon above
    assert unsendable(Outgoing("x" * 256, "k", b"", BasicProperties())) == (
        "exchange longer than 255 bytes"
    )


def test_an_unroutable_answer_is_logged_with_its_uuid_cut(
    caplog: pytest.LogCaptureFixture,
) -> None:
    on_return = unroutable_logger("daemon")
    method = type("Return", (), {"exchange": "", "routing_key": "gone", "reply_text": "NO_ROUTE"})
    with caplog.at_level(logging.WARNING):
        on_return(None, method, BasicProperties(headers={"UUID": "U" * 120_000}), b"")
    [line] = [record.getMessage() for record in caplog.records]
    assert len(line) < 500 and "NO_ROUTE" in line and "(120002 characters)" in line
