"""Why a broker connection failed, in one line that says how to fix it.

pika wraps socket and protocol errors in its own; :func:`root_cause` digs the real one
out, and :func:`describe_open_error` turns it into the sentence an operator needs:
refused login, missing vhost, TLS, or a broker that is not there.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Sequence
from typing import Any

import pika
import pika.exceptions

from edeposit.amqp.runtime.logs import bounded
from edeposit.amqp.runtime.parameters import where

log = logging.getLogger(__name__)

__all__ = [
    "describe_open_error",
    "is_refusal",
    "is_tls_refusal",
    "reason_of",
    "root_cause",
    "unroutable_logger",
]


def root_cause(error: BaseException) -> BaseException:
    """The socket or protocol error that pika's connection errors wrap."""
    while True:
        inner = getattr(error, "exception", None)
        attempts = getattr(error, "exceptions", None)  # pika's connection workflow
        if not isinstance(inner, BaseException) and attempts and isinstance(attempts, tuple):
            inner = attempts[-1]
        if not isinstance(inner, BaseException) and error.args:
            inner = error.args[0]
        if not isinstance(inner, BaseException):
            return error
        error = inner


def reason_of(error: BaseException) -> str:
    """Why a connection failed, never empty: the root cause's class and text (some of
    pika's errors have no text of their own)."""
    cause = root_cause(error)
    text = str(cause)
    return f"{type(cause).__name__}: {text}" if text.strip("() ") else type(cause).__name__


def describe_open_error(
    parameters: pika.connection.Parameters | Sequence[pika.connection.Parameters],
    error: BaseException,
) -> str:
    """One line saying why a connection was refused and how to fix it (``parameters``:
    the node tried, or every node of a cluster that was tried)."""
    nodes = [parameters] if isinstance(parameters, pika.connection.Parameters) else parameters
    parameters = nodes[0]
    address = ", ".join(where(node) for node in nodes)
    question = (
        "are they running and is RABBITMQ_NODES right?"
        if len(nodes) > 1
        else "is it running and are RABBITMQ_HOST and RABBITMQ_PORT right?"
    )
    user = getattr(parameters.credentials, "username", "?")
    error = root_cause(error)
    if isinstance(error, pika.exceptions.ProbableAccessDeniedError):
        return (
            f"access to vhost {parameters.virtual_host!r} on {address} refused for user {user!r}: "
            f"create it and grant access with `rabbitmqctl add_vhost {parameters.virtual_host}` "
            f"and `rabbitmqctl set_permissions -p {parameters.virtual_host} {user} '.*' '.*' '.*'`"
        )
    if isinstance(
        error, pika.exceptions.ProbableAuthenticationError | pika.exceptions.AuthenticationError
    ):
        return (
            f"login to {address} refused for user {user!r}: check RABBITMQ_USER_NAME and "
            f"RABBITMQ_USER_PASSWORD (or `rabbitmqctl change_password {user} …`)"
        )
    reason = str(error) or type(error).__name__
    if "SSL" in reason or "certificate" in reason:
        return (
            f"TLS handshake with {address} failed: {reason}; check RABBITMQ_TLS_CA_FILE, "
            "RABBITMQ_TLS_CERT_FILE and RABBITMQ_TLS_KEY_FILE"
        )
    return (
        f"cannot reach RabbitMQ at {address}: {reason}; {question} "
        "(start it with `rabbitmq-server -detached` or "
        "`systemctl start rabbitmq-server`)"
    )


def is_tls_refusal(error: BaseException) -> bool:
    """Whether a connection failed in TLS (a refused certificate stays refused).

    With TLS 1.3 the server's alert arrives after the handshake, so pika reports it as
    a lost stream whose text names the ``SSLError``; hence the text check.
    """
    cause = root_cause(error)
    return isinstance(cause, ssl.SSLError) or "SSLError(" in str(cause)


def is_refusal(error: BaseException) -> bool:
    """Whether the broker refused the connection for good: login, vhost access or TLS."""
    return isinstance(
        error,
        pika.exceptions.ProbableAuthenticationError
        | pika.exceptions.ProbableAccessDeniedError
        | pika.exceptions.AuthenticationError,
    ) or is_tls_refusal(error)


def unroutable_logger(name: str) -> Callable[..., None]:
    """A channel's return callback: one warning per message no queue took."""

    def on_return(channel: Any, method: Any, properties: Any, body: bytes) -> None:
        headers = properties.headers or {}
        uuid = headers.get("UUID") if isinstance(headers, dict) else None
        log.warning(
            "%s: message to exchange %r key %r was unroutable (UUID %s): %s",
            name,
            method.exchange,
            method.routing_key,
            bounded(repr(uuid)),  # a sender chose it: a line quotes it cut
            method.reply_text,
        )

    return on_return
