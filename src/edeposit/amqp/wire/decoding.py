"""The one walk that turns parsed JSON into messages, checking every field on the way.

:class:`Reading` walks what :func:`json.loads` returned; each object naming a class in
``__nt_name`` becomes that message. The usual object, holding exactly its class's
fields each of the JSON type its kind expects, is checked all at once by the types of
its values, and only its arrays and nested objects go on to their kinds. Any other
object is read field by field, where the kinds convert the lenient forms real clients
send (docs/messages.md) or raise a :class:`~edeposit.amqp.wire.message.WireFault`. A
fault is located on its way out (see ``WireFault``), so paths cost nothing until
something is wrong.

A class written in several forms (docs/messages.md: the 2014, 2015 and 2016 generations)
has a usual object for each, and any of them is read all at once; a field renamed by a
generation (``parsed_info`` for ``epublication``) is read under either key.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

from edeposit.amqp.wire.message import (
    MISSING,
    REGISTRY,
    TYPE_KEY,
    Kind,
    Message,
    WireFault,
    WireForm,
    checked_text,
    have_utf8_form,
)

__all__ = ["MAX_DEPTH", "Reading"]

#: Deepest nesting of plain arrays and objects accepted; real messages need fewer than 10.
#: Messages themselves nest only as deep as their classes' fields allow.
MAX_DEPTH = 64

#: JSON types whose value is final once of a field's usual type: only arrays and
#: objects (a list to check item by item, a nested message) still need their kind.
_SCALARS = (str, int, bool)


@dataclasses.dataclass(frozen=True, slots=True)
class _Plan:
    """How the decoder reads a class's JSON object of one usual form, all at once.

    An object holding exactly the keys of one of the class's wire forms, each of the
    JSON type that form writes (and, where the body may hold a lone surrogate, strings
    that all have a UTF-8 form), needs its kinds only for the ``structured`` fields.
    Any other object is read field by field, in wire order, which also finds the first
    fault the way it is reported.
    """

    #: The keys of such an object: the form's fields, and ``__nt_name``.
    keys: frozenset[str]
    #: The fields' values, in the order of the class's constructor.
    values: Callable[[dict[str, Any]], tuple[Any, ...]]
    #: The usual JSON type of each of those values.
    shape: tuple[type | None, ...]
    #: Picks the strings out of those values.
    texts: Callable[[tuple[Any, ...]], tuple[str, ...]]
    #: Position, name and kind of each field whose value still goes to its kind, in
    #: wire order.
    structured: tuple[tuple[int, str, Kind], ...]


#: The plans of each class, one per distinct wire form, made on its first message.
_PLANS: dict[type[Message], tuple[_Plan, ...]] = {}
_NO_KEYWORDS: Mapping[str, Any] = {}


def _plans(cls: type[Message]) -> tuple[_Plan, ...]:
    """The plans of ``cls``, made on its first message and kept."""
    forms: dict[tuple[str, ...], WireForm] = {}
    for form in cls.__wire_forms__.values():
        forms.setdefault(form.keys, form)
    plans = tuple(_plan(cls, form) for form in forms.values())
    _PLANS[cls] = plans
    return plans


def _plan(cls: type[Message], form: WireForm) -> _Plan:
    keys = form.keys  # stand for a leading part of the constructor's arguments
    kinds = [cls.__wire__[cls.__wire_aliases__.get(key, key)].kind for key in keys]
    usual = [
        form.sources[key][1] if key in form.sources else kind.usual
        for key, kind in zip(keys, kinds, strict=True)
    ]
    return _Plan(
        keys=frozenset((*keys, TYPE_KEY)),
        values=_picker(keys),
        shape=tuple(usual),
        texts=_picker(index for index, kind in enumerate(usual) if kind is str),
        structured=tuple(
            (index, key, kind)
            for index, (key, kind) in enumerate(zip(keys, kinds, strict=True))
            if usual[index] not in _SCALARS
        ),
    )


def _picker(keys: Iterable[Hashable]) -> Callable[[Any], tuple[Any, ...]]:
    """Picks the items under ``keys``, always as a tuple (``itemgetter`` of one gives the item)."""
    chosen = tuple(keys)
    if len(chosen) > 1:
        return operator.itemgetter(*chosen)
    return lambda items: tuple(items[key] for key in chosen)


class Reading:
    """One body being decoded: the caller's defaults, and whether strings need checking."""

    __slots__ = ("check_strings", "defaults")

    def __init__(self, defaults: Mapping[str, Any], *, check_strings: bool) -> None:
        #: Values for fields a message leaves out whose default the caller owns.
        self.defaults = defaults
        #: Whether the body may hold a lone surrogate, so every string is checked.
        self.check_strings = check_strings

    def value(self, value: Any, depth: int = 0) -> Any:
        """Any JSON value: objects naming their class become messages, the rest stays."""
        if depth > MAX_DEPTH:
            raise WireFault(f"nested deeper than {MAX_DEPTH} levels", names_field=False)
        if type(value) is dict:
            if TYPE_KEY in value:
                return self.message(value, None)
            plain: dict[str, Any] = {}
            for key, item in value.items():
                if self.check_strings:
                    try:
                        checked_text(key)
                    except WireFault as fault:
                        raise fault.at(" (a key)") from None
                try:
                    plain[key] = self.value(item, depth + 1)
                except WireFault as fault:
                    raise fault.at(f".{key}") from None
            return plain
        if type(value) is list:
            items: list[Any] = []
            for index, item in enumerate(value):
                try:
                    items.append(self.value(item, depth + 1))
                except WireFault as fault:
                    raise fault.at(f"[{index}]") from None
            return items
        if type(value) is str and self.check_strings:
            return checked_text(value)
        return value

    def message(self, data: dict[str, Any], allowed: tuple[type[Message], ...] | None) -> Message:
        """The message ``data`` describes, of one of the ``allowed`` classes (``None``: any)."""
        name = data.get(TYPE_KEY)
        cls = REGISTRY.get(name) if type(name) is str else None
        if cls is None or (allowed is not None and cls not in allowed):
            raise _class_fault(name, allowed)
        positional: Sequence[Any] = ()
        keywords: Mapping[str, Any] = _NO_KEYWORDS
        for plan in _PLANS.get(cls) or _plans(cls):
            if data.keys() == plan.keys:
                values = plan.values(data)
                if tuple(map(type, values)) == plan.shape and (
                    not self.check_strings or have_utf8_form(plan.texts(values))
                ):
                    positional = self._structured(cls, plan, values) if plan.structured else values
                    break
        else:
            keywords = self._arguments(cls, data)
        try:
            return cls(*positional, **keywords)
        except (TypeError, ValueError) as error:
            raise WireFault(f"cannot build {cls.__name__}: {error}", names_field=False) from None

    def _structured(self, cls: type[Message], plan: _Plan, values: tuple[Any, ...]) -> list[Any]:
        """``values`` with those of the plan's structured fields converted by their kinds."""
        converted = list(values)
        for index, field_name, kind in plan.structured:
            try:
                converted[index] = kind.convert(converted[index], self)
            except WireFault as fault:
                raise fault.in_field(cls, field_name) from None
        return converted

    def _arguments(self, cls: type[Message], data: dict[str, Any]) -> dict[str, Any]:
        """The constructor's arguments, field by field: lenient forms, defaults, faults."""
        if not data.keys() <= cls.__wire_keys__:
            unknown = next(key for key in data if key not in cls.__wire_keys__)
            raise WireFault(f"{cls.__name__} has no field {unknown!r}", names_field=False)
        arguments: dict[str, Any] = {}
        for field_name, field in cls.__wire__.items():
            key = field_name
            value = data.get(field_name, MISSING)
            for alias in field.aliases:  # the key another generation gave the field
                if alias in data:
                    if value is not MISSING:
                        raise WireFault(
                            f"{cls.__name__} has both {key!r} and {alias!r}", names_field=False
                        )
                    key, value = alias, data[alias]
            if value is MISSING:
                value = field.missing_value(self.defaults)
                if value is MISSING:
                    raise WireFault(
                        f"{cls.__name__} is missing the field {field_name!r}", names_field=False
                    )
                arguments[field_name] = value
            else:
                try:
                    arguments[field_name] = field.kind.convert(value, self)
                except WireFault as fault:
                    raise fault.in_field(cls, key) from None
        return arguments


def _class_fault(name: Any, allowed: tuple[type[Message], ...] | None) -> WireFault:
    """Why ``__nt_name`` = ``name`` names no class that is allowed here."""
    if name is None:
        problem = f"object has no {TYPE_KEY!r} naming its class"
    elif not isinstance(name, str):
        problem = f"{TYPE_KEY} must be a string, not {name!r}"
    elif name not in REGISTRY:
        problem = f"unknown message class {name!r}"
    else:
        expected = " or ".join(option.__name__ for option in allowed or ())
        problem = f"expected {expected}, got {name}"
    return WireFault(problem, names_field=False)
