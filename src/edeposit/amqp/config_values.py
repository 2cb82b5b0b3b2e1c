"""Setting values: their types read from the annotations, converted, checked.

A value comes from JSON (checked as it is, an int accepted for a float, a list for a
list of strings) or from an environment variable's text (parsed: ``true``/``false``,
numbers, ``a,b,c`` or a JSON list). Every problem is a :class:`ConfigError` naming the
source (file or ``environment``) and the setting; a secret's value is never shown.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import re
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from edeposit.amqp.errors import ConfigError
from edeposit.amqp.wire.options import GENERATIONS

__all__ = ["MASK", "apply_changes", "field_kinds", "parse_node"]

#: What a secret's value is shown as.
MASK = "********"
#: Settings whose values are never shown.
SECRETS = frozenset({"RABBITMQ_USER_PASSWORD"})

T = TypeVar("T")


@functools.cache
def field_kinds(cls: type) -> dict[str, tuple[type, bool]]:
    """Each setting's value type and whether it may be None (``str | None`` and the like).

    Read from the annotations, so a new setting needs no table entry; the types a
    setting may have are str, int, float, bool and ``tuple[str, ...]``.
    """
    kinds: dict[str, tuple[type, bool]] = {}
    for name, hint in typing.get_type_hints(cls).items():
        options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        optional = type(None) in options
        (wanted,) = [option for option in options if option is not type(None)]
        base = typing.get_origin(wanted) or wanted
        if base not in (str, int, float, bool, tuple):
            raise TypeError(f"setting {name} has an unsupported type {hint}")
        kinds[name] = (base, optional)
    return kinds


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_TYPE_NAMES = {tuple: "a list of strings", str: "str", int: "int", float: "float", bool: "bool"}


def _convert(
    kinds: Mapping[str, tuple[type, bool]], key: str, value: Any, source: str, *, from_text: bool
) -> Any:
    """One value checked (JSON, Python) or parsed (environment) into the key's type."""
    wanted, optional = kinds[key]
    shown = MASK if key in SECRETS else repr(value)
    problem = f"{source}: setting {key} must be {_TYPE_NAMES[wanted]}, not {shown}"
    if value is None and optional:
        return None
    if from_text:
        return _parse(str(value), wanted, problem)
    if wanted is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if wanted is tuple and isinstance(value, list | tuple):
        if not all(isinstance(item, str) for item in value):
            raise ConfigError(problem)
        return tuple(value)
    if type(value) is not wanted:
        raise ConfigError(problem)
    return value


def _parse(text: str, wanted: type, problem: str) -> Any:
    """A value from an environment variable's text."""
    if wanted is str:
        return text
    text = text.strip()
    if wanted is tuple:  # comma-separated, or a JSON list (not "[::1]:5672,…": IPv6)
        if re.match(r"\[\s*[\"\]]", text):
            try:
                items = json.loads(text)
            except json.JSONDecodeError:
                raise ConfigError(problem + " (a JSON list of strings, or a,b,c)") from None
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise ConfigError(problem + " (a JSON list of strings, or a,b,c)")
            return tuple(items)
        return tuple(item.strip() for item in text.split(",") if item.strip())
    if wanted is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ConfigError(problem + " (use true/false)")
    try:
        return wanted(text)
    except ValueError:
        raise ConfigError(problem) from None


def apply_changes(base: T, values: Mapping[str, Any], source: str, *, from_text: bool) -> T:
    """A copy of ``base`` (a settings dataclass) with ``values`` converted, and checked.

    Raises:
        ConfigError: an unknown setting, a value of the wrong type, or settings that
            cannot be used together (the message names ``source`` and the setting).
    """
    kinds = field_kinds(type(base))  # type: ignore[arg-type]  # classes are hashable
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key not in kinds:
            raise ConfigError(f"{source}: unknown setting {key!r}")
        changes[key] = _convert(kinds, key, value, source, from_text=from_text)
    return _checked(dataclasses.replace(base, **changes), source)  # type: ignore[no-any-return, type-var]


