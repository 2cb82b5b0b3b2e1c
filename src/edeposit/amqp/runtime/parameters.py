"""``pika.ConnectionParameters`` built from settings: nodes, vhost, credentials, TLS.

What a service may be given instead (:func:`broker_parameters`): any
``pika.connection.Parameters`` (``ConnectionParameters``, ``URLParameters``), an
``amqp://``/``amqps://`` URL, or a list of them — checked where it is given, so a wrong
value is an error at construction, not a crash once the service runs.

A cluster's nodes (RABBITMQ_NODES, else RABBITMQ_HOST:RABBITMQ_PORT) each get
parameters of their own; :func:`node_parameters` lists them in a random order, so a fleet of
services spreads over the cluster, and spreads again when a node goes.

Every connection names its owner (``connection_name``, :func:`owner_name`):
``alephdaemon@mq-host:1234``, the command (or script), the host and the pid, so the
broker's own views (``rabbitmqctl list_connections client_properties``, the management
UI) tell the processes of a fleet apart.
"""

from __future__ import annotations

import copy
import os
import random
import re
import socket
import ssl
import sys
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

import pika

from edeposit.amqp.config import Settings

__all__ = [
    "BrokerAddress",
    "broker_parameters",
    "connection_parameters",
    "describe_broker",
    "describe_node",
    "for_this_process",
    "name_program",
    "node_parameters",
    "owner_name",
    "where",
]

#: The name this process gives itself in its connections (see :func:`name_program`).
_program: str | None = None
#: The URL schemes of an AMQP broker address.
URL_SCHEMES = ("amqp", "amqps")
#: What a service may be given to connect with (see :func:`broker_parameters`).
BrokerAddress = pika.connection.Parameters | str | Sequence[pika.connection.Parameters | str]
_ADVICE = (
    "pass pika.ConnectionParameters or pika.URLParameters, an amqp:// or amqps:// URL, a "
    "list of those (a cluster's nodes), or edeposit.amqp.pikadaemon.connection_parameters()"
)


def broker_parameters(address: object) -> list[pika.connection.Parameters]:
    """The nodes to connect to, in the order to try them, from what a service was given:
    connection parameters, an ``amqp://``/``amqps://`` URL, or a list or tuple of those.
    The parameters given are used as they are (not copied).

    Raises:
        TypeError: anything else; the message names what was given and what to pass.
        ValueError: a URL pika cannot read (it says why), or an empty list.
    """
    if isinstance(address, pika.connection.Parameters | str):
        return [_one_node(address)]
    if isinstance(address, list | tuple):
        if not address:
            raise ValueError(f"no broker node to connect to (an empty list); {_ADVICE}")
        return [_one_node(node) for node in address]
    raise TypeError(f"cannot connect to {_shown(address)}: {_ADVICE}")


def _one_node(node: object) -> pika.connection.Parameters:
    if isinstance(node, pika.connection.Parameters):
        return node
    if not isinstance(node, str):
        raise TypeError(f"cannot connect to {_shown(node)} (in a list of nodes): {_ADVICE}")
    scheme = node.partition("://")[0].lower() if "://" in node else ""
    if scheme not in URL_SCHEMES:
        raise TypeError(f"cannot connect to {_shown(node)}: not an AMQP URL; {_ADVICE}")
    try:
        return pika.URLParameters(node)
    except Exception as error:  # pika says why, in a ValueError, an IndexError…
        raise ValueError(f"cannot read the broker URL {_shown(node)}: {error}") from error


def _shown(value: object) -> str:
    """``value`` for an error message: its type, and a URL without its password."""
    if isinstance(value, str):
        try:
            parts = urllib.parse.urlsplit(value)
            if parts.password:
                netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
                value = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
        except ValueError:  # not even a URL's shape: shown as it is
            pass
        return f"the string {str(value)[:120]!r}"
    kind = type(value)
    module = "" if kind.__module__ == "builtins" else f"{kind.__module__}."
    return f"{module}{kind.__qualname__} {repr(value)[:120]}"


def name_program(name: str) -> None:
    """Call this process ``name`` in its broker connections; each command's ``main`` does
    (without it, the script's name is used). The first name given stays: a command that
    runs another in its process (the demo runs ``amqp_tool``) keeps its own."""
    global _program  # noqa: PLW0603 - one name per process, like its argv[0]
    if _program is None:
        _program = name


def _program_name(argv: Sequence[str]) -> str:
    """The name :func:`name_program` gave, else the script's (``python -m pkg``: ``pkg``)."""
    if _program:
        return _program
    script = Path(argv[0]) if argv and argv[0] not in ("", "-", "-c", "-m") else None
    if script is None:
        return "python"
    if script.name == "__main__.py":
        script = script.parent
    return script.name.removesuffix(".py") or "python"


