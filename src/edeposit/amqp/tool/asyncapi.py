"""The message contract as an AsyncAPI 3.0 document (``amqp_tool --asyncapi``, docs/asyncapi.json).

Generated, never written by hand: the channels from the topology the settings name
(:func:`~edeposit.amqp.runtime.topology.aleph_topology`), the messages and their JSON
Schemas from the registry of message classes, each field described by the kind that
decodes it (:mod:`edeposit.amqp.wire.schema`). So the schemas say what the daemon
accepts, real clients' lenient forms included, and cannot drift from the decoder.

The document speaks for the Aleph daemon: it receives requests on every exchange's
request key and sends each answer, a result or an error, to
``RABBITMQ_ALEPH_EXCHANGE`` under the result key.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

# Importing the model registers every message class the document describes.
from edeposit.amqp.aleph import REQUEST_TYPES, RESULT_TYPES
from edeposit.amqp.config import Settings
from edeposit.amqp.runtime.topology import aleph_topology
from edeposit.amqp.wire.message import REGISTRY, Message
from edeposit.amqp.wire.schema import registry_schemas

__all__ = ["ERROR_MESSAGE", "asyncapi_document"]

#: The name of the error answer among the messages (a text body, not a class).
ERROR_MESSAGE = "ErrorAnswer"
#: The version of the AMQP bindings the document uses.
_BINDING_VERSION = "0.3.0"
#: Error classes clients act on by name (docs/messages.md, Errors).
_CONTRACT_ERRORS = [
    "AlephException",
    "InvalidAlephBaseException",
    "InvalidAlephFieldException",
    "LibraryNotFoundException",
    "DocumentNotFoundException",
    "ExportException",
    "InvalidISBNException",
    "ExportRejectedException",
]

Document = dict[str, Any]


def _reference(*path: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(path)}


def _headers() -> dict[str, Document]:
    uuid: Document = {
        "type": "string",
        "description": "Opaque: any string (a uuid4, or a JSON document as some clients"
        " send). The answer echoes it byte for byte; clients pair answers by it.",
    }
    text: Document = {"type": "string"}
    return {
        "RequestHeaders": {
            "type": "object",
            "properties": {"UUID": uuid},
            "required": ["UUID"],
            "description": "A request without UUID is acked and dropped, unanswered.",
        },
        "ResultHeaders": {"type": "object", "properties": {"UUID": uuid}, "required": ["UUID"]},
        "ErrorHeaders": {
            "type": "object",
            "properties": {
                "UUID": uuid,
                "exception": {**text, "description": "The message; its presence marks an error."},
                "exception_name": {
                    **text,
                    "description": "type(error).__name__; clients act on these names: "
                    + ", ".join(_CONTRACT_ERRORS),
                    "examples": _CONTRACT_ERRORS,
                },
                "exception_type": {**text, "description": "str(type(error))"},
                "traceback": text,
            },
            "required": ["UUID", "exception", "exception_name", "exception_type", "traceback"],
        },
    }


def _message(cls: type[Message], headers: str) -> Document:
    summary = (cls.__doc__ or cls.__name__).strip().split("\n")[0]
    return {
        "name": cls.__name__,
        "title": cls.__name__,
        "summary": summary,
        "contentType": "application/json",
        "correlationId": {"location": "$message.header#/UUID"},
        "headers": _reference("components", "schemas", headers),
        "payload": _reference("components", "schemas", cls.__name__),
    }


def _error_message() -> Document:
    return {
        "name": ERROR_MESSAGE,
        "title": "Error answer",
        "summary": "A request could not be answered: str(error) as the body, the details"
        " in the exception* headers.",
        "contentType": "application/text",
        "correlationId": {"location": "$message.header#/UUID"},
        "headers": _reference("components", "schemas", "ErrorHeaders"),
        "payload": {"type": "string"},
    }


def _channel(exchange: str, key: str, queue: str, messages: list[str], vhost: str) -> Document:
    return {
        "address": key,
        "title": f"{exchange}['{key}']",
        "description": f"Routing key {key!r} of the topic exchange {exchange!r}, bound to"
        f" the queue {queue!r}.",
        "messages": {name: _reference("components", "messages", name) for name in messages},
        "bindings": {
            "amqp": {
                "is": "routingKey",
                "exchange": {
                    "name": exchange,
                    "type": "topic",
                    "durable": True,
                    "autoDelete": False,
                    "vhost": vhost,
                },
                "bindingVersion": _BINDING_VERSION,
            }
        },
    }


def _servers(settings: Settings) -> Document:
    # A cluster's nodes where the settings name them (RABBITMQ_NODES, docs/settings.md).
    nodes = tuple(getattr(settings, "RABBITMQ_NODES", ()) or ()) or (
        f"{settings.RABBITMQ_HOST}:{settings.RABBITMQ_PORT}",
    )
    return {
        f"node{index}": {
            "host": node,
            "protocol": "amqps" if settings.RABBITMQ_USE_TLS else "amqp",
            "protocolVersion": "0.9.1",
            "pathname": "/" + settings.RABBITMQ_ALEPH_VIRTUALHOST,
            "description": "A RabbitMQ node; the virtual host is the path.",
        }
        for index, node in enumerate(nodes, 1)
    }


def asyncapi_document(settings: Settings) -> Document:
    """The AsyncAPI 3.0 document of the Aleph services named by ``settings``."""
    vhost = settings.RABBITMQ_ALEPH_VIRTUALHOST
    requests = [cls.__name__ for cls in REQUEST_TYPES]
    answers = [*(cls.__name__ for cls in RESULT_TYPES), ERROR_MESSAGE]
    queues = {settings.RABBITMQ_ALEPH_DAEMON_QUEUE, settings.RABBITMQ_ALEPH_PLONE_QUEUE}
    channels: Document = {}
    receiving: list[str] = []
    for binding in aleph_topology(settings).bindings:
        if binding.queue not in queues:  # a quorum queue's dead letters: no client's business
            continue
        incoming = binding.routing_key == settings.RABBITMQ_ALEPH_DAEMON_KEY
        name = f"{binding.exchange}.{binding.routing_key}"
        channels[name] = _channel(
            binding.exchange,
            binding.routing_key,
            binding.queue,
            requests if incoming else answers,
            vhost,
        )
        if incoming:
            receiving.append(name)
    answer_channel = f"{settings.RABBITMQ_ALEPH_EXCHANGE}.{settings.RABBITMQ_ALEPH_PLONE_KEY}"
    replies = [_reference("channels", answer_channel, "messages", name) for name in answers]
    operations: Document = {
        f"receive.{name}": {
            "action": "receive",
            "title": f"Answer requests published to {channels[name]['title']}",
            "channel": _reference("channels", name),
            "messages": [_reference("channels", name, "messages", item) for item in requests],
            "reply": {"channel": _reference("channels", answer_channel), "messages": replies},
            "bindings": {"amqp": {"ack": True, "bindingVersion": _BINDING_VERSION}},
        }
        for name in receiving
    }
    operations["send.answers"] = {
        "action": "send",
        "title": "Publish each answer (a result or an error), persistent",
        "description": "A request key a.b.request is answered on a.b.result; a request"
        " naming a reply_to is also answered there, with its correlation_id, when the"
        " reply_to is a server-named exclusive queue (amq.gen-*), Direct Reply-to"
        " (amq.rabbitmq.reply-to*) or a queue the daemon's ALEPH_REPLY_TO lists; never"
        " one of the service's own queues (any other reply_to is refused, the answer goes"
        " to the result queue only).",
        "channel": _reference("channels", answer_channel),
        "messages": replies,
        "bindings": {"amqp": {"deliveryMode": 2, "bindingVersion": _BINDING_VERSION}},
    }
    schemas: Document = {**registry_schemas(REGISTRY.values()), **_headers()}
    messages: Document = {
        **{cls.__name__: _message(cls, "RequestHeaders") for cls in REQUEST_TYPES},
        **{cls.__name__: _message(cls, "ResultHeaders") for cls in RESULT_TYPES},
        ERROR_MESSAGE: _error_message(),
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "edeposit-amqp: the Aleph daemon",
            "version": metadata.version("edeposit-amqp"),
            "description": "Requests from the e-deposit front-end to an Ex Libris Aleph"
            " catalogue and their answers. The schemas describe what the daemon accepts,"
            " the lenient forms of real clients included (strings for lists, nulls,"
            " plain-string authors, doc_id as a number or a string, both forms of an"
            " EPublication, an AlephRecord's publication as epublication or parsed_info)."
            " Answers are written in the form of the daemon's ALEPH_WIRE_GENERATION, here"
            f" {settings.ALEPH_WIRE_GENERATION}: 2014 (18-field EPublication, one URL each),"
            " 2015 (21 fields, URL lists, each record's semantic_info) or 2016 (the record's"
            " parsed_info and semantic_info: an EPeriodical and an EPeriodicalSemanticInfo"
            " for a continuing resource, FMT SE; for any other record the 2015"
            " EPublication and SemanticInfo).",
            "x-wire-generation": settings.ALEPH_WIRE_GENERATION,
        },
        "defaultContentType": "application/json",
        "servers": _servers(settings),
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }
