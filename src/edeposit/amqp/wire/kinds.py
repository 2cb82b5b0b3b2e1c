"""Field kinds: what JSON each message field accepts, including real clients' variants.

Strict where the wire format is strict (a number is not a string, ``true`` is not a
number), lenient exactly where DESIGN §3.2 says real clients differ: nulls, a string
where a list of strings belongs, plain-string authors, ``doc_id`` as a number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edeposit.amqp.wire.message import (
    Builder,
    Fallback,
    FastBuilder,
    Kind,
    Message,
    checked_str,
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


# The fast path (see Kind and edeposit.amqp.wire.fastwire): values already in their final
# form, checked by exact type; nested messages are checked by the ``build`` given.
# Strings are taken as they are: a body goes this way only if it cannot hold a lone
# surrogate.


def _fast_str(value: Any, depth: int, build: FastBuilder) -> str:
    if type(value) is str:
        return value
    raise Fallback


def _fast_int(value: Any, depth: int, build: FastBuilder) -> int:
    if type(value) is int:
        return value
    raise Fallback


def _fast_bool(value: Any, depth: int, build: FastBuilder) -> bool:
    if type(value) is bool:
        return value
    raise Fallback


def _fast_doc_id(value: Any, depth: int, build: FastBuilder) -> str | int:
    if type(value) is str or type(value) is int:
        return value
    raise Fallback


def _fast_str_list(value: Any, depth: int, build: FastBuilder) -> list[str]:
    if type(value) is list and all(type(item) is str for item in value):
        return value
    raise Fallback


STR = Kind("string", _str, _fast_str)
STR_LENIENT = Kind("string or null", _str_lenient, _fast_str)
INT = Kind("integer", _int, _fast_int)
BOOL = Kind("boolean", _bool, _fast_bool)
DOC_ID = Kind("string or integer", _doc_id, _fast_doc_id)
STR_LIST = Kind("array of strings", _str_list, _fast_str_list)
STR_LIST_LENIENT = Kind("array of strings, a string or null", _str_list_lenient, _fast_str_list)

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

    def fast(value: Any, depth: int, build: FastBuilder) -> Any:
        return build(value, classes(), depth + 1)

    return Kind("message object", convert, fast)


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

    def fast(value: Any, depth: int, build: FastBuilder) -> list[Any]:
        if type(value) is not list:
            raise Fallback
        allowed = classes()
        return [build(item, allowed, depth + 1) for item in value]

    return Kind("array of message objects", convert, fast)


def str_or_message(classes: Classes) -> Kind:
    """A string, or a nested message of one of ``classes()``."""

    def convert(value: Any, path: str, depth: int, build: Builder) -> Any:
        if isinstance(value, str):
            return checked_str(value, path)
        if isinstance(value, dict):
            return build(value, classes(), path, depth + 1)
        raise wrong_type(path, f"string or {_names(classes())} object", value)

    def fast(value: Any, depth: int, build: FastBuilder) -> Any:
        if type(value) is str:
            return value
        return build(value, classes(), depth + 1)

    return Kind("string or message object", convert, fast)
