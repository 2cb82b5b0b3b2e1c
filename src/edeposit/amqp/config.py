"""Typed settings: one frozen object built once from defaults, files and the environment.

Overrides are applied in this order, later wins:

1. the defaults below,
2. the JSON file ``/etc/edeposit/amqp.json``,
3. the JSON file ``$HOME/edeposit/amqp.json``,
4. the JSON file named by ``$EDEPOSIT_AMQP_CONFIG``,
5. environment variables named exactly like the settings.

A file that is not a JSON object, an unknown key or a value of the wrong type is a
:class:`ConfigError` naming the file (or variable) and the key. Missing files are
skipped, except the one named by ``EDEPOSIT_AMQP_CONFIG``: asking for it and not
having it is an error. The password is masked in ``repr`` and in :meth:`Settings.describe`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from edeposit.amqp.errors import ConfigError
from edeposit.amqp.wire.options import GENERATIONS, WireOptions

__all__ = [
    "CONFIG_ENV_VAR",
    "SYSTEM_CONFIG_PATH",
    "ConfigError",
    "Settings",
    "load_settings",
]

#: Environment variable naming an extra JSON settings file.
CONFIG_ENV_VAR = "EDEPOSIT_AMQP_CONFIG"
#: System-wide settings file.
SYSTEM_CONFIG_PATH = Path("/etc/edeposit/amqp.json")
#: Settings whose values are never shown.
SECRET_KEYS = frozenset({"RABBITMQ_USER_PASSWORD"})
_MASK = "********"


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of the project, typed; field names are the public setting names."""

    # --- RabbitMQ connection -------------------------------------------------------
    RABBITMQ_HOST: str = "127.0.0.1"
    RABBITMQ_PORT: int = 5672
    RABBITMQ_USER_NAME: str = "guest"
    RABBITMQ_USER_PASSWORD: str = dataclasses.field(default="guest", repr=False)
    #: Seconds between AMQP heartbeats; slow handlers never delay them (own I/O thread).
    RABBITMQ_HEARTBEAT: int = 30
    #: Seconds to wait for a TCP connection / AMQP handshake.
    RABBITMQ_CONNECT_TIMEOUT: float = 10.0
    #: Use TLS (amqps); the CA, certificate and key files below are then read.
    RABBITMQ_USE_TLS: bool = False
    RABBITMQ_TLS_CA_FILE: str = ""
    RABBITMQ_TLS_CERT_FILE: str = ""
    RABBITMQ_TLS_KEY_FILE: str = ""
    #: Check the broker's certificate against RABBITMQ_HOST.
    RABBITMQ_TLS_VERIFY_HOSTNAME: bool = True

    # --- Aleph topology (names real clients use) -----------------------------------
    RABBITMQ_ALEPH_VIRTUALHOST: str = "aleph"
    RABBITMQ_ALEPH_DAEMON_QUEUE: str = "daemon"
    RABBITMQ_ALEPH_PLONE_QUEUE: str = "plone"
    RABBITMQ_ALEPH_EXCHANGE: str = "search"
    RABBITMQ_ALEPH_DAEMON_KEY: str = "request"
    RABBITMQ_ALEPH_PLONE_KEY: str = "result"
    RABBITMQ_ALEPH_EXCEPTION_KEY: str = "exception"
    #: ``classic`` (what the original clients declare) or ``quorum``: a replicated queue
    #: with a delivery limit, past which a request is dead-lettered and answered with an
    #: error instead of crashing daemons forever (docs/operations.md has the migration).
    RABBITMQ_ALEPH_QUEUE_TYPE: str = "classic"
    #: Deliveries of one request before it is dead-lettered (quorum queues only).
    RABBITMQ_ALEPH_DELIVERY_LIMIT: int = 5

    # --- Aleph catalogue ------------------------------------------------------------
    ALEPH_URL: str = "http://aleph.nkp.cz"
    ALEPH_DEFAULT_BASE: str = "nkc"
    ALEPH_DEFAULT_LIBRARY: str = "NKC01"
    ALEPH_EXPORT_URL: str = "http://aleph.nkp.cz/aleph-cgi/e-deposit"
    #: Seconds for one HTTP call to Aleph (connect, read and write each).
    ALEPH_TIMEOUT: float = 20.0
    #: Extra attempts after a transport failure or a non-XML reply.
    ALEPH_RETRIES: int = 3
    #: First retry delay in seconds; doubles per attempt, with jitter.
    ALEPH_RETRY_BACKOFF: float = 0.5
    #: Seconds all catalogue calls of one request may take together, retries included.
    ALEPH_REQUEST_DEADLINE: float = 60.0
    #: Transport failures in a row after which calls to the catalogue fail at once for
    #: ALEPH_CIRCUIT_RESET seconds, then one call probes it (0 = never).
    ALEPH_CIRCUIT_FAILURES: int = 5
    ALEPH_CIRCUIT_RESET: float = 10.0
    #: Calls per second this process makes to Aleph at most (0 = unlimited).
    ALEPH_RATE_LIMIT: float = 5.0
    #: Records fetched at most for one search (Aleph stores 2500 entries per set at NKP).
    ALEPH_MAX_RECORDS: int = 2500
    #: Largest reply accepted from Aleph, in bytes.
    ALEPH_MAX_REPLY_BYTES: int = 32 * 1024 * 1024
    #: Sender signature (`sid`) and Referer sent with exports.
    ALEPH_EXPORT_SIGNATURE: str = "edeposit"
    ALEPH_EXPORT_REFERER: str = "http://edeposit.nkp.cz/"
    #: The clients the answers are written for (DESIGN §3.3): ``2014`` (18-field
    #: ``EPublication``, one URL each) or ``2015`` (21 fields, URL lists, and the
    #: ``semantic_info`` of each record). Either form is read whatever this says.
    ALEPH_WIRE_GENERATION: str = "2014"

    # --- Aleph daemon -------------------------------------------------------------------
    #: Requests handled at once (worker threads; also the consumer prefetch).
    ALEPH_DAEMON_WORKERS: int = 32
    #: Largest request body accepted, in bytes; larger ones get an error reply undecoded.
    ALEPH_DAEMON_MAX_BODY_BYTES: int = 1024 * 1024
    #: Seconds a graceful stop waits for requests in flight.
    ALEPH_DAEMON_SHUTDOWN_TIMEOUT: float = 30.0
    #: Longest pause between reconnect attempts, in seconds: a daemon is back within
    #: about this long after its broker.
    ALEPH_DAEMON_RECONNECT_MAX_DELAY: float = 3.0
    #: Seconds after which a request that was neither answered nor rejected is released
    #: (requeued once, then dead-lettered): no prefetch slot is ever lost.
    ALEPH_DAEMON_SETTLE_TIMEOUT: float = 300.0
    #: Pidfile and log file of the detached daemon; empty means ``alephdaemon.pid`` and
    #: ``alephdaemon.log`` in ``$XDG_STATE_HOME/edeposit`` (``~/.local/state/edeposit``).
    ALEPH_DAEMON_PIDFILE: str = ""
    ALEPH_DAEMON_LOGFILE: str = ""
    #: Python logging level name for the daemons.
    LOG_LEVEL: str = "INFO"

    def __repr__(self) -> str:
        shown = ", ".join(f"{key}={value!r}" for key, value in self.describe().items())
        return f"Settings({shown})"

    def describe(self) -> dict[str, Any]:
        """All settings as a dict, secrets masked: safe to log or print."""
        return {
            field.name: (_MASK if field.name in SECRET_KEYS else getattr(self, field.name))
            for field in dataclasses.fields(self)
        }

    def wire_options(self) -> WireOptions:
        """How a service with these settings reads and writes messages.

        A query that leaves out its ``base`` (a ``DocumentQuery`` its ``library``)
        takes ``ALEPH_DEFAULT_BASE`` (``ALEPH_DEFAULT_LIBRARY``) of these settings, not
        of the process: a daemon answers by its own configuration, and writes the form
        of ``ALEPH_WIRE_GENERATION``.
        """
        return WireOptions(
            defaults={"base": self.ALEPH_DEFAULT_BASE, "library": self.ALEPH_DEFAULT_LIBRARY},
            generation=self.ALEPH_WIRE_GENERATION,
        )

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed, validated like any other source."""
        return _apply(self, changes, source="replace()", from_text=False)


def _field_kinds(cls: type) -> dict[str, tuple[type, bool]]:
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


_FIELD_TYPES = _field_kinds(Settings)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_TYPE_NAMES = {tuple: "a list of strings", str: "str", int: "int", float: "float", bool: "bool"}


def _convert(key: str, value: Any, source: str, *, from_text: bool) -> Any:
    """One value checked (JSON, Python) or parsed (environment) into the key's type."""
    wanted, optional = _FIELD_TYPES[key]
    shown = _MASK if key in SECRET_KEYS else repr(value)
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
    if wanted is tuple:  # comma-separated, or a JSON list
        if text.startswith("["):
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


