"""The generic consumer service, in-process against the real broker."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import pika
import pytest
from pika.spec import Basic, BasicProperties

from edeposit.amqp import settings
from edeposit.amqp.errors import BrokerUnavailableError
from edeposit.amqp.pikadaemon import PikaDaemon
from edeposit.amqp.runtime.connection import BrokerConnection
from edeposit.amqp.runtime.envelopes import Outgoing
from edeposit.amqp.runtime.parameters import connection_parameters
from edeposit.amqp.runtime.topology import Queue, Topology
from tests.services.support import Peer, close_vhost_connections
from tests.waiting import wait_for

IN, OUT, DEAD = "pd-in", "pd-out", "pd-dead"


class Recorder(PikaDaemon):
    """Answers each message on OUT with its body reversed; the handler is swappable."""

    def __init__(
        self,
        handler: Callable[[Recorder, bytes], bool] | None = None,
        connection_param: Any = None,
        **kw: Any,
    ) -> None:
        cfg = settings.get()
        topology = Topology(
            queues=(
                Queue(
                    IN, arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": DEAD}
                ),
                Queue(OUT),
                Queue(DEAD),
            )
        )
        super().__init__(
            connection_param or connection_parameters(cfg),
            IN,
            "",
            OUT,
            topology=topology,
            pid_filename="pd",
            **kw,
        )
        self.handler = handler or Recorder.reverse
        self.running = 0
        self.most_running = 0
        self.lock = threading.Lock()

    def reverse(self, body: bytes) -> bool:
        self.sendResponse(body[::-1], UUID="same")
        return True

    def onMessageReceived(
        self, method_frame: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> bool:
        with self.lock:
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            return self.handler(self, body)
        finally:
            with self.lock:
                self.running -= 1


@pytest.fixture
def queues(peer: Peer) -> Peer:
    for name in (IN, OUT, DEAD):
        peer.channel.queue_delete(name)
    return peer


@pytest.fixture
def serve(queues: Peer) -> Iterator[Callable[..., Recorder]]:
    running: list[tuple[Recorder, threading.Thread]] = []

    def start(daemon: Recorder) -> Recorder:
        thread = threading.Thread(target=daemon.body, daemon=True)
        thread.start()
        running.append((daemon, thread))
        assert daemon_ready(daemon), "consumer did not start"
        return daemon

    yield start
    for daemon, thread in running:
        daemon.stop_requested = 1
        thread.join(30)
        assert not thread.is_alive(), "daemon did not stop"


def daemon_ready(daemon: Recorder, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while daemon.connection is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return daemon.connection is not None and daemon.connection.wait_ready(timeout)


def test_answers_are_confirmed_persistent_and_requests_acked(
    serve: Callable[..., Recorder], queues: Peer
) -> None:
    daemon = serve(Recorder())
    for index in range(20):
        queues.publish(f"message {index}".encode(), {}, exchange="", routing_key=IN)
    answers = queues.receive(20, queue=OUT)
    assert sorted(body for _, _, body in answers) == sorted(
        f"message {index}".encode()[::-1] for index in range(20)
    )
    assert all(
        props.delivery_mode == 2 and props.headers == {"UUID": "same"} for _, props, _ in answers
    )
    assert wait_for(lambda: daemon.stats["acked"] == 20)
    assert queues.queue_size(IN) == 0


def test_failing_handler_dead_letters_instead_of_looping(
    serve: Callable[..., Recorder], queues: Peer
) -> None:
    def explode(daemon: Recorder, body: bytes) -> bool:
        raise RuntimeError("handler bug")

    daemon = serve(Recorder(explode))
    queues.publish(b"poison", {}, exchange="", routing_key=IN)
    [(_, _, body)] = queues.receive(1, queue=DEAD)
    assert body == b"poison"
    assert daemon.stats["handler_errors"] == 1
    assert queues.queue_size(IN) == 0


def test_concurrency_is_bounded_by_the_worker_pool(
    serve: Callable[..., Recorder], queues: Peer
) -> None:
    release = threading.Event()

    def wait_then_answer(daemon: Recorder, body: bytes) -> bool:
        release.wait(10)
        return Recorder.reverse(daemon, body)

    daemon = serve(Recorder(wait_then_answer, workers=3))
    for index in range(10):
        queues.publish(str(index).encode(), {}, exchange="", routing_key=IN)
    assert wait_for(lambda: daemon.running == 3)
    time.sleep(0.3)
    assert daemon.running == 3
    assert daemon.stats["received"] == 3, "prefetch must equal the pool size"
    release.set()
    assert len(queues.receive(10, queue=OUT)) == 10
    assert daemon.most_running == 3


def test_slow_handlers_do_not_starve_heartbeats(
    serve: Callable[..., Recorder], queues: Peer
) -> None:
    def slow(daemon: Recorder, body: bytes) -> bool:
        time.sleep(float(body))
        return Recorder.reverse(daemon, body)

    daemon = Recorder(slow)
    daemon.connection_param.heartbeat = 1
    serve(daemon)
    queues.publish(b"4.5", {}, exchange="", routing_key=IN)
    assert len(queues.receive(1, queue=OUT, timeout=15)) == 1
    assert daemon.connection is not None
    assert daemon.connection.connections == 1, "the connection dropped during slow work"


def test_reconnects_and_resumes_after_the_connection_is_closed(
    serve: Callable[..., Recorder], queues: Peer, vhost: str
) -> None:
    daemon = serve(Recorder())
    queues.close()
    assert close_vhost_connections(vhost) >= 1
    assert daemon.connection is not None
    assert wait_for(
        lambda: daemon.connection is not None and daemon.connection.connections >= 2, timeout=20
    ), "no reconnect"
    peer = Peer()
    try:
        peer.publish(b"after", {}, exchange="", routing_key=IN)
        [(_, _, body)] = peer.receive(1, queue=OUT)
        assert body == b"retfa"
    finally:
        peer.close()


def test_stop_finishes_work_in_flight_and_requeues_the_rest(queues: Peer) -> None:
    started = threading.Event()

    def slow(daemon: Recorder, body: bytes) -> bool:
        started.set()
        time.sleep(1.0)
        return Recorder.reverse(daemon, body)

    daemon = Recorder(slow, workers=2, shutdown_timeout=10)
    thread = threading.Thread(target=daemon.body, daemon=True)
    thread.start()
    assert daemon_ready(daemon)
    for index in range(6):
        queues.publish(str(index).encode(), {}, exchange="", routing_key=IN)
    assert started.wait(5)
    daemon.stop_requested = 1
    thread.join(15)
    assert not thread.is_alive()
    answered = queues.receive(6, queue=OUT, timeout=2)
    left = queues.queue_size(IN)
    assert len(answered) == 2, "the two messages in flight are answered"
    assert len(answered) + left == 6, "nothing lost"


def test_send_message_fails_loudly_outside_a_running_daemon() -> None:
    daemon = PikaDaemon(pika.ConnectionParameters(), "q", "", "k", pid_filename="x")
    with pytest.raises(RuntimeError, match="not connected"):
        daemon.sendMessage("", "k", b"body")


def test_a_delivery_nobody_settles_is_released_not_held(
    serve: Callable[..., Recorder], queues: Peer
) -> None:
    def forget(daemon: Recorder, body: bytes) -> bool:
        return False  # neither acks nor rejects: the slot would be held forever

    daemon = serve(Recorder(forget, workers=1, settle_timeout=1.0))
    queues.publish(b"forgotten", {}, exchange="", routing_key=IN)
    # Released twice: requeued the first time, dead-lettered once it came back.
    [(_, _, body)] = queues.receive(1, queue=DEAD, timeout=20)
    assert body == b"forgotten"
    assert daemon.stats["released"] == 2
    daemon.handler = Recorder.reverse
    queues.publish(b"next", {}, exchange="", routing_key=IN)
    [(_, _, answer)] = queues.receive(1, queue=OUT)  # the only prefetch slot is free again
    assert answer == b"txen"


def test_an_error_escaping_into_the_io_loop_fails_the_service(
    queues: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug that raises inside pika's loop ends the I/O thread: the service stops with
    a failure exit code (systemd's Restart=on-failure starts it again), saying why."""

    def inject(daemon: Recorder, body: bytes) -> bool:
        def boom() -> None:
            raise RuntimeError("a bug on the I/O thread")

        assert daemon.connection is not None and daemon.connection._connection is not None
        daemon.connection._connection.ioloop.add_callback_threadsafe(boom)
        return True

    daemon = Recorder(inject)
    thread = threading.Thread(target=daemon.body, daemon=True)
    thread.start()
    assert daemon_ready(daemon)
    queues.publish(b"trigger", {}, exchange="", routing_key=IN)
    thread.join(30)
    assert not thread.is_alive(), "the service did not end"
    assert daemon.exit_code == 1
    assert daemon.connection is not None
    assert isinstance(daemon.connection.crash, RuntimeError)
    text = caplog.text
    assert "I/O thread failed" in text and "a bug on the I/O thread" in text
    assert queues.queue_size(IN) == 1  # not acked: the broker redelivers it


