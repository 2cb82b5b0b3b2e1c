"""Environment variables that look like settings but are not: a warning naming the closest.

A misspelt variable (``RABBITMQ_HOTS=mq1``) is not a setting, so it is ignored, and the
service would quietly go to the default host instead. The rule (docs/settings.md): a
variable named
``ALEPH_*``, ``RABBITMQ_ALEPH_*`` or ``EDEPOSIT_AMQP_*`` that is not a setting, or one
within two letters of a setting (case aside), is warned about through logging, once
per process and name, naming the setting it most likely meant. RabbitMQ's own server
variables (``RABBITMQ_NODENAME``, ``RABBITMQ_HOME``…) and the project's variables that
name settings files (``EDEPOSIT_AMQP_CONFIG``…) are left alone.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterable
from difflib import SequenceMatcher

__all__ = [
    "LOOKALIKE_PREFIXES",
    "NOT_SETTINGS",
    "RABBITMQ_SERVER_VARIABLES",
    "distance",
    "lookalikes",
    "warn_lookalikes",
]

log = logging.getLogger(__name__)

#: A variable with one of these prefixes is meant for this project.
LOOKALIKE_PREFIXES = ("ALEPH_", "RABBITMQ_ALEPH_", "EDEPOSIT_AMQP_")
#: Letters a variable may differ from a setting by and still be taken for a misspelling.
MAX_DISTANCE = 2
#: The project's variables that are not settings (they name the settings files).
NOT_SETTINGS = frozenset({"EDEPOSIT_AMQP_CONFIG", "EDEPOSIT_AMQP_SYSTEM_CONFIG"})
#: RabbitMQ's own variables (rabbitmq-env, rabbitmq-defaults, the server's rabbit_env
#: and the official container image's), which a broker on the same machine may read.
RABBITMQ_SERVER_VARIABLES = frozenset(
    {
        "RABBITMQ_ADVANCED_CONFIG_FILE",
        "RABBITMQ_ALLOW_INPUT",
        "RABBITMQ_BASE",
        "RABBITMQ_BOOT_MODULE",
        "RABBITMQ_CONFIG_FILE",
        "RABBITMQ_CONFIG_FILES",
        "RABBITMQ_CONF_ENV_FILE",
        "RABBITMQ_CTL_DIST_PORT_MAX",
        "RABBITMQ_CTL_DIST_PORT_MIN",
        "RABBITMQ_CTL_ERL_ARGS",
        "RABBITMQ_DBG",
        "RABBITMQ_DEFAULT_ALLOC_ARGS",
        "RABBITMQ_DEFAULT_PASS",
        "RABBITMQ_DEFAULT_PASS_FILE",
        "RABBITMQ_DEFAULT_USER",
        "RABBITMQ_DEFAULT_USER_FILE",
        "RABBITMQ_DEFAULT_VHOST",
        "RABBITMQ_DIST_PORT",
        "RABBITMQ_DISTRIBUTION_BUFFER_SIZE",
        "RABBITMQ_ENABLED_PLUGINS",
        "RABBITMQ_ENABLED_PLUGINS_FILE",
        "RABBITMQ_ENV_LOADED",
        "RABBITMQ_ERLANG_COOKIE",
        "RABBITMQ_FEATURE_FLAGS",
        "RABBITMQ_FEATURE_FLAGS_FILE",
        "RABBITMQ_HOME",
        "RABBITMQ_IGNORE_SIGINT",
        "RABBITMQ_KEEP_PID_FILE_ON_EXIT",
        "RABBITMQ_LOG",
        "RABBITMQ_LOGS",
        "RABBITMQ_LOG_BASE",
        "RABBITMQ_LOG_FF_REGISTRY",
        "RABBITMQ_MAX_NUMBER_OF_ATOMS",
        "RABBITMQ_MAX_NUMBER_OF_PROCESSES",
        "RABBITMQ_MNESIA_BASE",
        "RABBITMQ_MNESIA_DIR",
        "RABBITMQ_MOTD_FILE",
        "RABBITMQ_NODENAME",
        "RABBITMQ_NODE_IP_ADDRESS",
        "RABBITMQ_NODE_ONLY",
        "RABBITMQ_NODE_PORT",
        "RABBITMQ_PID_FILE",
        "RABBITMQ_PLUGINS_DIR",
        "RABBITMQ_PLUGINS_EXPAND_DIR",
        "RABBITMQ_PRODUCT_NAME",
        "RABBITMQ_PRODUCT_VERSION",
        "RABBITMQ_QUORUM_DIR",
        "RABBITMQ_SCHEDULER_BIND_TYPE",
        "RABBITMQ_SCHEDULER_BUSY_WAIT_THRESHOLD",
        "RABBITMQ_SCRIPTS_DIR",
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
        "RABBITMQ_SERVER_CODE_PATH",
        "RABBITMQ_SERVER_ERL_ARGS",
        "RABBITMQ_SERVER_START_ARGS",
        "RABBITMQ_START_RABBIT",
        "RABBITMQ_STREAM_DIR",
        "RABBITMQ_UPGRADE_LOG",
        "RABBITMQ_USE_LONGNAME",
    }
)

_warned: set[str] = set()
_lock = threading.Lock()


def distance(first: str, second: str, limit: int | None = None) -> int:
    """Edits (insert, delete, replace, swap two neighbours) from ``first`` to ``second``;
    past ``limit``, any number above it (the count stops early).

    Written here: the standard library has no edit distance (difflib's ratio does not
    count letters), and a few lines do not justify a dependency.
    """
    before: list[int] = []
    row = list(range(len(second) + 1))
    for i, letter in enumerate(first, 1):
        previous, before, row = before, row, [i]
        for j, other in enumerate(second, 1):
            cost = min(before[j] + 1, row[j - 1] + 1, before[j - 1] + (letter != other))
            if i > 1 and j > 1 and letter == second[j - 2] and first[i - 2] == other:
                cost = min(cost, previous[j - 2] + 1)
            row.append(cost)
        if limit is not None and min(row) > limit:
            return limit + 1
    return row[-1]


def lookalikes(names: Iterable[str], settings: frozenset[str]) -> list[tuple[str, str]]:
    """``(variable, closest setting)`` for each of ``names`` that looks like one of
    ``settings`` but is not, in the order given."""
    found = []
    for name in names:
        closest = _lookalike(name, settings)
        if closest is not None:
            found.append((name, closest))
    return found


@functools.lru_cache(maxsize=4096)
def _lookalike(name: str, settings: frozenset[str]) -> str | None:
    """The setting ``name`` looks like, if it is not one (settings load often: cached)."""
    if name in settings or name in NOT_SETTINGS or name in RABBITMQ_SERVER_VARIABLES:
        return None
    upper = name.upper()
    known = settings | NOT_SETTINGS
    if upper.startswith(LOOKALIKE_PREFIXES):
        nearest = min(sorted(known), key=lambda setting: distance(upper, setting))
        if distance(upper, nearest) <= MAX_DISTANCE:
            return nearest
        # Far from every name: the one sharing the longest stretches of it.
        return max(sorted(known), key=lambda setting: SequenceMatcher(None, upper, setting).ratio())
    near = [  # only a name of about its length can be within MAX_DISTANCE letters
        setting
        for setting in sorted(known)
        if abs(len(setting) - len(upper)) <= MAX_DISTANCE
        and distance(upper, setting, MAX_DISTANCE) <= MAX_DISTANCE
    ]
    return min(near, key=lambda setting: distance(upper, setting), default=None)


def warn_lookalikes(names: Iterable[str], settings: frozenset[str]) -> None:
    """Log a warning for each variable of ``names`` that looks like a setting but is not,
    once per process and name."""
    for name, closest in lookalikes(names, settings):
        with _lock:
            if name in _warned:
                continue
            _warned.add(name)
        log.warning(
            "environment variable %s is not a setting and is ignored; did you mean %s?",
            name,
            closest,
        )
