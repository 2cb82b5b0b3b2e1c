"""Typed settings: one frozen object built once from defaults, files and the environment.

Overrides are applied in this order, later wins:

1. the defaults below,
2. the JSON file ``/etc/edeposit/amqp.json`` (or the one ``$EDEPOSIT_AMQP_SYSTEM_CONFIG``
   names instead: containers, packagers and tests relocate the system file with it),
3. the JSON file ``$HOME/edeposit/amqp.json``,
4. the JSON file named by ``$EDEPOSIT_AMQP_CONFIG``,
5. environment variables named exactly like the settings (one that looks like a setting
   but is not, ``RABBITMQ_HOTS``, is a warning: :mod:`~edeposit.amqp.config_lookalikes`).

A password file (``RABBITMQ_USER_PASSWORD_FILE``) is read last and replaces
``RABBITMQ_USER_PASSWORD``; a relative name is looked up in ``$CREDENTIALS_DIRECTORY``,
where systemd's ``LoadCredential=`` puts it.

A file that is not a JSON object, an unknown key or a value of the wrong type is a
:class:`ConfigError` naming the file (or variable) and the key. Missing files are
skipped, except the one named by ``EDEPOSIT_AMQP_CONFIG``: asking for it and not
having it is an error. The password is masked in ``repr`` and in :meth:`Settings.describe`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from edeposit.amqp.config_lookalikes import warn_lookalikes
from edeposit.amqp.config_values import MASK, SECRETS, apply_changes, field_kinds, parse_node
from edeposit.amqp.errors import ConfigError
from edeposit.amqp.wire.options import WireOptions

__all__ = [
    "CONFIG_ENV_VAR",
    "SYSTEM_CONFIG_ENV_VAR",
    "SYSTEM_CONFIG_PATH",
    "ConfigError",
    "Settings",
    "load_settings",
    "read_password_file",
]

#: Environment variable naming an extra JSON settings file.
CONFIG_ENV_VAR = "EDEPOSIT_AMQP_CONFIG"
#: Where systemd puts the credentials of ``LoadCredential=`` (a relative password file).
CREDENTIALS_ENV_VAR = "CREDENTIALS_DIRECTORY"
#: System-wide settings file.
SYSTEM_CONFIG_PATH = Path("/etc/edeposit/amqp.json")
#: Environment variable naming the system-wide settings file instead of
#: :data:`SYSTEM_CONFIG_PATH` (as ``GIT_CONFIG_SYSTEM`` does for git).
SYSTEM_CONFIG_ENV_VAR = "EDEPOSIT_AMQP_SYSTEM_CONFIG"
#: Settings whose values are never shown.
SECRET_KEYS = SECRETS


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of the project, typed; field names are the public setting names."""

    # --- RabbitMQ connection -------------------------------------------------------
    #: Host name or address of the broker.
    RABBITMQ_HOST: str = "127.0.0.1"
    #: AMQP port of the broker (5671 for TLS, usually).
    RABBITMQ_PORT: int = 5672
    #: The nodes of a RabbitMQ cluster as ``host:port`` (``[::1]:5672`` for IPv6): a JSON
    #: list in files, ``a:5672,b:5672`` in the environment. Services start at a random
    #: one and move to the next when it goes. Empty: RABBITMQ_HOST:RABBITMQ_PORT.
    RABBITMQ_NODES: tuple[str, ...] = ()
    #: User the services log in as.
    RABBITMQ_USER_NAME: str = "guest"
    #: Its password; never logged or shown. Prefer RABBITMQ_USER_PASSWORD_FILE.
    RABBITMQ_USER_PASSWORD: str = dataclasses.field(default="guest", repr=False)
    #: Seconds between AMQP heartbeats; slow handlers never delay them (own I/O thread).
    RABBITMQ_HEARTBEAT: int = 30
    #: Seconds to wait for a TCP connection / AMQP handshake.
    RABBITMQ_CONNECT_TIMEOUT: float = 10.0
    #: Use TLS (amqps); the CA, certificate and key files below are then read.
    RABBITMQ_USE_TLS: bool = False
    #: The CA certificate(s) that signed the broker's certificate (PEM; empty: system CAs).
    RABBITMQ_TLS_CA_FILE: str = ""
    #: A client certificate (PEM) where the broker asks for one.
    RABBITMQ_TLS_CERT_FILE: str = ""
    #: The client certificate's key (PEM).
    RABBITMQ_TLS_KEY_FILE: str = ""
    #: Check the broker's certificate against RABBITMQ_HOST.
    RABBITMQ_TLS_VERIFY_HOSTNAME: bool = True
    #: A file holding the password (one line), read at start-up; it replaces
    #: RABBITMQ_USER_PASSWORD. A relative name is looked up in ``$CREDENTIALS_DIRECTORY``
    #: (systemd's ``LoadCredential=``).
    RABBITMQ_USER_PASSWORD_FILE: str = ""

    # --- Aleph topology (names real clients use) -----------------------------------
    #: The vhost of the Aleph exchanges and queues.
    RABBITMQ_ALEPH_VIRTUALHOST: str = "aleph"
    #: The queue the daemons consume requests from.
    RABBITMQ_ALEPH_DAEMON_QUEUE: str = "daemon"
    #: The shared queue answers wait in for the front-end.
    RABBITMQ_ALEPH_PLONE_QUEUE: str = "plone"
    #: The exchange answers are published to (requests come through all four).
    RABBITMQ_ALEPH_EXCHANGE: str = "search"
    #: Routing key of requests.
    RABBITMQ_ALEPH_DAEMON_KEY: str = "request"
    #: Routing key of answers.
    RABBITMQ_ALEPH_PLONE_KEY: str = "result"
    #: Routing key bound to the answer queue for the original clients' exceptions.
    RABBITMQ_ALEPH_EXCEPTION_KEY: str = "exception"
    #: ``classic`` (what the original clients declare) or ``quorum``: replicated queues
    #: that survive a cluster node (requests, answers, dead letters); requests get a
    #: delivery limit, past which one is dead-lettered and answered with an error instead
    #: of crashing daemons forever (docs/operations.md has the migration).
    RABBITMQ_ALEPH_QUEUE_TYPE: str = "classic"
    #: Deliveries of one request before it is dead-lettered (quorum queues only).
    RABBITMQ_ALEPH_DELIVERY_LIMIT: int = 5

    # --- Aleph catalogue ------------------------------------------------------------
    #: The catalogue's address; X-Services answer at ``{ALEPH_URL}/X``.
    ALEPH_URL: str = "http://aleph.nkp.cz"
    #: Logical base searched when a query names none.
    ALEPH_DEFAULT_BASE: str = "nkc"
    #: Physical library of documents fetched by system number.
    ALEPH_DEFAULT_LIBRARY: str = "NKC01"
    #: The e-deposit form new publications are posted to.
    ALEPH_EXPORT_URL: str = "http://aleph.nkp.cz/aleph-cgi/e-deposit"
    #: Seconds for one HTTP call to Aleph (connect, read and write each).
    ALEPH_TIMEOUT: float = 20.0
    #: Extra attempts after a transport failure or a non-XML reply.
    ALEPH_RETRIES: int = 3
    #: First retry delay in seconds; doubles per attempt, with jitter.
    ALEPH_RETRY_BACKOFF: float = 0.5
    #: Seconds all catalogue calls of one request may take together: waits for the rate
    #: limit, retries and their pauses included. A call the rate limit could not start
    #: in time is not made (AlephOverloadedError).
    ALEPH_REQUEST_DEADLINE: float = 60.0
    #: Transport failures in a row after which calls to the catalogue fail at once for
    #: ALEPH_CIRCUIT_RESET seconds, then one call probes it (0 = never).
    ALEPH_CIRCUIT_FAILURES: int = 5
    #: Seconds an open circuit fails calls at once before one call probes the catalogue.
    ALEPH_CIRCUIT_RESET: float = 10.0
    #: Calls per second this process makes to Aleph at most (0 = unlimited).
    ALEPH_RATE_LIMIT: float = 5.0
    #: Calls per second all daemons on the request queue make to Aleph together (0 =
    #: off): each takes its share, the budget divided by the queue's consumers as the
    #: broker counts them, so daemons joining or leaving rebalance it without talking to
    #: each other. ALEPH_RATE_LIMIT still applies to each; the stricter wins.
    ALEPH_FLEET_RATE_LIMIT: float = 0.0
    #: Seconds between two readings of the request queue's consumers (the fleet's size).
    ALEPH_FLEET_SHARE_PERIOD: float = 2.0
    #: Seconds a daemon answers a repeated search or count from its own memory (0 =
    #: off). Its own exports clear what it remembers; other daemons' exports do not, so
    #: an answer may be this old (docs/scaling.md).
    ALEPH_CACHE_TTL: float = 0.0
    #: Answers remembered at most (least recently used go first).
    ALEPH_CACHE_ENTRIES: int = 10000
    #: Records fetched at most for one search (Aleph stores 2500 entries per set at NKP).
    ALEPH_MAX_RECORDS: int = 2500
    #: Largest reply accepted from Aleph, in bytes.
    ALEPH_MAX_REPLY_BYTES: int = 32 * 1024 * 1024
    #: Sender signature (``sid``) sent with exports.
    ALEPH_EXPORT_SIGNATURE: str = "edeposit"
    #: Referer sent with exports.
    ALEPH_EXPORT_REFERER: str = "http://edeposit.nkp.cz/"
    #: The clients the answers are written for (docs/messages.md): ``2014`` (18-field
    #: ``EPublication``, one URL each), ``2015`` (21 fields, URL lists, and the
    #: ``semantic_info`` of each record) or ``2016`` (the record's ``parsed_info``: an
    #: ``EPeriodical`` with an ``EPeriodicalSemanticInfo`` for a continuing resource,
    #: the 2015 values for any other). Every form is read whatever this says.
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
    #: Queues a request's ``reply_to`` may name to get a copy of its answer, besides
    #: server-named exclusive queues (``amq.gen-*``) and Direct Reply-to
    #: (``amq.rabbitmq.reply-to*``), which are always allowed: names, or prefixes ending
    #: in ``*``. The service's own queues never are. A refused ``reply_to`` is counted and
    #: logged once per sender; the answer still goes to the result queue.
    ALEPH_REPLY_TO: tuple[str, ...] = ()
    #: Seconds after which a request that was neither answered nor rejected is released
    #: (requeued once, then dead-lettered): no prefetch slot is ever lost.
    ALEPH_DAEMON_SETTLE_TIMEOUT: float = 300.0
    #: Pidfile of the daemon; its live state is written beside it
    #: (``alephdaemon.state.json``). Empty means ``alephdaemon.pid`` in
    #: ``$RUNTIME_DIRECTORY`` (set by systemd's ``RuntimeDirectory=``), else in
    #: ``$XDG_STATE_HOME/edeposit`` (``~/.local/state/edeposit``).
    ALEPH_DAEMON_PIDFILE: str = ""
    #: Log file of the detached daemon; empty means ``alephdaemon.log`` beside the pidfile.
    #: Reopened when logrotate moves it.
    ALEPH_DAEMON_LOGFILE: str = ""
    #: Python logging level name for the daemons.
    LOG_LEVEL: str = "INFO"
    #: Seconds ``alephdaemon start`` waits for the daemon to consume before it gives up.
    ALEPH_DAEMON_START_TIMEOUT: float = 30.0
    #: Port of the daemon's HTTP endpoint: ``/metrics`` (Prometheus), ``/healthz`` and
    #: ``/readyz`` (0 = off).
    ALEPH_DAEMON_METRICS_PORT: int = 0
    #: Address that endpoint listens on.
    ALEPH_DAEMON_METRICS_HOST: str = "127.0.0.1"
    #: ``text``, or ``json``: one JSON object a line (ts, level, logger, message, and the
    #: request's uuid and kind while one is handled).
    LOG_FORMAT: str = "text"

    def __repr__(self) -> str:
        shown = ", ".join(f"{key}={value!r}" for key, value in self.describe().items())
        return f"Settings({shown})"

    def describe(self) -> dict[str, Any]:
        """All settings as a dict, secrets masked: safe to log or print."""
        return {
            field.name: (MASK if field.name in SECRET_KEYS else getattr(self, field.name))
            for field in dataclasses.fields(self)
        }

    def broker_nodes(self) -> tuple[tuple[str, int], ...]:
        """``(host, port)`` of every broker node: RABBITMQ_NODES, else the one of
        RABBITMQ_HOST and RABBITMQ_PORT (entries were checked when the settings were built)."""
        if not self.RABBITMQ_NODES:
            return ((self.RABBITMQ_HOST, self.RABBITMQ_PORT),)
        return tuple(parse_node(entry) for entry in self.RABBITMQ_NODES)

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
        return apply_changes(self, changes, source="replace()", from_text=False)


