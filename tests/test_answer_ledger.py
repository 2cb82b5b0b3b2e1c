"""The daemon's ledger of recent requests: what a redelivered copy learns, and its bounds."""

from __future__ import annotations

import threading
import time

import pytest

from edeposit.amqp.daemon.ledger import AnswerLedger, Entry, request_key

BODY = (
    b'{"query": {"ISBN": "80-251-0225-4", "__nt_name": "ISBNQuery"}, "__nt_name": "SearchRequest"}'
)


def test_the_key_is_the_uuid_and_the_body() -> None:
    assert request_key("a", BODY) == request_key("a", BODY)
    assert request_key("a", BODY) != request_key("b", BODY)
    assert request_key("a", BODY) != request_key("a", BODY + b" ")
    assert request_key(b"a", BODY) != request_key("a", BODY)  # any header type, told apart


def test_an_unknown_redelivery_is_handled_by_its_receiver() -> None:
    ledger = AnswerLedger()
    assert ledger.begin(request_key("u", BODY), wait=0.1) is None


@pytest.mark.parametrize(
    ("confirmed", "kept"),
    [(True, None), (False, "the result")],  # an answered reply is not kept; else it is
)
def test_a_redelivery_learns_what_became_of_the_first_attempt(
    confirmed: bool, kept: str | None
) -> None:
    ledger = AnswerLedger()
    key = request_key("u", BODY)
    ledger.start(key)
    ledger.finish(key, answer="the result", answered=confirmed)
    earlier = ledger.begin(key, wait=0.1)
    assert earlier is not None
    assert earlier.answered is confirmed
    assert earlier.answer == kept


def test_a_redelivery_waits_for_the_attempt_in_progress() -> None:
    ledger = AnswerLedger()
    key = request_key("u", BODY)
    ledger.start(key)
    learned: list[Entry | None] = []
    returned = threading.Event()

    def redelivery() -> None:
        learned.append(ledger.begin(key, wait=60.0))
        returned.set()

    threading.Thread(target=redelivery, daemon=True).start()
    assert not returned.wait(0.2)  # it waits while the first attempt runs
    ledger.finish(key, answer="r", answered=True)
    assert returned.wait(20)  # woken by the finish, long before its 60 s limit
    [earlier] = learned
    assert earlier is not None and earlier.answered


def test_a_redelivery_takes_over_an_attempt_that_does_not_finish() -> None:
    ledger = AnswerLedger()
    key = request_key("u", BODY)
    ledger.start(key)
    started = time.monotonic()
    assert ledger.begin(key, wait=0.2) is None
    assert time.monotonic() - started >= 0.2


def test_the_ledger_is_bounded_in_entries_and_time() -> None:
    ledger = AnswerLedger(max_entries=100, ttl=0.2)
    for index in range(250):
        key = request_key(str(index), BODY)
        ledger.start(key)
        ledger.finish(key, answer=None, answered=True)
    assert ledger.begin(request_key("0", BODY), wait=0.01) is None  # pruned: unknown
    assert ledger.begin(request_key("249", BODY), wait=0.01) is not None
    time.sleep(0.3)
    ledger.start(request_key("new", BODY))  # pruning happens as entries arrive
    assert ledger.begin(request_key("249", BODY), wait=0.01) is None