class Finalist(Recorder):
    """A service whose messages given up on get a last answer on OUT saying why."""

    def final_answer(
        self, method_frame: Basic.Deliver, properties: BasicProperties, body: bytes, reason: str
    ) -> list[Outgoing] | None:
        return [Outgoing("", OUT, f"given up: {reason}".encode(), BasicProperties())]


def test_a_message_given_up_on_gets_its_final_answer_before_the_ack(
    serve: Callable[..., Recorder], queues: Peer
) -> None:
    def explode(daemon: Recorder, body: bytes) -> bool:
        raise RuntimeError("handler bug")

    daemon = serve(Finalist(explode))
    queues.publish(b"poison", {}, exchange="", routing_key=IN)
    [(_, _, answer)] = queues.receive(1, queue=OUT)
    assert answer == b"given up: its handler failed: RuntimeError: handler bug"
    assert wait_for(lambda: queues.queue_size(IN) == 0)
    assert queues.queue_size(DEAD) == 0  # answered, so acked: not dead-lettered
    assert daemon.stats["set_aside"] == 1


def test_a_late_answer_to_a_released_message_is_not_published(
    serve: Callable[..., Recorder], queues: Peer
) -> None:
    """The settle watchdog released a message whose handler was still at work: its late
    answer would come on top of the one its next delivery gets, so it is dropped."""
    first = threading.Event()

    def slow_once(daemon: Recorder, body: bytes) -> bool:
        if not first.is_set():
            first.set()
            time.sleep(3.0)  # past the settle timeout: released (requeued) meanwhile
        daemon.respond([Outgoing("", OUT, body[::-1], BasicProperties())])
        return False

    daemon = serve(Recorder(slow_once, workers=2, settle_timeout=1.0))
    queues.publish(b"once", {}, exchange="", routing_key=IN)
    [(_, _, answer)] = queues.receive(1, queue=OUT, timeout=20)
    assert answer == b"ecno"
    assert wait_for(lambda: daemon.stats["released"] == 1 and daemon.stats["unconfirmed"] == 1)
    assert not queues.receive(1, queue=OUT, timeout=2.0), "the late answer was published"
    assert queues.queue_size(IN) == 0


