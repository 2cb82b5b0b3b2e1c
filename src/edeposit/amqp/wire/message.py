"""The base of every message class, field kinds for decoding, and the class registry.

Messages are frozen dataclasses. Each declares ``__wire__``: for every field, the
:class:`Kind` that checks (and leniently converts) the JSON value a client sent, plus
what a field real clients leave out becomes. The codec resolves ``__nt_name`` only
through :data:`REGISTRY`, filled by :func:`register`; nothing else can ever be built
from a message.

What a message writes may differ by the generation of the clients that read it
(docs/messages.md): a class lists its :class:`WireForm` per generation in ``__wire_forms__``;
one that does not writes all its wire fields in every generation. A field a later
generation renamed (``AlephRecord.epublication``, 2016's ``parsed_info``) names the new
key among its :attr:`WireField.aliases`: a message may hold either key, never both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar, Protocol, Self, TypeVar

from edeposit.amqp.errors import EdepositAMQPError
from edeposit.amqp.wire.options import GENERATIONS

__all__ = [
    "MISSING",
    "REGISTRY",
    "TYPE_KEY",
    "Kind",
    "Message",
    "Reader",
    "Schema",
    "WireFault",
    "WireField",
    "WireForm",
    "checked_text",
    "have_utf8_form",
    "register",
    "wire_form",
    "wrong_type",
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


class WireFault(EdepositAMQPError):  # noqa: N818 - internal: the codec turns it into its error
    """What is wrong with a JSON value, located only while the error travels outwards.

    Raised where a value is refused, with the problem alone; each enclosing level
    (a list item, an object key, a message field) adds its step as the fault passes
    through it, so a body that decodes cleanly never pays for composing paths. The
    codec turns it into the public error once it reaches the top.

    ``names_field`` says whether the message names the innermost message field the
    value belongs to (``ISBNQuery.ISBN at $.query.ISBN: …``): true for a value of the
    wrong kind, false for a fault of structure (an unknown class, a missing field).
    """

    def __init__(self, problem: str, *, names_field: bool = True) -> None:
        super().__init__(problem)
        self.problem = problem
        self.names_field = names_field
        #: ``"Class.field"`` of the innermost message field, once one was passed.
        self.field: str | None = None
        #: Path steps (``.name``, ``[3]``), innermost first.
        self.steps: list[str] = []

    def at(self, step: str) -> WireFault:
        """Note that the fault lies inside ``step`` (``.name``, ``[index]``); returns itself."""
        self.steps.append(step)
        return self

    def in_field(self, cls: type[Message], name: str) -> WireFault:
        """Note that the fault lies inside the message field ``cls.name``; returns itself."""
        self.steps.append(f".{name}")
        if self.names_field and self.field is None:
            self.field = f"{cls.__name__}.{name}"
        return self

    @property
    def path(self) -> str:
        """The JSON path of the faulty value, ``$`` being the whole body."""
        return "$" + "".join(reversed(self.steps))

    def describe(self) -> str:
        """The error text: the field (when one is named), the path and the problem."""
        if self.field is not None:
            return f"{self.field} at {self.path}: {self.problem}"
        return f"{self.path}: {self.problem}"


class Reader(Protocol):
    """What a kind may ask of the decoding under way."""

    #: Whether strings must be checked for lone surrogates (the body may hold one).
    check_strings: bool

    def message(self, data: dict[str, Any], allowed: tuple[type[Message], ...]) -> Message:
        """The message of one of the ``allowed`` classes that the JSON object ``data`` holds."""
        ...


class Message:
    """Common behaviour of all message classes (immutable, equal by value and type).

    Beyond dataclass behaviour it keeps the namedtuple conveniences the original
    clients used: ``_fields``, ``_asdict()``, ``_replace()``, iteration and indexing.
    """

    __slots__ = ()
    __wire__: ClassVar[Mapping[str, WireField]]
    #: The wire fields, in constructor order; set by :func:`register`.
    _fields: ClassVar[tuple[str, ...]]
    #: Every key a JSON object of this class may hold (its wire fields and
    #: ``__nt_name``); set by :func:`register`.
    __wire_keys__: ClassVar[frozenset[str]]
    #: What the class writes, by output generation; :func:`register` completes it.
    __wire_forms__: ClassVar[Mapping[str, WireForm]]
    #: Each alias of a wire field (another generation's key) → the field; set by
    #: :func:`register`.
    __wire_aliases__: ClassVar[Mapping[str, str]]

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


#: A JSON Schema (draft 2020-12) fragment, as a plain dict.
Schema = dict[str, Any]


class Kind:
    """What JSON one field accepts, and how a lenient form becomes the field's value.

    Args:
        describe: names the kind in errors and documentation (``"string"``).
        convert: ``convert(value, reader)`` returns the field's value for a JSON value,
            or raises :class:`WireFault` saying what is wrong with it.
        usual: the JSON type of the value clean bodies hold (``str``, ``list``, ``dict``
            for a message), or ``None``. The decoder checks all fields' types at once
            against it: a string, integer or boolean of its usual type is then the
            field's value as it is, an array or object still goes to ``convert``.
        schema: returns the JSON Schema of what ``convert`` accepts (called late:
            message kinds name classes that refer to each other). It sits beside the
            conversion it describes, so the published contract and the decoder change
            together.
    """

    __slots__ = ("convert", "describe", "schema", "usual")

    def __init__(
        self,
        describe: str,
        convert: Callable[[Any, Reader], Any],
        usual: type | None = None,
        *,
        schema: Callable[[], Schema],
    ) -> None:
        self.describe = describe
        self.convert = convert
        self.usual = usual
        self.schema = schema


@dataclasses.dataclass(frozen=True, slots=True)
class WireField:
    """A field on the wire: its kind, and what it becomes when a message leaves it out.

    ``default`` is a value (or a factory of one) that belongs to the model;
    ``default_from`` names a default that belongs to whoever decodes (a query's
    catalogue ``base``), looked up in the defaults the caller gives the codec. Without
    either, leaving the field out is an error. ``aliases`` are other keys the field
    travels under in some generation's form; a message holds at most one of them.
    """

    kind: Kind
    default: Any = MISSING
    default_from: str | None = None
    aliases: tuple[str, ...] = ()

    def missing_value(self, defaults: Mapping[str, Any]) -> Any:
        """The value of the field when a message leaves it out; ``MISSING`` if it has none."""
        if self.default_from is not None:
            return defaults.get(self.default_from, MISSING)
        return self.default() if callable(self.default) else self.default


@dataclasses.dataclass(frozen=True, slots=True)
class WireForm:
    """The object one generation of clients reads for a class: its keys, in order.

    ``sources`` names, for a key whose value is not the attribute of the same name,
    the attribute written instead and the JSON type it holds (``"url": ("urls",
    list)``: the 2015 form writes the list of URLs where the 2014 form writes the
    first one). The keys are a leading part of the class's wire fields (a field may
    stand under one of its aliases), so a body of this form decodes with the
    constructor's positional arguments.
    """

    keys: tuple[str, ...]
    sources: Mapping[str, tuple[str, type]] = dataclasses.field(default_factory=dict)

    def attributes(self) -> tuple[str, ...]:
        """The attribute written under each key, in key order."""
        return tuple(self.sources[key][0] if key in self.sources else key for key in self.keys)


def wire_form(cls: type[Message], generation: str) -> WireForm:
    """What ``cls`` writes for clients of ``generation`` (see :class:`WireForm`)."""
    try:
        return cls.__wire_forms__[generation]
    except KeyError:
        raise ValueError(f"no {generation} wire form for {cls.__name__}") from None


M = TypeVar("M", bound=type[Message])


def register(cls: M) -> M:
    """Add a message class to :data:`REGISTRY` under its class name (``__nt_name``).

    The wire fields (``__wire__``) come first among the dataclass fields, in
    constructor order; fields after them belong to the model only and need defaults.
    A class without ``__wire_forms__`` writes all its wire fields in every generation.
    """
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    names = tuple(field.name for field in fields[: len(cls.__wire__)])
    if set(names) != set(cls.__wire__):
        raise TypeError(f"{cls.__name__}.__wire__ must describe its first fields {names}")
    for field in fields[len(names) :]:
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{field.name} is not on the wire: it needs a default")
    aliases = {
        alias: name for name, wire_field in cls.__wire__.items() for alias in wire_field.aliases
    }
    if set(aliases) & set(names):
        raise TypeError(f"{cls.__name__}: an alias may not be a field's name")
    cls._fields = names
    cls.__wire_aliases__ = aliases
    cls.__wire_keys__ = frozenset(cls.__wire__) | frozenset(aliases) | {TYPE_KEY}
    forms = dict(getattr(cls, "__wire_forms__", None) or {})
    for generation in GENERATIONS:
        forms.setdefault(generation, WireForm(names))
    for generation, form in forms.items():
        fields_of_form = tuple(aliases.get(key, key) for key in form.keys)
        if generation not in GENERATIONS or fields_of_form != names[: len(form.keys)]:
            raise TypeError(f"{cls.__name__}: a {generation} form must lead its wire fields")
    cls.__wire_forms__ = forms
    if cls.__name__ in REGISTRY:
        raise TypeError(f"message class name {cls.__name__!r} registered twice")
    REGISTRY[cls.__name__] = cls
    return cls


def wrong_type(expected: str, value: Any) -> WireFault:
    """The fault of a JSON value that is not of the ``expected`` kind."""
    got = "null" if value is None else json_type_name(value)
    return WireFault(f"expected {expected}, got {got}")


def json_type_name(value: Any) -> str:
    """How a JSON value's type is named in errors (an object by its ``__nt_name``)."""
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


def checked_text(value: str) -> str:
    """``value`` if it has a UTF-8 form; a :class:`WireFault` if it holds a lone surrogate."""
    if not value.isascii():
        try:
            value.encode("utf-16-le")  # the quickest codec that refuses surrogates
        except UnicodeEncodeError as error:
            raise WireFault(f"string holds a lone surrogate at character {error.start}") from None
    return value


def have_utf8_form(texts: Iterable[str]) -> bool:
    """Whether none of ``texts`` holds a lone surrogate, found in one pass over them all."""
    joined = "".join(texts)
    if joined.isascii():
        return True
    try:
        joined.encode("utf-16-le")
    except UnicodeEncodeError:
        return False
    return True
