"""The servers ``services_bench`` measures the daemon against (each runs in a subprocess).

* :func:`serve_baseline`   the original design: one thread, prefetch 1, publish without
  confirms, ack after answering;
* :func:`serve_minimal`    the ceiling: asynchronous pika on one thread, no confirms, the
  handler's time as a timer, acked at once;
* :func:`serve_threadpool` the usual plain pika server: a ``BlockingConnection`` with
  prefetch 32, the handler in a ``ThreadPoolExecutor(32)``, the reply's publish and the
  ack handed back to the connection's thread with ``add_callback_threadsafe``, no
  confirms.

All answer every request with the same ~4 KB reply (:func:`bench_reply`) under the
result key, persistent except the original design's, echoing the ``UUID`` header.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pika
import pika.exceptions

__all__ = [
    "REPLY_XML",
    "bench_reply",
    "catalogue_answer",
    "serve_baseline",
    "serve_minimal",
    "serve_threadpool",
    "sleeping_answer",
]

REPLY_XML = "<record>" + "y" * 3900 + "</record>"  # makes a reply about 4 KB

#: The thread-pool peer's threads and prefetch: the daemon's default workers.
THREADPOOL_SIZE = 32


def bench_reply() -> bytes:
    """The serialized ``SearchResult`` every bench server answers with (about 4 KB)."""
    from edeposit.amqp import aleph  # noqa: PLC0415
    from edeposit.amqp.serializers import serialize  # noqa: PLC0415

    record = aleph.AlephRecord("nkc", "NKC01", 1, REPLY_XML, aleph.EPublication.empty(nazev="x"))
    return serialize(aleph.SearchResult([record])).encode()


def sleeping_answer(delay: float) -> Callable[[bytes], bytes]:
    """The fixed ~4 KB reply after ``delay`` seconds (the handler of the sleep modes)."""
    reply = bench_reply()

    def answer(body: bytes) -> bytes:
        if delay:
            time.sleep(delay)
        return reply

    return answer


def catalogue_answer() -> Callable[[bytes], bytes]:
    """The answer of an Aleph service, as the original design computed it (no daemon)."""
    from edeposit.amqp import settings  # noqa: PLC0415
    from edeposit.amqp.catalogue.service import AlephService  # noqa: PLC0415
    from edeposit.amqp.serializers import deserialize, serialize  # noqa: PLC0415

    service = AlephService(settings.get())
    return lambda body: serialize(service.handle(deserialize(body))).encode()


def _reply_properties(properties: Any, delivery_mode: int) -> pika.BasicProperties:
    return pika.BasicProperties(
        content_type="application/json",
        delivery_mode=delivery_mode,
        headers={"UUID": properties.headers["UUID"]},
    )


def serve_baseline(answer: Callable[[bytes], bytes]) -> None:
    """The original design: one thread, prefetch 1, no confirms, ack after answering."""
    from edeposit.amqp import settings  # noqa: PLC0415
    from edeposit.amqp.daemon.answers import result_key  # noqa: PLC0415
    from edeposit.amqp.runtime.parameters import connection_parameters  # noqa: PLC0415

    cfg = settings.get()
    connection = pika.BlockingConnection(connection_parameters(cfg))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=1)
    signal.signal(signal.SIGTERM, lambda *_: channel.stop_consuming())

    def on_message(ch: Any, method: Any, properties: Any, body: bytes) -> None:
        ch.basic_publish(
            cfg.RABBITMQ_ALEPH_EXCHANGE,
            result_key(method.routing_key, cfg.RABBITMQ_ALEPH_PLONE_KEY),
            answer(body),
            _reply_properties(properties, delivery_mode=1),
        )
        ch.basic_ack(method.delivery_tag)

    channel.basic_consume(cfg.RABBITMQ_ALEPH_DAEMON_QUEUE, on_message)
    channel.start_consuming()
    connection.close()


def serve_minimal(delay: float) -> None:
    """The ceiling: asynchronous pika on one thread, no confirms, ack at once."""
    from pika.adapters.select_connection import SelectConnection  # noqa: PLC0415

    from edeposit.amqp import settings  # noqa: PLC0415
    from edeposit.amqp.daemon.answers import result_key  # noqa: PLC0415
    from edeposit.amqp.runtime.parameters import connection_parameters  # noqa: PLC0415

    cfg = settings.get()
    reply = bench_reply()

    def on_channel(channel: Any) -> None:
        channel.basic_qos(prefetch_count=cfg.ALEPH_DAEMON_WORKERS)

        def on_message(ch: Any, method: Any, properties: Any, body: bytes) -> None:
            def answer() -> None:
                ch.basic_publish(
                    cfg.RABBITMQ_ALEPH_EXCHANGE,
                    result_key(method.routing_key, cfg.RABBITMQ_ALEPH_PLONE_KEY),
                    reply,
                    _reply_properties(properties, delivery_mode=2),
                )
                ch.basic_ack(method.delivery_tag)

            connection.ioloop.call_later(delay, answer)

        channel.basic_consume(cfg.RABBITMQ_ALEPH_DAEMON_QUEUE, on_message)

    connection = SelectConnection(
        connection_parameters(cfg),
        on_open_callback=lambda opened: opened.channel(on_open_callback=on_channel),
    )
    signal.signal(signal.SIGTERM, lambda *_: connection.ioloop.stop())
    connection.ioloop.start()


def serve_threadpool(answer: Callable[[bytes], bytes], size: int = THREADPOOL_SIZE) -> None:
    """The plain pika thread-pool server: prefetch ``size``, ``ThreadPoolExecutor(size)``
    runs ``answer``; the publish (persistent, no confirms) and the ack go back to the
    connection's thread through ``add_callback_threadsafe``."""
    from edeposit.amqp import settings  # noqa: PLC0415
    from edeposit.amqp.daemon.answers import result_key  # noqa: PLC0415
    from edeposit.amqp.runtime.parameters import connection_parameters  # noqa: PLC0415

    cfg = settings.get()
    connection = pika.BlockingConnection(connection_parameters(cfg))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=size)
    executor = ThreadPoolExecutor(size, thread_name_prefix="handler")
    signal.signal(signal.SIGTERM, lambda *_: channel.stop_consuming())

    def handle(method: Any, properties: Any, body: bytes) -> None:
        reply = answer(body)
        key = result_key(method.routing_key, cfg.RABBITMQ_ALEPH_PLONE_KEY)
        reply_properties = _reply_properties(properties, delivery_mode=2)

        def publish_and_ack() -> None:  # on the connection's thread
            channel.basic_publish(cfg.RABBITMQ_ALEPH_EXCHANGE, key, reply, reply_properties)
            channel.basic_ack(method.delivery_tag)

        # Stopping: the connection is closing, the broker redelivers the request.
        with contextlib.suppress(pika.exceptions.ConnectionWrongStateError):
            connection.add_callback_threadsafe(publish_and_ack)

    def on_message(ch: Any, method: Any, properties: Any, body: bytes) -> None:
        executor.submit(handle, method, properties, body)

    channel.basic_consume(cfg.RABBITMQ_ALEPH_DAEMON_QUEUE, on_message)
    channel.start_consuming()
    executor.shutdown(wait=True, cancel_futures=True)
    connection.close()