# --- the forms of connection parameters ---------------------------------------------


def broker_url(vhost: str, port: int | None = None) -> str:
    """The test broker as an AMQP URL (``port``: another one, where nothing listens)."""
    cfg = settings.get()
    credentials = f"{cfg.RABBITMQ_USER_NAME}:{cfg.RABBITMQ_USER_PASSWORD}"
    where = f"{cfg.RABBITMQ_HOST}:{port or cfg.RABBITMQ_PORT}"
    return f"amqp://{credentials}@{where}/{urllib.parse.quote(vhost, safe='')}"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    "form",
    ["URLParameters", "URL", "list, first node down", "tuple"],
)
def test_every_form_of_connection_parameters_connects_and_serves(
    serve: Callable[..., Recorder], queues: Peer, vhost: str, form: str
) -> None:
    url = broker_url(vhost)
    given: Any = {
        "URLParameters": pika.URLParameters(url),
        "URL": url,
        "list, first node down": [broker_url(vhost, closed_port()), url],
        "tuple": (pika.URLParameters(url),),
    }[form]
    daemon = serve(Recorder(connection_param=given))
    queues.publish(b"form", {}, exchange="", routing_key=IN)
    [(_, _, answer)] = queues.receive(1, queue=OUT)
    assert answer == b"mrof"
    assert daemon.connection is not None and daemon.connection.node.endswith(f"/{vhost}")


# --- reply ----------------------------------------------------------------------------