def _apply(base: Settings, values: Mapping[str, Any], source: str, *, from_text: bool) -> Settings:
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key not in _FIELD_TYPES:
            raise ConfigError(f"{source}: unknown setting {key!r}")
        changes[key] = _convert(key, value, source, from_text=from_text)
    return _validated(dataclasses.replace(base, **changes), source)


def _validated(result: Settings, source: str) -> Settings:
    if not 0 < result.RABBITMQ_PORT < 65536:
        raise ConfigError(f"{source}: setting RABBITMQ_PORT must be 1-65535")
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
    ):
        if getattr(result, key) <= 0:
            raise ConfigError(f"{source}: setting {key} must be positive")
    if result.LOG_LEVEL.upper() not in logging.getLevelNamesMapping():
        raise ConfigError(f"{source}: setting LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
    if result.RABBITMQ_ALEPH_QUEUE_TYPE not in ("classic", "quorum"):
        raise ConfigError(f"{source}: setting RABBITMQ_ALEPH_QUEUE_TYPE must be classic or quorum")
    if result.ALEPH_WIRE_GENERATION not in GENERATIONS:
        raise ConfigError(
            f"{source}: setting ALEPH_WIRE_GENERATION must be one of {', '.join(GENERATIONS)},"
            f" not {result.ALEPH_WIRE_GENERATION!r}"
        )
    if result.RABBITMQ_ALEPH_DELIVERY_LIMIT < 1:
        raise ConfigError(f"{source}: setting RABBITMQ_ALEPH_DELIVERY_LIMIT must be at least 1")
    for key in (
        "ALEPH_RETRIES",
        "ALEPH_RATE_LIMIT",
        "ALEPH_CIRCUIT_FAILURES",
        "ALEPH_CIRCUIT_RESET",
    ):
        if getattr(result, key) < 0:
            raise ConfigError(f"{source}: setting {key} cannot be negative")
    return result


def _read_json_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read settings file: {error}") from error
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: settings file must hold a JSON object")
    return data


def config_files(environ: Mapping[str, str]) -> list[tuple[Path, bool]]:
    """The settings files in override order, each with whether it must exist."""
    files = [(SYSTEM_CONFIG_PATH, False)]
    home = environ.get("HOME")
    if home:
        files.append((Path(home) / "edeposit" / "amqp.json", False))
    explicit = environ.get(CONFIG_ENV_VAR)
    if explicit:
        files.append((Path(explicit), True))
    return files


def load_settings(
    environ: Mapping[str, str] | None = None,
    files: list[tuple[Path, bool]] | None = None,
) -> Settings:
    """Build the settings from defaults, then files, then environment (later wins).

    Args:
        environ: the environment to read (``os.environ`` when omitted).
        files: ``(path, required)`` pairs replacing the standard file chain.

    Raises:
        ConfigError: a file is unreadable, not a JSON object, or holds an unknown key
            or a wrongly typed value; an environment variable cannot be parsed.
    """
    environ = os.environ if environ is None else environ
    result = Settings()
    for path, required in config_files(environ) if files is None else files:
        if not path.is_file():
            if required:
                raise ConfigError(f"{path}: settings file named by {CONFIG_ENV_VAR} not found")
            continue
        result = _apply(result, _read_json_file(path), str(path), from_text=False)
    from_env = {key: environ[key] for key in _FIELD_TYPES if key in environ}
    return _apply(result, from_env, "environment", from_text=True)
