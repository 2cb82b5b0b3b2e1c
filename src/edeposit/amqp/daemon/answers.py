"""Answers on the wire (docs/messages.md): results, error answers, where they go.

An :data:`Answer` is the body and properties the daemon publishes for one request. A
result is ``application/json``; an error is ``application/text`` with the message as
body and the headers ``exception``, ``exception_name``, ``exception_type`` and
``traceback``, which clients detect. Both echo the request's ``UUID`` header byte for
byte, go to the output exchange under the result key (``a.b.request`` → ``a.b.result``)
and, when the request named an allowed ``reply_to``
(:mod:`~edeposit.amqp.daemon.reply_to`), also there with a ``correlation_id``.

Everything an answer carries is bounded: error texts (which may quote a request) are cut
to :data:`MAX_ERROR_TEXT` bytes, and :func:`fitted` keeps the whole header table inside
the connection's frame (:mod:`~edeposit.amqp.runtime.frame_limits`) — shrinking the
error texts further when a long ``UUID`` needs the room, and saying so (``None``) when
not even the ``UUID`` fits, so the request is set aside instead of killing the
connection again and again.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from typing import Any

import pika.data
from pika.spec import BasicProperties

from edeposit.amqp.runtime.answering import DIRECT_REPLY_TO
from edeposit.amqp.runtime.envelopes import Outgoing
from edeposit.amqp.runtime.frame_limits import cut_text, properties_size
from edeposit.amqp.runtime.frames import RawField

__all__ = [
    "ADDED_LATER",
    "MAX_ERROR_TEXT",
    "Answer",
    "addressed",
    "app_id",
    "error_answer",
    "fitted",
    "header_text",
    "request_uuid",
    "result_answer",
    "result_key",
]

log = logging.getLogger(__name__)

#: Longest AMQP short string (``correlation_id``), in bytes.
MAX_SHORT_STRING = 255
#: Longest ``exception`` and ``traceback`` header (and error body), in UTF-8 bytes.
MAX_ERROR_TEXT = 4096
#: What the error texts shrink to when a long ``UUID`` needs the frame's room.
SHRUNK_ERROR_TEXT = 256
#: Bytes of properties set after an answer is fitted to a frame: ``app_id`` and, on a
#: ``reply_to`` copy, ``correlation_id`` (each an AMQP short string).
ADDED_LATER = 2 * (1 + MAX_SHORT_STRING) + 8
#: Longest line of a traceback (the last one repeats the error's message).
_TRACEBACK_LINE = 512

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
    """An error answer: ``application/text``, the message as body, details in headers,
    each text at most :data:`MAX_ERROR_TEXT` bytes."""
    message = cut_text(str(error), MAX_ERROR_TEXT)
    headers = {
        "UUID": uuid,
        "exception": message,
        "exception_name": cut_text(type(error).__name__, MAX_SHORT_STRING),
        "exception_type": cut_text(str(type(error)), MAX_SHORT_STRING),
        "traceback": traceback_text(error, MAX_ERROR_TEXT),
    }
    properties = BasicProperties(
        content_type="application/text",
        delivery_mode=2,
        headers=headers,
        correlation_id=request.correlation_id,
    )
    return message.encode("utf-8", "replace"), properties


def traceback_text(error: BaseException, limit: int) -> str:
    """``error``'s traceback in at most ``limit`` bytes: each line cut, then the start
    dropped (the innermost frames and the error itself come last)."""
    lines = traceback.format_exception(error)
    text = "".join(cut_text(line, _TRACEBACK_LINE) for line in lines)
    return cut_text(text, limit, keep_end=True)


def fitted(answer: Answer, room: int) -> Answer | None:
    """``answer`` with properties of at most ``room`` bytes, or None when that cannot be.

    An error answer whose ``UUID`` leaves too little room has its texts shrunk to
    :data:`SHRUNK_ERROR_TEXT` bytes (the body too); a ``UUID`` that alone fills the frame
    (or a header pika cannot encode) leaves nothing to send.
    """
    properties = answer[1]
    try:
        if properties_size(properties) <= room:
            return answer
        headers = properties.headers
        if "exception" not in headers:
            return None
        short = cut_text(headers["exception"], SHRUNK_ERROR_TEXT)
        headers["exception"] = short
        headers["traceback"] = cut_text(headers["traceback"], SHRUNK_ERROR_TEXT, keep_end=True)
        if properties_size(properties) <= room:
            return short.encode("utf-8", "replace"), properties
    except Exception:  # a header pika cannot encode cannot be sent either
        log.debug("answer properties cannot be encoded", exc_info=True)
    return None


def addressed(
    answer: Answer,
    *,
    exchange: str,
    routing_key: str,
    request: BasicProperties,
    sender: str,
    reply_to: str | None = None,
) -> list[Outgoing]:
    """``answer`` to ``exchange``/``routing_key``, and to ``reply_to`` if given (the
    request's, once the daemon's policy allowed it).

    ``sender`` goes into ``app_id``: which of many daemons answered.
    """
    payload, properties = answer
    properties.app_id = sender
    messages = [Outgoing(exchange, routing_key, payload, properties)]
    if not reply_to:
        return messages
    correlation_id = request.correlation_id or header_text(properties.headers["UUID"])
    if len(str(correlation_id).encode("utf-8", "replace")) > MAX_SHORT_STRING:
        log.warning(
            "UUID %.60s…: no copy to reply_to %r: the UUID is too long for a correlation_id",
            correlation_id,
            reply_to,
        )
        return messages
    direct = BasicProperties(
        content_type=properties.content_type,
        delivery_mode=properties.delivery_mode,
        headers=properties.headers,
        correlation_id=correlation_id,
        app_id=sender,
    )
    # RabbitMQ returns a mandatory message to Direct Reply-to as unroutable although it
    # delivered it: only copies to queues are mandatory.
    mandatory = not reply_to.startswith(DIRECT_REPLY_TO)
    messages.append(Outgoing("", reply_to, payload, direct, mandatory, required=False))
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