class Replier(Recorder):
    """Replies to each request's reply_to with its body reversed."""

    def onMessageReceived(
        self, method_frame: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> bool:
        self.reply(properties, body[::-1], headers={"seen": len(body)})
        return False


def test_reply_answers_to_reply_to_with_the_correlation_id_and_acks(
    serve: Callable[..., Recorder], queues: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    daemon = serve(Replier())
    channel = queues.channel
    exclusive = channel.queue_declare("", exclusive=True).method.queue
    direct: list[tuple[BasicProperties, bytes]] = []
    channel.basic_consume(
        "amq.rabbitmq.reply-to",
        lambda _channel, _method, properties, body: direct.append((properties, body)),
        auto_ack=True,
    )
    queues.publish(
        b"to a queue", {}, exchange="", routing_key=IN, reply_to=exclusive, correlation_id="q-1"
    )
    queues.publish(
        b"direct",
        {},
        exchange="",
        routing_key=IN,
        reply_to="amq.rabbitmq.reply-to",
        correlation_id="d-1",
    )
    deadline = time.monotonic() + 10
    while not direct and time.monotonic() < deadline:
        queues.connection.process_data_events(time_limit=0.2)
    [(_, queued, body)] = queues.receive(1, queue=exclusive)
    assert body == b"eueuq a ot"
    assert (queued.correlation_id, queued.delivery_mode, queued.content_type) == (
        "q-1",
        2,
        "application/json",
    )
    assert queued.headers == {"seen": 10}
    [(properties, body)] = direct
    assert body == b"tcerid"
    assert (properties.correlation_id, properties.delivery_mode) == ("d-1", 1)
    assert wait_for(lambda: daemon.stats["acked"] == 2)
    assert queues.queue_size(IN) == 0
    assert "unroutable" not in caplog.text


def test_reply_without_reply_to_or_to_its_own_queue_sets_the_message_aside(
    serve: Callable[..., Recorder], queues: Peer
) -> None:
    daemon = serve(Replier())
    queues.publish(b"nobody asked", {}, exchange="", routing_key=IN)
    queues.publish(b"loop", {}, exchange="", routing_key=IN, reply_to=IN)
    dead = sorted(body for _, _, body in queues.receive(2, queue=DEAD))
    assert dead == [b"loop", b"nobody asked"]
    assert daemon.stats["handler_errors"] == 2 and daemon.stats["received"] == 2
    assert queues.queue_size(IN) == 0, "no reply came back as a request"


# --- messages left unsettled, and what the stop says of them --------------------------


def last_drain_line(caplog: pytest.LogCaptureFixture) -> str:
    return [r for r in caplog.records if r.name.endswith("runtime.drain")][-1].getMessage()


def stop(daemon: Recorder, thread: threading.Thread) -> float:
    """Stop ``daemon`` as a signal would; the seconds it took."""
    began = time.monotonic()
    daemon.stop_requested = 1
    thread.join(30)
    assert not thread.is_alive(), "daemon did not stop"
    return time.monotonic() - began


def test_a_message_left_unsettled_is_told_once_and_counted_by_the_drain(
    queues: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edeposit.amqp.runtime.drain")
    daemon = Recorder(lambda _daemon, _body: False, shutdown_timeout=20)
    assert daemon.settle_timeout == 300.0, "released after 300 s by default"
    thread = threading.Thread(target=daemon.body, daemon=True)
    thread.start()
    assert daemon_ready(daemon)
    for index in range(3):
        queues.publish(str(index).encode(), {}, exchange="", routing_key=IN)
    assert wait_for(lambda: daemon.stats["left_unsettled"] == 3)
    told = [r.getMessage() for r in caplog.records if "without settling" in r.getMessage()]
    assert len(told) == 1, "told once per handler"
    assert told[0].startswith(f"Recorder.onMessageReceived (queue {IN!r}) returned False")
    assert "the settle timeout releases it after 300 s" in told[0]

    took = stop(daemon, thread)
    assert took < 10, "nothing will settle them: the drain does not wait for its time limit"
    assert "but 3 message(s) unsettled" in last_drain_line(caplog)
    assert wait_for(lambda: queues.queue_size(IN) == 3), "back in the queue, not lost"


def test_a_drain_says_how_many_were_unsettled_in_every_case(
    queues: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edeposit.amqp.runtime.drain")
    release = threading.Event()

    def held(daemon: Recorder, body: bytes) -> bool:
        if body == b"held":
            release.wait(10)
            return True
        return Recorder.reverse(daemon, body)

    daemon = Recorder(held, shutdown_timeout=1.0)
    thread = threading.Thread(target=daemon.body, daemon=True)
    thread.start()
    assert daemon_ready(daemon)
    queues.publish(b"answered", {}, exchange="", routing_key=IN)
    assert len(queues.receive(1, queue=OUT)) == 1
    queues.publish(b"held", {}, exchange="", routing_key=IN)
    assert wait_for(lambda: daemon.running == 1)
    try:
        stop(daemon, thread)
    finally:
        release.set()
    last = last_drain_line(caplog)
    assert re.fullmatch(
        r"after 1\.\d s, 1 handler\(s\) still running and 1 message\(s\) unsettled; .*", last
    ), last
    assert wait_for(lambda: queues.queue_size(IN) == 1), "redelivered, not lost"

    caplog.clear()
    quick = Recorder()
    thread = threading.Thread(target=quick.body, daemon=True)
    thread.start()
    assert daemon_ready(quick)
    assert len(queues.receive(1, queue=OUT)) == 1, "the held message, answered now"
    assert wait_for(lambda: quick.stats["acked"] == 1)
    stop(quick, thread)
    assert re.fullmatch(
        r"drained in \d+\.\d s: every message taken was settled \(0 unsettled\)",
        last_drain_line(caplog),
    )


def test_a_barrier_resolves_once_the_broker_took_what_came_before(
    broker_env: dict[str, str],
) -> None:
    """An ack has no reply: what must know it arrived (a dead letter sent round again,
    whose copy may end the process) waits for a barrier behind it on the same channel."""
    connection = BrokerConnection(connection_parameters(settings.get()), prefetch=3, name="barrier")
    connection.start()
    try:
        assert connection.wait_ready(30)
        assert connection.barrier().result(10) is None
        assert connection.prefetch == 3  # the barrier asks for the prefetch it has
    finally:
        connection.stop()
    with pytest.raises(BrokerUnavailableError):
        connection.barrier().result(10)
