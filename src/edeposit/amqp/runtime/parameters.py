"""``pika.ConnectionParameters`` built from settings: host, vhost, credentials, TLS."""

from __future__ import annotations

import ssl

import pika

from edeposit.amqp.config import Settings

__all__ = ["connection_parameters", "describe_broker", "where"]


def connection_parameters(
    settings: Settings, *, virtual_host: str | None = None, quick: bool = False
) -> pika.ConnectionParameters:
    """Parameters for the configured broker (vhost RABBITMQ_ALEPH_VIRTUALHOST by default).

    ``quick`` shortens every timeout, for one-shot health checks and tools.
    """
    timeout = (
        min(3.0, settings.RABBITMQ_CONNECT_TIMEOUT)
        if quick
        else (settings.RABBITMQ_CONNECT_TIMEOUT)
    )
    return pika.ConnectionParameters(
        host=settings.RABBITMQ_HOST,
        port=settings.RABBITMQ_PORT,
        virtual_host=virtual_host or settings.RABBITMQ_ALEPH_VIRTUALHOST,
        credentials=pika.PlainCredentials(
            settings.RABBITMQ_USER_NAME, settings.RABBITMQ_USER_PASSWORD
        ),
        heartbeat=settings.RABBITMQ_HEARTBEAT,
        blocked_connection_timeout=max(60.0, 2.0 * settings.RABBITMQ_HEARTBEAT),
        socket_timeout=timeout,
        stack_timeout=timeout * 2,
        connection_attempts=1,
        ssl_options=_tls_options(settings) if settings.RABBITMQ_USE_TLS else None,
        client_properties={"connection_name": "edeposit-amqp"},
    )


def _tls_options(settings: Settings) -> pika.SSLOptions:
    context = ssl.create_default_context(cafile=settings.RABBITMQ_TLS_CA_FILE or None)
    context.check_hostname = settings.RABBITMQ_TLS_VERIFY_HOSTNAME
    if settings.RABBITMQ_TLS_CERT_FILE:
        context.load_cert_chain(
            settings.RABBITMQ_TLS_CERT_FILE, settings.RABBITMQ_TLS_KEY_FILE or None
        )
    return pika.SSLOptions(context, server_hostname=settings.RABBITMQ_HOST)


def describe_broker(settings: Settings, virtual_host: str | None = None) -> str:
    """``amqp://user@host:port/vhost`` (never the password)."""
    scheme = "amqps" if settings.RABBITMQ_USE_TLS else "amqp"
    vhost = virtual_host or settings.RABBITMQ_ALEPH_VIRTUALHOST
    return (
        f"{scheme}://{settings.RABBITMQ_USER_NAME}@{settings.RABBITMQ_HOST}:"
        f"{settings.RABBITMQ_PORT}/{vhost}"
    )


def where(parameters: pika.ConnectionParameters) -> str:
    """``amqp://host:port/vhost`` of connection parameters (no credentials)."""
    scheme = "amqps" if parameters.ssl_options else "amqp"
    return f"{scheme}://{parameters.host}:{parameters.port}/{parameters.virtual_host}"
