"""Typed settings: one frozen object built once from defaults, files and the environment.

Overrides are applied in this order, later wins:

1. the defaults below,
2. the JSON file ``/etc/edeposit/amqp.json`` (or the one ``$EDEPOSIT_AMQP_SYSTEM_CONFIG``
   names instead: containers, packagers and tests relocate the system file with it),
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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from edeposit.amqp.errors import ConfigError

__all__ = [
    "CONFIG_ENV_VAR",
    "SYSTEM_CONFIG_ENV_VAR",
    "SYSTEM_CONFIG_PATH",
    "ConfigError",
    "Settings",
    "load_settings",
]

#: Environment variable naming an extra JSON settings file.
CONFIG_ENV_VAR = "EDEPOSIT_AMQP_CONFIG"
#: System-wide settings file.
SYSTEM_CONFIG_PATH = Path("/etc/edeposit/amqp.json")
#: Environment variable naming the system-wide settings file instead of
#: :data:`SYSTEM_CONFIG_PATH` (as ``GIT_CONFIG_SYSTEM`` does for git).
SYSTEM_CONFIG_ENV_VAR = "EDEPOSIT_AMQP_SYSTEM_CONFIG"
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
    #: Calls per second this process makes to Aleph at most (0 = unlimited).
    ALEPH_RATE_LIMIT: float = 5.0
    #: Records fetched at most for one search (Aleph stores 2500 entries per set at NKP).
    ALEPH_MAX_RECORDS: int = 2500
    #: Largest reply accepted from Aleph, in bytes.
    ALEPH_MAX_REPLY_BYTES: int = 32 * 1024 * 1024
    #: Sender signature (`sid`) and Referer sent with exports.
    ALEPH_EXPORT_SIGNATURE: str = "edeposit"
    ALEPH_EXPORT_REFERER: str = "http://edeposit.nkp.cz/"

    # --- Aleph daemon -------------------------------------------------------------------
    #: Requests handled at once (worker threads; also the consumer prefetch).
    ALEPH_DAEMON_WORKERS: int = 32
    #: Largest request body accepted, in bytes; larger ones get an error reply undecoded.
    ALEPH_DAEMON_MAX_BODY_BYTES: int = 1024 * 1024
    #: Seconds a graceful stop waits for requests in flight.
    ALEPH_DAEMON_SHUTDOWN_TIMEOUT: float = 30.0
    #: Longest pause between reconnect attempts, in seconds.
    ALEPH_DAEMON_RECONNECT_MAX_DELAY: float = 30.0
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

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed, validated like any other source."""
        return _apply(self, changes, source="replace()", from_text=False)


_FIELD_TYPES: dict[str, type] = {
    field.name: {"str": str, "int": int, "float": float, "bool": bool}[str(field.type)]
    for field in dataclasses.fields(Settings)
}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _convert(key: str, value: Any, source: str, *, from_text: bool) -> Any:
    """One value checked (JSON, Python) or parsed (environment) into the key's type."""
    wanted = _FIELD_TYPES[key]
    shown = _MASK if key in SECRET_KEYS else repr(value)
    problem = f"{source}: setting {key} must be {wanted.__name__}, not {shown}"
    if from_text:
        if wanted is str:
            return value
        text = str(value).strip()
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
    if wanted is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if type(value) is not wanted:
        raise ConfigError(problem)
    return value


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
    for key in ("ALEPH_TIMEOUT", "ALEPH_DAEMON_SHUTDOWN_TIMEOUT", "RABBITMQ_CONNECT_TIMEOUT"):
        if getattr(result, key) <= 0:
            raise ConfigError(f"{source}: setting {key} must be positive")
    if result.LOG_LEVEL.upper() not in logging.getLevelNamesMapping():
        raise ConfigError(f"{source}: setting LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
    if result.RABBITMQ_ALEPH_QUEUE_TYPE not in ("classic", "quorum"):
        raise ConfigError(f"{source}: setting RABBITMQ_ALEPH_QUEUE_TYPE must be classic or quorum")
    if result.RABBITMQ_ALEPH_DELIVERY_LIMIT < 1:
        raise ConfigError(f"{source}: setting RABBITMQ_ALEPH_DELIVERY_LIMIT must be at least 1")
    if result.ALEPH_RETRIES < 0 or result.ALEPH_RATE_LIMIT < 0:
        raise ConfigError(f"{source}: ALEPH_RETRIES and ALEPH_RATE_LIMIT cannot be negative")
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
    files = [(Path(environ.get(SYSTEM_CONFIG_ENV_VAR) or SYSTEM_CONFIG_PATH), False)]
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
