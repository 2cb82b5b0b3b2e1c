"""``AlephClient``: ask the Aleph daemon through RabbitMQ and wait for the answer.

::

    with AlephClient() as client:
        records = client.search(ISBNQuery("80-251-0225-4"))
        hits = client.count(AuthorQuery("Raymond"))

Each call publishes the request (persistent, confirmed; again after a broker blip) with
a fresh ``UUID`` and waits for the answer with that ``UUID`` until its deadline; many
calls may be in flight on one connection, from many threads (:meth:`AlephClient.submit`
returns a :class:`PendingCall`). An error answer raises :class:`RemoteError`; a call
past its deadline raises :class:`CallTimeoutError`, and an answer arriving after that is
dropped, never handed to another call.

Answers come back on a private queue of the client, not on the shared answer queue:
requests go out with the routing key ``<client>.request`` (bound to the daemon queue
while the client lives), which the daemon answers on ``<client>.result``. With
``RABBITMQ_ALEPH_QUEUE_TYPE = "quorum"`` (a cluster) that queue is a quorum queue: an
answer routed while the client's node is down, or not yet taken when it stopped, waits
on the other nodes until the client, connected to one of them, takes it. Otherwise it is
a transient classic queue on the client's node, gone with that node. The queue is
redeclared after a broker blip and deleted by :meth:`AlephClient.close`; one left by a
client that died expires after ten minutes unused.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar

from pika.spec import BasicProperties

from edeposit.amqp import settings as settings_module
from edeposit.amqp.aleph.alephrecord import AlephRecord
from edeposit.amqp.aleph.queries import ISBNQuery, Query
from edeposit.amqp.aleph.records import EPublication
from edeposit.amqp.aleph.requests import (
    CountRequest,
    ExportRequest,
    ISBNValidationRequest,
    SearchRequest,
)
from edeposit.amqp.aleph.results import (
    CountResult,
    ExportResult,
    ISBNValidationResult,
    SearchResult,
)
from edeposit.amqp.config import Settings
from edeposit.amqp.errors import BrokerUnavailableError, CallTimeoutError, ClientError, RemoteError
from edeposit.amqp.runtime.connection import BrokerConnection
from edeposit.amqp.runtime.deadlines import Deadlines
from edeposit.amqp.runtime.envelopes import Delivery
from edeposit.amqp.runtime.parameters import node_parameters
from edeposit.amqp.runtime.topology import QUORUM, Binding, Queue, Topology, aleph_topology
from edeposit.amqp.serializers import deserialize, serialize
from edeposit.amqp.wire.message import Message

__all__ = ["AlephClient", "CallTimeoutError", "ClientError", "PendingCall", "RemoteError"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds between attempts to publish a request while the broker is unreachable.
RETRY_PAUSE = 0.5
#: Milliseconds an unused answer queue of a vanished client lives on the broker.
REPLY_QUEUE_EXPIRES_MS = 10 * 60 * 1000
#: Seconds :meth:`AlephClient.close` waits for its queue's removal: RabbitMQ takes 5 s
#: to delete a quorum queue while a node of it is down.
REMOVAL_WAIT = 10.0


def _answer_queue(name: str, settings: Settings) -> Queue:
    """A client's answer queue: replicated like the service's queues when they are quorum
    queues (it survives the client's node), else transient; either expires unused."""
    expires = {"x-expires": REPLY_QUEUE_EXPIRES_MS}
    if settings.RABBITMQ_ALEPH_QUEUE_TYPE == "quorum":
        return Queue(name, arguments={**QUORUM, **expires})
    return Queue(name, durable=False, arguments=expires)


class PendingCall:
    """A request in flight. :meth:`result` waits for the answer and decodes it.

    Decoding happens in the thread that asks for the result, never on the
    connection's I/O thread.
    """

    __slots__ = ("_answer", "uuid")

    def __init__(self, request_uuid: str) -> None:
        self.uuid = request_uuid
        self._answer: Future[tuple[BasicProperties, bytes]] = Future()

    def done(self) -> bool:
        return self._answer.done()

    def result(self) -> Any:
        """The decoded result; raises :class:`RemoteError`, :class:`CallTimeoutError`, …"""
        properties, body = self._answer.result()
        headers = properties.headers or {}
        if "exception" in headers:
            raise RemoteError(
                str(headers.get("exception_name", "Exception")),
                str(headers.get("exception", "")),
                str(headers.get("traceback", "")),
                str(headers.get("exception_type", "")),
            )
        try:
            return deserialize(body)
        except Exception as error:
            raise ClientError(f"undecodable answer (UUID {self.uuid}): {error}") from error

    def _resolve(self, answer: tuple[BasicProperties, bytes]) -> None:
        if not self._answer.done():
            self._answer.set_result(answer)

    def _fail(self, error: BaseException) -> None:
        if not self._answer.done():
            self._answer.set_exception(error)


class AlephClient:
    """A connection to the Aleph daemon's exchange, with calls that wait for their answers.

    Args:
        settings: broker and topology settings (default: the configured ones).
        timeout: default deadline of a call, in seconds.
        connect_timeout: how long the constructor waits for the broker.
        fail_fast: give up as soon as every broker node failed one attempt (a command
            line: a broker that is not there is told at once, not after
            ``connect_timeout``), instead of trying again until then.

    Raises:
        ClientError: the broker could not be reached in time; when it refused the
            connection for good (login, vhost, topology), the error's ``__cause__`` is
            the :class:`~edeposit.amqp.errors.FatalBrokerError` saying why.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        fail_fast: bool = False,
    ) -> None:
        self.settings = settings or settings_module.get()
        self.timeout = timeout
        self.name = f"aleph-client-{uuid.uuid4().hex[:12]}"
        cfg = self.settings
        self.reply_queue = self.name
        self.request_key = f"{self.name}.{cfg.RABBITMQ_ALEPH_DAEMON_KEY}"
        self._calls: dict[str, PendingCall] = {}
        self._deadlines = Deadlines(f"{self.name}-deadlines")
        self._lock = threading.Lock()
        base = aleph_topology(cfg)
        topology = Topology(
            base.exchanges,
            (
                *base.queues,
                _answer_queue(self.reply_queue, cfg),
            ),
            (
                *base.bindings,
                Binding(
                    cfg.RABBITMQ_ALEPH_EXCHANGE, self.request_key, cfg.RABBITMQ_ALEPH_DAEMON_QUEUE
                ),
                Binding(
                    cfg.RABBITMQ_ALEPH_EXCHANGE,
                    f"{self.name}.{cfg.RABBITMQ_ALEPH_PLONE_KEY}",
                    self.reply_queue,
                ),
            ),
        )
        self.connection = BrokerConnection(
            node_parameters(cfg), topology, prefetch=0, name=self.name
        )
        self.connection.add_consumer(self.reply_queue, self._on_answer)
        self.connection.start()
        if not self._connected(connect_timeout, fail_fast):
            self.connection.stop(timeout=2.0)
            error = self.connection.fatal_error
            if error is not None:
                raise ClientError(str(error)) from error
            last = self.connection.watch.last_error
            waited = "" if fail_fast else f" in {connect_timeout:g} s"
            raise ClientError(f"broker not reachable{waited}" + (f": {last}" if last else ""))

    def _connected(self, timeout: float, fail_fast: bool) -> bool:
        """Wait until the connection is ready; False when it failed or ``timeout`` passed
        (with ``fail_fast``, also once every node failed an attempt)."""
        nodes = self.connection.nodes
        deadline = time.monotonic() + timeout
        while not self.connection.wait_ready(0.02):
            if not self.connection.is_running or time.monotonic() >= deadline:
                return False
            if fail_fast and nodes.failed_in_turn >= len(nodes.all):
                return False
        return True

    # --- calls ------------------------------------------------------------------------

    def submit(self, request: Message, timeout: float | None = None) -> PendingCall:
        """Publish ``request``; the returned call yields its result within ``timeout``."""
        deadline = self.timeout if timeout is None else timeout
        call = PendingCall(str(uuid.uuid4()))
        with self._lock:
            self._calls[call.uuid] = call
        self._deadlines.add(deadline, lambda: self._expire(call, deadline))
        body = serialize(request).encode("utf-8")
        self._publish(call, body, time.monotonic() + deadline)
        return call

    def _publish(self, call: PendingCall, body: bytes, expires: float) -> None:
        properties = BasicProperties(
            content_type="application/json", delivery_mode=2, headers={"UUID": call.uuid}
        )
        published = self.connection.publish(
            self.settings.RABBITMQ_ALEPH_EXCHANGE,
            self.request_key,
            body,
            properties,
            mandatory=True,
        )
        published.add_done_callback(lambda done: self._on_published(call, done, body, expires))

    def call(self, request: Message, timeout: float | None = None) -> Any:
        """Publish ``request`` and wait for its result; raises what the answer carries."""
        return self.submit(request, timeout).result()

    def search(self, query: Query, timeout: float | None = None) -> list[AlephRecord]:
        """The records matching ``query`` (an ``ISSNQuery`` too), whichever generation's
        form the daemon writes.

        From a 2015 daemon each record carries the publication's ``invalid_ISBN``,
        ``id_number``, ``anotace``, all its ``urls`` and ``internal_urls``, and the
        record's ``semantic_info``. A 2014 daemon sends the 18-field publication (one URL
        of each kind); a 2016 daemon a continuing resource's ``periodical`` (its
        ``parsed_info``) and its ``periodical_semantic_info``. Whatever a record's form
        leaves out is read from its ``xml`` when asked for.
        """
        result = self._expect(self.call(SearchRequest(query), timeout), SearchResult)
        return list(result.records)

    def count(self, query: Query, timeout: float | None = None) -> int:
        """How many records match ``query``."""
        return self._expect(self.call(CountRequest(query), timeout), CountResult).num_of_records

    def validate_isbn(self, isbn: str | ISBNQuery, timeout: float | None = None) -> bool:
        """Whether ``isbn`` is a valid ISBN-10 or ISBN-13."""
        result = self.call(ISBNValidationRequest(isbn), timeout)
        return self._expect(result, ISBNValidationResult).is_valid

    def export(self, epublication: EPublication, timeout: float | None = None) -> str:
        """Send a new publication to the catalogue; the ISBN it was accepted under."""
        return self._expect(self.call(ExportRequest(epublication), timeout), ExportResult).ISBN

    @staticmethod
    def _expect(result: Any, kind: type[T]) -> T:
        if not isinstance(result, kind):
            raise ClientError(f"expected {kind.__name__}, got {type(result).__name__}")
        return result

    # --- answers ----------------------------------------------------------------------

    def _on_published(
        self, call: PendingCall, published: Future[None], body: bytes, expires: float
    ) -> None:
        error = published.exception()
        if error is None or call.done():
            return
        if isinstance(error, BrokerUnavailableError) and time.monotonic() + RETRY_PAUSE < expires:
            # A broker restart or network blip: publish again once reconnected.
            self._deadlines.add(RETRY_PAUSE, lambda: self._publish(call, body, expires))
            return
        self._finish(call, ClientError(f"request not published: {error}"))

    def _on_answer(self, delivery: Delivery) -> None:
        """On the I/O thread: pair the answer with its call, ack it, decode elsewhere."""
        self.connection.ack(delivery)
        headers = delivery.properties.headers or {}
        with self._lock:
            call = self._calls.pop(str(headers.get("UUID")), None)
        if call is None:
            log.info("answer for an unknown or expired call dropped (UUID %r)", headers.get("UUID"))
            return
        call._resolve((delivery.properties, delivery.body))

    def _expire(self, call: PendingCall, deadline: float) -> None:
        if not call.done():
            self._finish(
                call, CallTimeoutError(f"no answer within {deadline:g} s (UUID {call.uuid})")
            )

    def _finish(self, call: PendingCall, error: BaseException) -> None:
        with self._lock:
            self._calls.pop(call.uuid, None)
        call._fail(error)

    # --- life cycle ---------------------------------------------------------------------

    def daemon_consumers(self, timeout: float = 5.0) -> int:
        """How many consumers (daemons) the request queue has now."""
        queue = self.settings.RABBITMQ_ALEPH_DAEMON_QUEUE
        declared = self.connection.call(
            lambda channel, done: channel.queue_declare(queue, passive=True, callback=done)
        )
        return int(declared.result(timeout=timeout).method.consumer_count)

    def close(self) -> None:
        """Remove the client's request binding and its answer queue, then disconnect."""
        cfg = self.settings
        if self.connection.is_ready:
            unbound = self.connection.call(
                lambda channel, done: channel.queue_unbind(
                    cfg.RABBITMQ_ALEPH_DAEMON_QUEUE,
                    cfg.RABBITMQ_ALEPH_EXCHANGE,
                    self.request_key,
                    callback=done,
                )
            )
            deleted = self.connection.call(
                lambda channel, done: channel.queue_delete(self.reply_queue, callback=done)
            )
            for what, future in (("binding", unbound), ("answer queue", deleted)):
                try:
                    future.result(timeout=REMOVAL_WAIT)
                except Exception as error:  # noqa: BLE001 - the queue expires unused anyway
                    why = str(error) or f"no reply within {REMOVAL_WAIT:g} s"
                    log.warning("could not remove the %s of %s: %s", what, self.name, why)
        self.connection.stop(timeout=5.0)
        with self._lock:
            pending = list(self._calls.values())
            self._calls.clear()
        for call in pending:
            call._fail(ClientError("client closed"))
        self._deadlines.close()

    def __enter__(self) -> AlephClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
