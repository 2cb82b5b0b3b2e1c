"""Field kinds: what JSON each message field accepts, including real clients' variants.

Strict where the wire format is strict (a number is not a string, ``true`` is not a
number), lenient exactly where DESIGN §3.2 says real clients differ: nulls, a string
where a list of strings belongs, plain-string authors, ``doc_id`` as a number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edeposit.amqp.aleph.message import Builder, Kind, Message, checked_str, wrong_type

__all__ = [
    "BOOL",
    "DOC_ID",
    "INT",
    "STR",
    "STR_LENIENT",
    "STR_LIST",
    "STR_LIST_LENIENT",
    "message",
    "message_list",
    "str_or_message",
]


def _str(value: Any, path: str, depth: int, build: Builder) -> str:
    return checked_str(value, path)


def _str_lenient(value: Any, path: str, depth: int, build: Builder) -> str:
    return "" if value is None else checked_str(value, path)


def _int(value: Any, path: str, depth: int, build: Builder) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type(path, "integer", value)
    return value


def _bool(value: Any, path: str, depth: int, build: Builder) -> bool:
    if not isinstance(value, bool):
        raise wrong_type(path, "boolean", value)
    return value


def _doc_id(value: Any, path: str, depth: int, build: Builder) -> str | int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return checked_str(value, path)
    raise wrong_type(path, "string or integer", value)


def _str_list(value: Any, path: str, depth: int, build: Builder) -> list[str]:
    if not isinstance(value, list):
        raise wrong_type(path, "array of strings", value)
    return [checked_str(item, f"{path}[{index}]") for index, item in enumerate(value)]


def _str_list_lenient(value: Any, path: str, depth: int, build: Builder) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [checked_str(value, path)] if value else []
    if not isinstance(value, list):
        raise wrong_type(path, "array of strings, a string or null", value)
    return [
        "" if item is None else checked_str(item, f"{path}[{index}]")
        for index, item in enumerate(value)
    ]


STR = Kind("string", _str)
STR_LENIENT = Kind("string or null", _str_lenient)
INT = Kind("integer", _int)
BOOL = Kind("boolean", _bool)
DOC_ID = Kind("string or integer", _doc_id)
STR_LIST = Kind("array of strings", _str_list)
STR_LIST_LENIENT = Kind("array of strings, a string or null", _str_list_lenient)

Classes = Callable[[], tuple[type[Message], ...]]


def _names(classes: tuple[type[Message], ...]) -> str:
    return " or ".join(cls.__name__ for cls in classes)


def message(classes: Classes, *, nullable: bool = False) -> Kind:
    """A nested message of one of ``classes()`` (resolved late: classes refer to each other)."""

    def convert(value: Any, path: str, depth: int, build: Builder) -> Any:
        if value is None and nullable:
            return None
        if not isinstance(value, dict):
            raise wrong_type(path, f"{_names(classes())} object", value)
        return build(value, classes(), path, depth + 1)

    return Kind("message object", convert)


def message_list(classes: Classes, *, strings: Callable[[str], Message] | None = None) -> Kind:
    """An array of messages; ``strings`` (if given) converts plain-string items, null is []."""

    def convert(value: Any, path: str, depth: int, build: Builder) -> list[Any]:
        if value is None and strings is not None:
            return []
        if not isinstance(value, list):
            raise wrong_type(path, f"array of {_names(classes())}", value)
        items: list[Any] = []
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            if strings is not None and isinstance(item, str):
                items.append(strings(checked_str(item, item_path)))
            elif isinstance(item, dict):
                items.append(build(item, classes(), item_path, depth + 1))
            else:
                raise wrong_type(item_path, f"{_names(classes())} object", item)
        return items

    return Kind("array of message objects", convert)


def str_or_message(classes: Classes) -> Kind:
    """A string, or a nested message of one of ``classes()``."""

    def convert(value: Any, path: str, depth: int, build: Builder) -> Any:
        if isinstance(value, str):
            return checked_str(value, path)
        if isinstance(value, dict):
            return build(value, classes(), path, depth + 1)
        raise wrong_type(path, f"string or {_names(classes())} object", value)

    return Kind("string or message object", convert)
