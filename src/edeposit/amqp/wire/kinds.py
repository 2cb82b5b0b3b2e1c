"""Field kinds: what JSON each message field accepts, including real clients' variants.

Strict where the wire format is strict (a number is not a string, ``true`` is not a
number), lenient exactly where docs/messages.md says real clients differ: nulls, a string
where a list of strings belongs, plain-string authors, ``doc_id`` as a number.

Each kind names the JSON type clean bodies hold (``usual``), checks that form first, by
exact type, and only then tries the lenient forms; its faults name the problem only
(the decoder adds where). Each also gives the JSON Schema of everything it accepts,
lenient forms included, from which ``amqp_tool --asyncapi`` publishes the contract.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edeposit.amqp.wire.message import (
    Kind,
    Message,
    Reader,
    Schema,
    WireFault,
    checked_text,
    have_utf8_form,
    wrong_type,
)

__all__ = [
    "BOOL",
    "DOC_ID",
    "INT",
    "STR",
    "STR_LENIENT",
    "STR_LIST",
    "STR_LIST_LENIENT",
    "STR_OR_STR_LIST",
    "lenient_str_list",
    "message",
    "message_list",
    "message_schema",
    "str_or_message",
    "text_list",
]

_ONLY_STRINGS = frozenset({str})


def _str(value: Any, reader: Reader) -> str:
    if type(value) is not str:
        raise wrong_type("string", value)
    return checked_text(value) if reader.check_strings else value


def _str_lenient(value: Any, reader: Reader) -> str:
    return "" if value is None else _str(value, reader)


def _int(value: Any, reader: Reader) -> int:
    if type(value) is not int:
        raise wrong_type("integer", value)
    return value


def _bool(value: Any, reader: Reader) -> bool:
    if type(value) is not bool:
        raise wrong_type("boolean", value)
    return value


def _doc_id(value: Any, reader: Reader) -> str | int:
    if type(value) is int:
        return value
    if type(value) is str:
        return checked_text(value) if reader.check_strings else value
    raise wrong_type("string or integer", value)


def text_list(items: list[Any], reader: Reader, *, nulls: bool = False) -> list[str]:
    """A JSON array of strings as it is; ``nulls`` turns null items into ``""``."""
    if _ONLY_STRINGS.issuperset(map(type, items)) and (
        not reader.check_strings or have_utf8_form(items)
    ):
        return items
    texts: list[str] = []
    for index, item in enumerate(items):
        try:
            texts.append("" if nulls and item is None else _str(item, reader))
        except WireFault as fault:
            raise fault.at(f"[{index}]") from None
    return texts


def lenient_str_list(value: Any) -> list[str]:
    """What a constructor makes of a value given for a list of strings, as
    :data:`STR_LIST_LENIENT` reads one: ``None`` → ``[]``, a string → a list of it
    (``""`` → ``[]``), null items → ``""``."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return ["" if item is None else item for item in value]


def _str_list(value: Any, reader: Reader) -> list[str]:
    if type(value) is not list:
        raise wrong_type("array of strings", value)
    return text_list(value, reader)


def _str_list_lenient(value: Any, reader: Reader) -> list[str]:
    if type(value) is list:
        return text_list(value, reader, nulls=True)
    if value is None:
        return []
    if type(value) is str:
        return [_str(value, reader)] if value else []
    raise wrong_type("array of strings, a string or null", value)


def _str_or_str_list(value: Any, reader: Reader) -> str | list[str]:
    if type(value) is str:
        return checked_text(value) if reader.check_strings else value
    if type(value) is list:
        return text_list(value, reader, nulls=True)
    if value is None:
        return ""
    raise wrong_type("string, array of strings or null", value)


def _fixed(schema: Schema) -> Callable[[], Schema]:
    return lambda: schema


_STRING: Schema = {"type": "string"}

