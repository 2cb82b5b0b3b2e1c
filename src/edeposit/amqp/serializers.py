"""The JSON wire format of the contract: ``serialize(obj) -> str``, ``deserialize(text) -> obj``.

The codec itself is :mod:`edeposit.amqp.wire.codec`; this module is its public face
for whoever has no settings of their own: a query that leaves out its ``base`` (or a
``DocumentQuery`` its ``library``) takes the process settings' default, and
:func:`serialize` writes the form of their ``ALEPH_WIRE_GENERATION`` (docs/messages.md). A
service that owns a :class:`~edeposit.amqp.config.Settings` passes
``settings.wire_options()`` to the codec instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

# Importing the model registers every message class the codec may build.
import edeposit.amqp.aleph  # noqa: F401
from edeposit.amqp import settings
from edeposit.amqp.wire.codec import (
    DEFAULT_MAX_BYTES,
    MAX_DEPTH,
    MAX_INT_DIGITS,
    TYPE_KEY,
    DeserializationError,
    SerializationError,
    WireOptions,
    decode,
    encode,
)
from edeposit.amqp.wire.options import GENERATIONS

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


class _ProcessDefaults(Mapping[str, str]):
    """The process settings' defaults for left-out fields, read when one is needed.

    Read late, so a body that leaves nothing out never loads the settings, and a
    ``settings.reload()`` takes effect for the next message.
    """

    def _current(self) -> Mapping[str, str]:
        return settings.get().wire_options().defaults

    def __getitem__(self, name: str) -> str:
        return self._current()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())


_PROCESS_OPTIONS = WireOptions(defaults=_ProcessDefaults())
#: The options of each output generation, the defaults read late as above.
_WRITING_OPTIONS = {
    generation: WireOptions(defaults=_PROCESS_OPTIONS.defaults, generation=generation)
    for generation in GENERATIONS
}


def serialize(obj: Any) -> str:
    """The JSON text of a message (or of lists, dicts and scalars holding messages), in
    the form of the process settings' ``ALEPH_WIRE_GENERATION``.

    Raises:
        SerializationError: ``obj`` holds something without a wire form (see
            :func:`edeposit.amqp.wire.codec.encode`).
    """
    generation = settings.get().ALEPH_WIRE_GENERATION
    return encode(obj, _WRITING_OPTIONS[generation]).decode()


def deserialize(
    text: str | bytes | bytearray | memoryview, max_bytes: int = DEFAULT_MAX_BYTES
) -> Any:
    """The message (or plain JSON value) that ``text`` encodes.

    Args:
        text: the JSON text, as ``str`` or as UTF-8 bytes.
        max_bytes: larger input is refused before it is decoded.

    Raises:
        DeserializationError: the text is no valid message; the error says what is
            wrong and where (see :func:`edeposit.amqp.wire.codec.decode`).
    """
    return decode(text, _PROCESS_OPTIONS, max_bytes=max_bytes)
