"""The base of every message class, field kinds for decoding, and the class registry.

Messages are frozen dataclasses. Each declares ``__wire__``: for every field, the
:class:`Kind` that checks (and leniently converts) the JSON value a client sent, plus
an optional wire default for fields real clients leave out. The serializer resolves
``__nt_name`` only through :data:`REGISTRY`, filled by :func:`register`; nothing else
can ever be built from a message.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, Self, TypeVar

from edeposit.amqp.errors import MessageError

__all__ = [
    "MISSING",
    "REGISTRY",
    "TYPE_KEY",
    "Builder",
    "Fallback",
    "FastBuilder",
    "Kind",
    "Message",
    "WireField",
    "register",
]

#: The key holding a structure's class name on the wire.
TYPE_KEY = "__nt_name"

#: ``__nt_name`` → message class; the only classes a message can name.
REGISTRY: dict[str, type[Message]] = {}


class _Missing:
    """Marks a wire field without a default: leaving it out is an error."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

#: Builds a nested message: ``builder(json_object, allowed_classes, path, depth)``.
Builder = Callable[[Any, tuple[type["Message"], ...], str, int], "Message"]
#: The fast path's check of a nested message (built already, inner objects first):
#: ``builder(value, allowed_classes, depth)`` returns it or raises :class:`Fallback`.
FastBuilder = Callable[[Any, tuple[type["Message"], ...], int], "Message"]


class Fallback(Exception):  # noqa: N818 - a signal between decoders, never an error shown
    """Raised on the fast decoding path for anything it leaves to the careful one.

    The fast path takes only values already in their final form (no null to turn into
    ``""``, no string where a list belongs) and builds no error text; lenient forms and
    every malformed value go to the careful path, which converts or names the fault.
    """


def _leave_to_the_careful_path(value: Any, depth: int, build: FastBuilder) -> Any:
    raise Fallback


class Message:
    """Common behaviour of all message classes (immutable, equal by value and type).

    Beyond dataclass behaviour it keeps the namedtuple conveniences the original
    clients used: ``_fields``, ``_asdict()``, ``_replace()``, iteration and indexing.
    """

    __slots__ = ()
    __wire__: ClassVar[Mapping[str, WireField]]
    _fields: ClassVar[tuple[str, ...]]
    #: Every key a JSON object of this class may hold (fields, accepted legacy fields,
    #: ``__nt_name``); set by :func:`register`.
    __wire_keys__: ClassVar[frozenset[str]]

    def _asdict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._fields}

    def _replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def __iter__(self) -> Iterator[Any]:
        return (getattr(self, name) for name in self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __getitem__(self, index: int) -> Any:
        return getattr(self, self._fields[index])


class Kind:
    """How one field's JSON value is checked and converted; ``describe`` names it in errors.

    ``fast`` (optional) takes the field's value when it is already exactly what the
    field holds and raises :class:`Fallback` otherwise; ``convert`` does the rest.
    """

    def __init__(
        self,
        describe: str,
        convert: Callable[[Any, str, int, Builder], Any],
        fast: Callable[[Any, int, FastBuilder], Any] = _leave_to_the_careful_path,
    ) -> None:
        self.describe = describe
        self._convert = convert
        self.fast = fast

    def decode(self, value: Any, path: str, depth: int, build: Builder) -> Any:
        return self._convert(value, path, depth, build)


@dataclasses.dataclass(frozen=True, slots=True)
class WireField:
    """A field on the wire: its kind and what a missing value becomes."""

    kind: Kind
    default: Any = MISSING

    def missing_value(self) -> Any:
        return self.default() if callable(self.default) else self.default


M = TypeVar("M", bound=type[Message])


def register(cls: M) -> M:
    """Add a message class to :data:`REGISTRY` under its class name (``__nt_name``)."""
    names = tuple(field.name for field in dataclasses.fields(cls))  # type: ignore[arg-type]
    if set(names) != set(cls.__wire__):
        raise TypeError(f"{cls.__name__}.__wire__ must describe exactly {names}")
    cls._fields = names
    legacy: frozenset[str] = getattr(cls, "__wire_legacy__", frozenset())
    cls.__wire_keys__ = frozenset(cls.__wire__) | legacy | {TYPE_KEY}
    if cls.__name__ in REGISTRY:
        raise TypeError(f"message class name {cls.__name__!r} registered twice")
    REGISTRY[cls.__name__] = cls
    return cls


def wrong_type(path: str, expected: str, value: Any) -> MessageError:
    got = "null" if value is None else _json_type_name(value)
    return MessageError(f"{path}: expected {expected}, got {got}")


def _json_type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        name = value.get(TYPE_KEY)
        return f"object {name!r}" if isinstance(name, str) else "object"
    return type(value).__name__


def checked_str(value: Any, path: str) -> str:
    """A JSON string that can be encoded as UTF-8 (no lone surrogates)."""
    if not isinstance(value, str):
        raise wrong_type(path, "string", value)
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise MessageError(
                f"{path}: string holds a lone surrogate at character {error.start}"
            ) from None
    return value