STR = Kind("string", _str, str, schema=_fixed(_STRING))
STR_LENIENT = Kind("string or null", _str_lenient, str, schema=_fixed({"type": ["string", "null"]}))
INT = Kind("integer", _int, int, schema=_fixed({"type": "integer"}))
BOOL = Kind("boolean", _bool, bool, schema=_fixed({"type": "boolean"}))
DOC_ID = Kind("string or integer", _doc_id, str, schema=_fixed({"type": ["string", "integer"]}))
STR_LIST = Kind(
    "array of strings",
    _str_list,
    list,
    schema=_fixed({"type": "array", "items": _STRING}),
)
#: The null items of a lenient array become "" (``text_list(nulls=True)``).
_LENIENT_ITEMS: Schema = {"type": ["string", "null"]}
STR_LIST_LENIENT = Kind(
    "array of strings, a string or null",
    _str_list_lenient,
    list,
    schema=_fixed({"type": ["array", "string", "null"], "items": _LENIENT_ITEMS}),
)
#: A value that one generation writes as a string and the other as a list of strings
#: (``EPublication.url``); kept in the form it came, null as "".
STR_OR_STR_LIST = Kind(
    "string, array of strings or null",
    _str_or_str_list,
    str,
    schema=_fixed({"type": ["string", "array", "null"], "items": _LENIENT_ITEMS}),
)

Classes = Callable[[], tuple[type[Message], ...]]


def _names(classes: tuple[type[Message], ...]) -> str:
    return " or ".join(cls.__name__ for cls in classes)


def message_schema(classes: tuple[type[Message], ...]) -> Schema:
    """The schema of an object of one of ``classes``: a reference to each class's schema.

    The references point into ``components.schemas`` of the AsyncAPI document, where
    every registered class has its schema under its name.
    """
    references = [{"$ref": f"#/components/schemas/{cls.__name__}"} for cls in classes]
    return references[0] if len(references) == 1 else {"oneOf": references}


def message(classes: Classes) -> Kind:
    """A nested message of one of ``classes()`` (resolved late: classes refer to each other)."""

    def convert(value: Any, reader: Reader) -> Any:
        if type(value) is not dict:
            raise wrong_type(f"{_names(classes())} object", value)
        return reader.message(value, classes())

    return Kind("message object", convert, dict, schema=lambda: message_schema(classes()))


def message_list(classes: Classes, *, strings: Callable[[str], Message] | None = None) -> Kind:
    """An array of messages; ``strings`` (if given) converts plain-string items, null is []."""

    def convert(value: Any, reader: Reader) -> list[Any]:
        if type(value) is not list:
            if value is None and strings is not None:
                return []
            raise wrong_type(f"array of {_names(classes())}", value)
        allowed = classes()
        items: list[Any] = []
        for index, item in enumerate(value):
            try:
                if type(item) is dict:
                    items.append(reader.message(item, allowed))
                elif strings is not None and type(item) is str:
                    items.append(strings(_str(item, reader)))
                else:
                    raise wrong_type(f"{_names(allowed)} object", item)
            except WireFault as fault:
                raise fault.at(f"[{index}]") from None
        return items

    def schema() -> Schema:
        item = message_schema(classes())
        if strings is None:
            return {"type": "array", "items": item}
        return {"type": ["array", "null"], "items": {"anyOf": [item, _STRING]}}

    return Kind("array of message objects", convert, list, schema=schema)


def str_or_message(classes: Classes) -> Kind:
    """A string, or a nested message of one of ``classes()``."""

    def convert(value: Any, reader: Reader) -> Any:
        if type(value) is str:
            return checked_text(value) if reader.check_strings else value
        if type(value) is dict:
            return reader.message(value, classes())
        raise wrong_type(f"string or {_names(classes())} object", value)

    def schema() -> Schema:
        return {"anyOf": [_STRING, message_schema(classes())]}

    return Kind("string or message object", convert, str, schema=schema)
