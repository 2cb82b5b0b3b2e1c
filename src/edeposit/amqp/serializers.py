"""The JSON wire format of the contract: ``serialize(obj) -> str``, ``deserialize(text) -> obj``.

The codec itself is :mod:`edeposit.amqp.wire.codec`; this module is its public face.
"""

from edeposit.amqp.wire.codec import (
    DEFAULT_MAX_BYTES,
    MAX_DEPTH,
    MAX_INT_DIGITS,
    TYPE_KEY,
    DeserializationError,
    SerializationError,
    deserialize,
    serialize,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "TYPE_KEY",
    "DeserializationError",
    "SerializationError",
    "deserialize",
    "serialize",
]
