"""Writing the wire format: orjson writes, and a diagnosis names what it cannot.

orjson writes JSON several times faster than :mod:`json` and asks, through its
``default`` hook, only for each message's fields. Two of its habits do not suit the
wire format, so the hook looks at the values it hands over: orjson writes NaN and the
infinities as ``null`` (JSON has no such numbers), and it writes some foreign types
(UUIDs, enums) that the wire format has no form for. Both are refused. Whenever orjson
fails, :func:`diagnose` walks the value to name the fault and where it is: it explains
a refusal, it never writes.

Each message is written in the :class:`~edeposit.amqp.wire.message.WireForm` of the
generation asked for (docs/messages.md): orjson gets one hook per generation.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable
from typing import Any, TypeGuard

import orjson

from edeposit.amqp.errors import SerializationError
from edeposit.amqp.wire.message import (
    REGISTRY,
    TYPE_KEY,
    Message,
    WireFault,
    checked_text,
    wire_form,
)
from edeposit.amqp.wire.options import GENERATIONS

__all__ = ["diagnose", "write"]

# Messages (dataclasses) and datetimes reach the hook, which writes only messages.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
#: Deepest nesting orjson writes (it refuses more).
_WRITER_DEPTH = 254
#: The range of integers orjson writes (and 64-bit clients read).
_SMALLEST_INT = -(2**63)
_LARGEST_INT = 2**64 - 1

#: Types whose values orjson writes exactly as the wire format wants them; message
#: classes join when first met.
_LEAVES: set[type] = {str, int, bool, type(None)}

_Getter = Callable[[Message], tuple[Any, ...]]
_Writer = tuple[_Getter, tuple[str, ...], str]


def _hook(generation: str) -> Callable[[Any], dict[str, Any]]:
    """orjson's ``default`` for ``generation``: a message as the object it writes."""
    #: Per message class: its form's getter, its keys, its ``__nt_name``.
    writers: dict[type, _Writer] = {}

    def fields_of(message: Any) -> dict[str, Any]:
        writer = writers.get(type(message))
        if writer is None:
            writer = writers[type(message)] = _writer_of(type(message), generation)
        getter, names, name = writer
        values = getter(message)
        if not _LEAVES.issuperset(map(type, values)):
            _check(values, 0)
        fields = dict(zip(names, values))  # noqa: B905 - as many values as names
        fields[TYPE_KEY] = name
        return fields

    return fields_of


#: orjson's hook for each generation.
_HOOKS = {generation: _hook(generation) for generation in GENERATIONS}


def write(obj: Any, generation: str = GENERATIONS[0]) -> bytes:
    """The UTF-8 JSON of ``obj`` in the form of ``generation``; a
    :class:`SerializationError` naming any fault."""
    try:
        if not isinstance(obj, Message):
            _check((obj,), 0)
        return orjson.dumps(obj, default=_HOOKS[generation], option=_ORJSON_OPTIONS)
    except TypeError as error:  # orjson.JSONEncodeError included
        raise diagnose(obj, error, generation) from None


def _writer_of(cls: type, generation: str) -> _Writer:
    if not _registered(cls):
        raise TypeError(f"{cls.__name__} cannot be serialized")
    form = wire_form(cls, generation)
    attributes = form.attributes()
    getter = _single(attributes[0]) if len(attributes) == 1 else operator.attrgetter(*attributes)
    _LEAVES.add(cls)
    return getter, form.keys, cls.__name__


def _registered(cls: type) -> TypeGuard[type[Message]]:
    """Whether ``cls`` is a message class a reader can build (so one we write)."""
    return REGISTRY.get(cls.__name__) is cls


def _single(name: str) -> _Getter:
    # attrgetter of one name returns the value itself, not a 1-tuple.
    return lambda message: (getattr(message, name),)


def _check(values: Iterable[Any], depth: int) -> None:
    """Refuse (``TypeError``) values orjson would write wrongly or should not write.

    Messages among them are left to their own turn in the hook; containers are
    looked into, as orjson writes them without asking.
    """
    for value in values:
        kind = type(value)
        if kind in _LEAVES or (kind is list and _LEAVES.issuperset(map(type, value))):
            continue
        if kind is float:
            if not math.isfinite(value):
                raise TypeError("a non-finite float has no JSON form")
        elif depth >= _WRITER_DEPTH:
            raise TypeError("nested too deeply")
        elif isinstance(value, list) or kind is tuple:
            _check(value, depth + 1)
        elif isinstance(value, dict):
            _check(value.values(), depth + 1)
        elif isinstance(value, Message):
            if not _registered(kind):
                raise TypeError(f"{kind.__name__} cannot be serialized")
            _LEAVES.add(kind)
        elif not isinstance(value, str | int):  # str and int subclasses write as their base
            raise TypeError(f"{kind.__name__} cannot be serialized")


def diagnose(obj: Any, error: BaseException, generation: str) -> SerializationError:
    """The error naming why ``obj`` could not be written, and where (``error``: orjson's)."""
    try:
        fault = _fault_in(obj, "$", 0, generation)
    except RecursionError:
        fault = None
    return SerializationError(fault or f"$: cannot be serialized: {error}")


def _fault_in(value: Any, path: str, depth: int, generation: str) -> str | None:
    """What in ``value`` (found at ``path``) has no wire form, or ``None``."""
    if depth > _WRITER_DEPTH:
        return f"$: nested deeper than {_WRITER_DEPTH} levels"
    located: Iterable[tuple[Any, str]]
    if _registered(type(value)):
        form = wire_form(type(value), generation)
        located = (
            (getattr(value, attribute), f"{path}.{key}")
            for key, attribute in zip(form.keys, form.attributes(), strict=True)
        )
    elif isinstance(value, list) or type(value) is tuple:
        located = ((item, f"{path}[{index}]") for index, item in enumerate(value))
    elif isinstance(value, dict):
        key_fault = next(filter(None, (_key_fault(key, path) for key in value)), None)
        if key_fault is not None:
            return key_fault
        located = ((item, f"{path}.{key}") for key, item in value.items())
    else:
        return _scalar_fault(value, path)
    for item, item_path in located:
        fault = _fault_in(item, item_path, depth + 1, generation)
        if fault is not None:
            return fault
    return None


def _scalar_fault(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return _text_fault(value, path)
    if isinstance(value, int) and not isinstance(value, bool):
        if _SMALLEST_INT <= value <= _LARGEST_INT:
            return None
        return f"{path}: integer out of the 64-bit range (-2**63 to 2**64 - 1)"
    if type(value) is float and not math.isfinite(value):
        return f"{path}: {value!r} has no JSON form"
    if value is None or type(value) in (bool, float):
        return None
    return f"{path}: {type(value).__name__} cannot be serialized"


def _key_fault(key: Any, path: str) -> str | None:
    if not isinstance(key, str):
        return f"{path}: dict key {key!r} is not a string"
    return _text_fault(key, f"{path} (a key)")


def _text_fault(value: str, path: str) -> str | None:
    try:
        checked_text(value)
    except WireFault as fault:
        return f"{path}: {fault.problem}"
    return None
