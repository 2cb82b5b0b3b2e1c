"""Answers on the wire (docs/messages.md): results, error answers, where they go.

An :data:`Answer` is the body and properties the daemon publishes for one request. A
result is ``application/json``; an error is ``application/text`` with the message as
body and the headers ``exception``, ``exception_name``, ``exception_type`` and
``traceback``, which clients detect. Both echo the request's ``UUID`` header byte for
byte, go to the output exchange under the result key (``a.b.request`` → ``a.b.result``)
and, when the request named ``reply_to``, also there with a ``correlation_id``.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from typing import Any

import pika.data
from pika.spec import BasicProperties

from edeposit.amqp.runtime.envelopes import Outgoing
from edeposit.amqp.runtime.frames import RawField

__all__ = [
    "Answer",
    "addressed",
    "app_id",
    "error_answer",
    "header_text",
    "request_uuid",
    "result_answer",
    "result_key",
]

log = logging.getLogger(__name__)

#: Longest AMQP short string (``correlation_id``), in bytes.
MAX_SHORT_STRING = 255

#: ``(body, properties)`` of an answer, ready to publish.
Answer = tuple[bytes, BasicProperties]


def result_key(request_key: str, default: str) -> str:
    """The routing key of the answer: ``a.b.request`` → ``a.b.result``, else ``default``."""
    prefix, dot, last = request_key.rpartition(".")
    if dot and last == "request" and prefix:
        return f"{prefix}.result"
    return default


def request_uuid(properties: BasicProperties) -> Any:
    """The request's ``UUID`` header as it must be echoed: the raw field where decoding
    would change it (see :mod:`edeposit.amqp.runtime.frames`), else the value; None if
    there is none."""
    raw = getattr(properties, "raw_uuid", None)
    if raw is not None:
        return raw
    headers = properties.headers
    if isinstance(headers, dict) and "UUID" in headers:
        return headers["UUID"]
    return None


def result_answer(payload: bytes, uuid: Any, request: BasicProperties) -> Answer:
    """A serialized result answering the request whose properties are ``request``."""
    return payload, BasicProperties(
        content_type="application/json",
        delivery_mode=2,
        headers={"UUID": uuid},
        correlation_id=request.correlation_id,
    )


def error_answer(error: BaseException, uuid: Any, request: BasicProperties) -> Answer:
    """An error answer: ``application/text``, the message as body, details in headers."""
    message = str(error)
    headers = {
        "UUID": uuid,
        "exception": message,
        "exception_name": type(error).__name__,
        "exception_type": str(type(error)),
        "traceback": "".join(traceback.format_exception(error)),
    }
    properties = BasicProperties(
        content_type="application/text",
        delivery_mode=2,
        headers=headers,
        correlation_id=request.correlation_id,
    )
    return message.encode("utf-8", "replace"), properties


def addressed(
    answer: Answer,
    *,
    exchange: str,
    routing_key: str,
    request: BasicProperties,
    sender: str,
) -> list[Outgoing]:
    """``answer`` to ``exchange``/``routing_key``, and to the request's ``reply_to`` if set.

    ``sender`` goes into ``app_id``: which of many daemons answered.
    """
    payload, properties = answer
    properties.app_id = sender
    messages = [Outgoing(exchange, routing_key, payload, properties)]
    if not request.reply_to:
        return messages
    correlation_id = request.correlation_id or header_text(properties.headers["UUID"])
    if len(str(correlation_id).encode("utf-8", "replace")) > MAX_SHORT_STRING:
        log.warning(
            "UUID %.60s…: no copy to reply_to %r: the UUID is too long for a correlation_id",
            correlation_id,
            request.reply_to,
        )
        return messages
    direct = BasicProperties(
        content_type=properties.content_type,
        delivery_mode=properties.delivery_mode,
        headers=properties.headers,
        correlation_id=correlation_id,
        app_id=sender,
    )
    messages.append(Outgoing("", request.reply_to, payload, direct, required=False))
    return messages


def app_id() -> str:
    """This process as it signs its answers: ``alephdaemon@host:pid``."""
    return f"alephdaemon@{socket.gethostname()}:{os.getpid()}"


def header_text(value: Any) -> str:
    """A header value as text, for logs and ``correlation_id``: raw fields decoded where
    pika can, byte strings as UTF-8."""
    if isinstance(value, RawField):
        try:
            value, _ = pika.data.decode_value(bytes(value), 0)
        except (Exception, RecursionError):  # noqa: BLE001 - shown as it came
            return repr(bytes(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
