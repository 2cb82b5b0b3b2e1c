"""The connection's I/O thread keeps going through a failing operation, and other threads
read its state without racing it (no broker needed: the parts are driven directly)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pika
import pytest

from edeposit.amqp.errors import BrokerUnavailableError
from edeposit.amqp.runtime.confirms import Confirms
from edeposit.amqp.runtime.connection import BrokerConnection
from edeposit.amqp.runtime.consumers import Consumers
from edeposit.amqp.runtime.mailbox import Mailbox
from edeposit.amqp.runtime.session import Session
from edeposit.amqp.runtime.topology import Topology
from edeposit.amqp.runtime.transactions import Transactions
from edeposit.amqp.runtime.watchdog import Watchdog
from edeposit.amqp.runtime.workers import WorkerPool


class Loop:
    """Stands for pika's ioloop: keeps the wake-up callback for the test to run."""

    def __init__(self) -> None:
        self.callbacks: list[Callable[[], None]] = []

    def add_callback_threadsafe(self, callback: Callable[[], None]) -> None:
        self.callbacks.append(callback)


def test_a_raising_operation_does_not_drop_the_rest_of_its_burst() -> None:
    mailbox = Mailbox("test")
    loop = Loop()
    mailbox.open(loop)
    ran: list[str] = []
    told: dict[str, BaseException] = {}

    def boom() -> None:
        raise RuntimeError("a bug in an operation")

    for name, operation in (("first", lambda: ran.append("first")), ("second", boom)):
        mailbox.submit(operation, lambda error, n=name: told.__setitem__(n, error), Exception)
    mailbox.submit(lambda: ran.append("third"), None, Exception)
    [wake_up] = loop.callbacks  # one wake-up for the whole burst
    wake_up()
    assert ran == ["first", "third"]
    assert list(told) == ["second"] and "a bug" in str(told["second"])
    assert mailbox.idle()


def test_an_outcome_callback_that_raises_does_not_keep_the_others_from_hearing() -> None:
    confirms = Confirms("test")
    heard: list[BaseException | None] = []

    def broken(_error: BaseException | None) -> None:
        raise RuntimeError("a bug in a callback")

    confirms.track(heard.append)
    confirms.track(broken)
    confirms.track(heard.append)
    confirms.fail_all(BrokerUnavailableError("gone"))
    assert len(heard) == 2 and all(isinstance(e, BrokerUnavailableError) for e in heard)


class DroppingConnection(BrokerConnection):
    """A connection whose I/O thread drops the session between any two reads of it by
    another thread: every read alternates between a session and None, the worst timing
    a drain can meet (deterministic, where real threads would hit it once in a while)."""

    _reads = 0

    @property  # type: ignore[override]
    def _session(self) -> object:
        self._reads += 1
        return _Session() if self._reads % 2 else None

    @_session.setter
    def _session(self, value: object) -> None:
        pass

    @property
    def is_running(self) -> bool:
        return True


class _Session:
    def __init__(self) -> None:
        self.confirms = [1]  # one publish awaiting its confirm
        self.frame_max = 4096
        self.unsettled = 1


def test_reads_of_the_session_from_other_threads_take_it_once() -> None:
    connection = DroppingConnection(pika.ConnectionParameters())
    for _ in range(4):  # each call meets the session present at one read, gone at the next
        assert connection.wait_settled(0.0) in (True, False)  # never an AttributeError
        assert connection.unsettled in (0, 1)
        assert connection.frame_max > 0


class _Loop:
    def call_later(self, _delay: float, _callback: Callable[[], None]) -> None:
        pass


class _Connection:
    """Stands for pika's connection: records that the session closed it."""

    def __init__(self) -> None:
        self.ioloop = _Loop()
        self.is_open = True
        self.closed = False

    def close(self) -> None:
        self.closed, self.is_open = True, False


def test_a_publish_never_confirmed_reopens_the_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A quorum queue that knows no leader keeps a message pending without a word: the
    session does not wait for ever, it reconnects (the broker then redelivers)."""
    now = [100.0]
    monkeypatch.setattr("edeposit.amqp.runtime.watchdog.time.monotonic", lambda: now[0])
    monkeypatch.setattr("edeposit.amqp.runtime.confirms.time.monotonic", lambda: now[0])
    counted: list[str] = []
    connection = _Connection()
    session = Session(
        "test",
        connection,
        1,
        topology=Topology(),
        prefetch=1,
        consumers=Consumers(),
        on_ready=lambda _session: None,
        on_refused=lambda _error: None,
        confirm_timeout=30.0,
        count=counted.append,
    )
    session.channel = object()  # type: ignore[assignment]
    assert isinstance(session.confirms, Confirms)
    session.confirms.track(lambda _error: None)
    watchdog = Watchdog(session, settle_timeout=None, confirm_timeout=30.0)
    now[0] += 29.0
    watchdog._round()
    assert not connection.closed
    now[0] += 2.0
    watchdog._round()
    assert connection.closed and counted == ["confirm_timeouts"]


def test_a_commit_knows_when_it_was_sent() -> None:
    transactions = Transactions("test", _Loop())
    assert transactions.oldest is None
    transactions.new_channel(type("Channel", (), {"tx_commit": lambda *_a, **_k: None})())
    transactions.send(lambda: None)
    transactions._commit()
    assert transactions.oldest is not None
    transactions._committed(None)
    assert transactions.oldest is None


def test_the_pool_tells_how_many_threads_are_stuck() -> None:
    pool = WorkerPool(3)
    release = threading.Event()
    try:
        pool.submit(release.wait)
        pool.submit(release.wait)
        time.sleep(0.3)
        assert pool.stuck(0.2) == 2
        assert pool.stuck(60.0) == 0
    finally:
        release.set()
    assert pool.wait_idle(5)
    assert pool.stuck(0.0) == 0
    pool.shutdown()