#: The names of all settings.
_SETTING_NAMES = frozenset(field_kinds(Settings))


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
        result = apply_changes(result, _read_json_file(path), str(path), from_text=False)
    warn_lookalikes(environ, _SETTING_NAMES)  # a misspelt setting would go unnoticed
    from_env = {key: environ[key] for key in field_kinds(Settings) if key in environ}
    result = apply_changes(result, from_env, "environment", from_text=True)
    if result.RABBITMQ_USER_PASSWORD_FILE:
        password = read_password_file(result.RABBITMQ_USER_PASSWORD_FILE, environ)
        result = dataclasses.replace(result, RABBITMQ_USER_PASSWORD=password)
    return result


def read_password_file(name: str, environ: Mapping[str, str]) -> str:
    """The password in file ``name`` (its first line); a relative name is looked up in
    ``$CREDENTIALS_DIRECTORY`` when systemd set it.

    Raises:
        ConfigError: the file cannot be read or is empty (naming the file, never its text).
    """
    path = Path(name)
    credentials = environ.get(CREDENTIALS_ENV_VAR)
    if not path.is_absolute() and credentials:
        path = Path(credentials) / path
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise ConfigError(
            f"{path}: cannot read the password file named by RABBITMQ_USER_PASSWORD_FILE ({reason})"
        ) from None
    password = text.splitlines()[0] if text else ""
    if not password:
        raise ConfigError(f"{path}: the password file (RABBITMQ_USER_PASSWORD_FILE) is empty")
    return password