def owner_name() -> str:
    """``program@host:pid``: the process a connection belongs to, as the broker shows it."""
    return f"{_program_name(sys.argv)}@{socket.gethostname()}:{os.getpid()}"


def for_this_process(parameters: pika.connection.Parameters) -> pika.connection.Parameters:
    """``parameters`` named for this process: a name :func:`owner_name` gave in the
    process that built them (before a fork: a detached daemon) gets this one's pid, and
    parameters without a name (a URL's) get this process's; a name of one's own stays."""
    properties = parameters.client_properties or {}
    name = properties.get("connection_name")
    owner = owner_name()
    pattern = re.escape(owner.rpartition(":")[0]) + r":\d+"
    if name is not None and (
        not isinstance(name, str) or name == owner or not re.fullmatch(pattern, name)
    ):
        return parameters
    renamed = copy.copy(parameters)
    renamed.client_properties = {**properties, "connection_name": owner}
    return renamed


def connection_parameters(
    settings: Settings,
    *,
    virtual_host: str | None = None,
    quick: bool = False,
    node: tuple[str, int] | None = None,
    tls: ssl.SSLContext | None = None,
) -> pika.ConnectionParameters:
    """Parameters for one broker node: ``node``, else the first configured one (vhost
    RABBITMQ_ALEPH_VIRTUALHOST by default).

    ``quick`` shortens every timeout, for one-shot health checks and tools; ``tls`` is
    the TLS context to use (one is made from the settings when TLS is on and none given).
    """
    host, port = node or settings.broker_nodes()[0]
    timeout = (
        min(3.0, settings.RABBITMQ_CONNECT_TIMEOUT)
        if quick
        else (settings.RABBITMQ_CONNECT_TIMEOUT)
    )
    ssl_options = None
    if settings.RABBITMQ_USE_TLS:
        # The certificate is checked against the name of the node connected to.
        ssl_options = pika.SSLOptions(tls or _tls_context(settings), server_hostname=host)
    return pika.ConnectionParameters(
        host=host,
        port=port,
        virtual_host=virtual_host or settings.RABBITMQ_ALEPH_VIRTUALHOST,
        credentials=pika.PlainCredentials(
            settings.RABBITMQ_USER_NAME, settings.RABBITMQ_USER_PASSWORD
        ),
        heartbeat=settings.RABBITMQ_HEARTBEAT,
        blocked_connection_timeout=max(60.0, 2.0 * settings.RABBITMQ_HEARTBEAT),
        socket_timeout=timeout,
        stack_timeout=timeout * 2,
        connection_attempts=1,
        ssl_options=ssl_options,
        client_properties={"connection_name": owner_name()},
    )


def node_parameters(
    settings: Settings,
    *,
    virtual_host: str | None = None,
    quick: bool = False,
    start: int | None = None,
) -> list[pika.ConnectionParameters]:
    """Parameters of every broker node, in the order to try them: from node ``start``
    round the list; with no ``start``, in a random order, so that services spread over
    the cluster at start and again when their node goes (not all onto its neighbour)."""
    nodes = settings.broker_nodes()
    if start is None:
        order = random.sample(nodes, len(nodes))
    else:
        first = start % len(nodes)
        order = [*nodes[first:], *nodes[:first]]
    tls = _tls_context(settings) if settings.RABBITMQ_USE_TLS else None
    return [
        connection_parameters(settings, virtual_host=virtual_host, quick=quick, node=node, tls=tls)
        for node in order
    ]


def _tls_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.RABBITMQ_TLS_CA_FILE or None)
    context.check_hostname = settings.RABBITMQ_TLS_VERIFY_HOSTNAME
    if settings.RABBITMQ_TLS_CERT_FILE:
        context.load_cert_chain(
            settings.RABBITMQ_TLS_CERT_FILE, settings.RABBITMQ_TLS_KEY_FILE or None
        )
    return context


def describe_node(host: str, port: int) -> str:
    """``host:port``, an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def describe_broker(settings: Settings, virtual_host: str | None = None) -> str:
    """``amqp://user@host:port/vhost``, the nodes of a cluster joined by commas (never
    the password)."""
    scheme = "amqps" if settings.RABBITMQ_USE_TLS else "amqp"
    vhost = virtual_host or settings.RABBITMQ_ALEPH_VIRTUALHOST
    nodes = ",".join(describe_node(host, port) for host, port in settings.broker_nodes())
    return f"{scheme}://{settings.RABBITMQ_USER_NAME}@{nodes}/{vhost}"


def where(parameters: pika.connection.Parameters) -> str:
    """``amqp://host:port/vhost`` of connection parameters (no credentials)."""
    scheme = "amqps" if parameters.ssl_options else "amqp"
    node = describe_node(parameters.host, parameters.port)
    return f"{scheme}://{node}/{parameters.virtual_host}"
