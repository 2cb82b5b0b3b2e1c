"""JSON Schema of the message classes, built from their field kinds.

Each :class:`~edeposit.amqp.wire.message.Kind` describes what its ``convert`` accepts;
a class's schema is an object of its wire fields, each described by its kind, plus
``__nt_name`` naming the class. Fields with a default (or a default the decoding caller
owns, like a query's ``base``) may be left out; no other key is allowed. A field with
aliases (another generation's key for it) may stand under any one of its keys. What JSON
Schema cannot say (a lone surrogate, nesting depth, duplicate keys, ``1.0`` where an
integer belongs) stays the decoder's alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from edeposit.amqp.wire.message import MISSING, REGISTRY, TYPE_KEY, Message, Schema

__all__ = ["DIALECT", "class_schema", "registry_schemas"]

#: The JSON Schema dialect of the schemas (the one AsyncAPI 3 payloads may name).
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def class_schema(cls: type[Message]) -> Schema:
    """The schema of every JSON object the decoder accepts as a ``cls`` message."""
    properties: Schema = {}
    required: list[str] = []
    renamed: list[Schema] = []
    for name, field in cls.__wire__.items():
        properties[name] = field.kind.schema()
        for alias in field.aliases:
            properties[alias] = properties[name]
        needed = field.default is MISSING and field.default_from is None
        if field.aliases:  # one of its keys: exactly one if the field is required
            keys = [name, *field.aliases]
            if needed:
                renamed.append({"oneOf": [{"required": [key]} for key in keys]})
            else:
                renamed.append({"not": {"required": keys}})
        elif needed:
            required.append(name)
    properties[TYPE_KEY] = {"const": cls.__name__}
    schema: Schema = {
        "type": "object",
        "properties": properties,
        "required": [*required, TYPE_KEY],
        "additionalProperties": False,
    }
    if renamed:
        schema["allOf"] = renamed
    if cls.__doc__:
        schema["description"] = cls.__doc__.strip().split("\n\n")[0].replace("\n    ", " ")
    return schema


def registry_schemas(classes: Iterable[type[Message]] | None = None) -> dict[str, Schema]:
    """``{class name: schema}`` for ``classes`` (every registered class by default)."""
    chosen = REGISTRY.values() if classes is None else classes
    return {cls.__name__: class_schema(cls) for cls in chosen}
