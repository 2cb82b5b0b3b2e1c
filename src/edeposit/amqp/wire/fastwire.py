"""The wire format's fast paths: messages whose every value is already in its final form.

Nearly every body is such a message — each answer the daemon sends, most requests — and
for them :mod:`edeposit.amqp.wire.codec` tries these first:

* :func:`encode_message` lets orjson write the JSON (several times faster than
  :mod:`json`), asking only for each message's fields and ``__nt_name``;
* :func:`decode_message` builds each message while :mod:`json` parses (its
  ``object_pairs_hook`` sees inner objects first), checking values by exact type and
  never composing an error text.

Both raise :class:`Fallback` for anything else — a lenient form to convert (a null, a
string for a list, a plain-string author), or a fault to name — and the serializer
then takes its careful path, which gives the same result or names what is wrong and
where. The fast paths never accept what the careful one refuses, with one difference
on output: values orjson writes natively inside a message (``uuid.UUID``, enums) are
written, where the careful path refuses them.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable
from typing import Any

import orjson

from edeposit.amqp.wire import kinds
from edeposit.amqp.wire.message import (
    MISSING,
    REGISTRY,
    TYPE_KEY,
    Fallback,
    Message,
    WireField,
)

__all__ = ["decode_message", "encode_message"]

# Dataclasses (messages) and str subclasses reach _fields_of; datetimes are refused there.
_ORJSON_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)

_Getter = Callable[[Message], tuple[Any, ...]]
_ENCODERS: dict[type, tuple[_Getter, tuple[str, ...], str]] = {}


def encode_message(message: Message) -> str:
    """The JSON text of ``message``, or :class:`Fallback`."""
    try:
        data = orjson.dumps(message, default=_fields_of, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError: no wire form, a lone surrogate, a huge int
        raise Fallback from None
    if b"null" in data:
        # orjson writes NaN and infinities as null; the careful path refuses them.
        raise Fallback
    return data.decode()


def _fields_of(value: Any) -> dict[str, Any]:
    """A message as the object orjson writes: its fields, then ``__nt_name``."""
    encoder = _ENCODERS.get(type(value))
    if encoder is None:
        if not isinstance(value, Message):
            raise TypeError
        names = value._fields
        getter = _single(names[0]) if len(names) == 1 else operator.attrgetter(*names)
        encoder = _ENCODERS[type(value)] = (getter, names, type(value).__name__)
    getter, names, name = encoder
    fields = dict(zip(names, getter(value), strict=True))
    fields[TYPE_KEY] = name
    return fields


def _single(name: str) -> _Getter:
    # attrgetter of one name returns the value itself, not a 1-tuple.
    return lambda message: (getattr(message, name),)


def decode_message(text: str) -> Message:
    """The message ``text`` encodes, or :class:`Fallback`.

    ``text`` must hold no lone surrogate, literal or escaped (the caller checks): the
    fast path takes strings as they are.
    """
    try:
        value = json.loads(
            text,
            object_pairs_hook=_build,
            parse_float=_finite_float,
            parse_constant=_no_constant,
        )
    except (ValueError, RecursionError):  # invalid JSON, an over-long integer
        raise Fallback from None
    if not isinstance(value, Message):
        raise Fallback
    return value


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise Fallback
    return value


def _no_constant(literal: str) -> Any:
    raise Fallback


_Plan = tuple[tuple[str, Callable[..., Any] | None, WireField], ...]
_PLANS: dict[type[Message], _Plan] = {}
_STRING = kinds.STR.fast


def _plan(cls: type[Message]) -> _Plan:
    """Each field's name, fast check (``None``: a plain string) and wire field."""
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = tuple(
            (name, None if field.kind.fast is _STRING else field.kind.fast, field)
            for name, field in cls.__wire__.items()
        )
    return plan


def _build(pairs: list[tuple[str, Any]]) -> Any:
    """One JSON object: a message if it names its class, else a plain dict."""
    data = dict(pairs)
    if len(data) != len(pairs):  # a duplicate key
        raise Fallback
    name = data.get(TYPE_KEY)
    if name is None:
        return data  # only a field that takes plain objects accepts it; none does
    cls = REGISTRY.get(name) if type(name) is str else None
    if cls is None or not data.keys() <= cls.__wire_keys__:
        raise Fallback
    arguments: dict[str, Any] = {}
    for field_name, fast, field in _plan(cls):
        value = data.get(field_name, MISSING)
        if value is MISSING:
            if field.default is MISSING:
                raise Fallback
            value = field.missing_value()
        elif fast is None:
            if type(value) is not str:
                raise Fallback
        else:
            value = fast(value, 0, _built)
        arguments[field_name] = value
    try:
        return cls(**arguments)
    except (TypeError, ValueError):
        raise Fallback from None


def _built(value: Any, allowed: tuple[type[Message], ...], depth: int) -> Message:
    """A nested message (already built, inner objects come first) of an allowed class."""
    if type(value) in allowed:
        return value  # type: ignore[no-any-return]
    raise Fallback