def parse_node(entry: str) -> tuple[str, int]:
    """``host:port`` (an IPv6 address in brackets: ``[::1]:5672``) as ``(host, port)``.

    Raises:
        ValueError: the entry is not of that form; the message says what is wrong.
    """
    if "://" in entry:
        raise ValueError("give host:port, without a scheme")
    if any(character in entry.strip() for character in "; \t"):
        raise ValueError("one node an entry: separate nodes with commas, a:5672,b:5672")
    host, colon, port_text = entry.strip().rpartition(":")
    if not colon or not host:
        raise ValueError("expected host:port")
    if host.startswith("["):
        if not host.endswith("]") or len(host) < 3:
            raise ValueError("an IPv6 address needs its closing bracket: [::1]:5672")
        host = host[1:-1]
    elif ":" in host:
        raise ValueError("put an IPv6 address in brackets: [::1]:5672")
    if not host.isprintable() or any(c.isspace() or c in "/[]@" for c in host):
        raise ValueError(f"{host!r} is not a host name or address")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"port {port_text!r} must be a number 1-65535")
    return host, int(port_text)


def _checked(result: Any, source: str) -> Any:
    """``result`` when its settings can be used together, else a ConfigError."""
    if not 0 < result.RABBITMQ_PORT < 65536:
        raise ConfigError(f"{source}: setting RABBITMQ_PORT must be 1-65535")
    for entry in result.RABBITMQ_NODES:
        try:
            parse_node(entry)
        except ValueError as error:
            raise ConfigError(
                f"{source}: setting RABBITMQ_NODES holds {entry!r}, not a node: {error}"
            ) from None
    for entry in result.ALEPH_REPLY_TO:
        if not entry or not entry.isprintable() or len(entry.encode("utf-8")) > 255:
            raise ConfigError(
                f"{source}: setting ALEPH_REPLY_TO holds {entry!r}, not a queue name or prefix"
            )
    for key in ("ALEPH_DAEMON_WORKERS", "ALEPH_MAX_RECORDS", "ALEPH_DAEMON_MAX_BODY_BYTES"):
        if getattr(result, key) < 1:
            raise ConfigError(f"{source}: setting {key} must be at least 1")
    for key in (
        "ALEPH_TIMEOUT",
        "ALEPH_DAEMON_SHUTDOWN_TIMEOUT",
        "RABBITMQ_CONNECT_TIMEOUT",
        "ALEPH_REQUEST_DEADLINE",
        "ALEPH_DAEMON_SETTLE_TIMEOUT",
        "ALEPH_DAEMON_RECONNECT_MAX_DELAY",
        "ALEPH_DAEMON_START_TIMEOUT",
    ):
        if getattr(result, key) <= 0:
            raise ConfigError(f"{source}: setting {key} must be positive")
    _check_choices(result, source)
    return result


def _check_choices(result: Any, source: str) -> None:
    """Settings limited to a few values, a range, or never negative."""
    if result.LOG_LEVEL.upper() not in logging.getLevelNamesMapping():
        raise ConfigError(f"{source}: setting LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
    if result.LOG_FORMAT not in ("text", "json"):
        raise ConfigError(f"{source}: setting LOG_FORMAT must be text or json")
    if not 0 <= result.ALEPH_DAEMON_METRICS_PORT < 65536:
        raise ConfigError(f"{source}: setting ALEPH_DAEMON_METRICS_PORT must be 0-65535")
    if result.RABBITMQ_ALEPH_QUEUE_TYPE not in ("classic", "quorum"):
        raise ConfigError(f"{source}: setting RABBITMQ_ALEPH_QUEUE_TYPE must be classic or quorum")
    if result.ALEPH_WIRE_GENERATION not in GENERATIONS:
        raise ConfigError(
            f"{source}: setting ALEPH_WIRE_GENERATION must be one of {', '.join(GENERATIONS)},"
            f" not {result.ALEPH_WIRE_GENERATION!r}"
        )
    if result.ALEPH_FLEET_SHARE_PERIOD <= 0:
        raise ConfigError(f"{source}: setting ALEPH_FLEET_SHARE_PERIOD must be positive")
    if result.RABBITMQ_ALEPH_DELIVERY_LIMIT < 1:
        raise ConfigError(f"{source}: setting RABBITMQ_ALEPH_DELIVERY_LIMIT must be at least 1")
    for key in (
        "ALEPH_RETRIES",
        "ALEPH_RATE_LIMIT",
        "ALEPH_FLEET_RATE_LIMIT",
        "ALEPH_CACHE_TTL",
        "ALEPH_CACHE_ENTRIES",
        "ALEPH_CIRCUIT_FAILURES",
        "ALEPH_CIRCUIT_RESET",
    ):
        if getattr(result, key) < 0:
            raise ConfigError(f"{source}: setting {key} cannot be negative")
