"""The project's settings as module attributes: ``settings.RABBITMQ_ALEPH_EXCHANGE``.

The values come from one :class:`~edeposit.amqp.config.Settings` object, built on the
first attribute access (not at import) from defaults, ``/etc/edeposit/amqp.json``,
``$HOME/edeposit/amqp.json``, the file named by ``$EDEPOSIT_AMQP_CONFIG`` and the
environment, later sources winning. Services take the object itself (:func:`get`) and
pass it down; :func:`reload` re-reads the sources (tests, or a changed environment).

Names and defaults: see :class:`~edeposit.amqp.config.Settings`.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from edeposit.amqp.config import ConfigError, Settings, load_settings

__all__ = ["ConfigError", "Settings", "get", "reload"]
_NAMES = tuple(field.name for field in dataclasses.fields(Settings))

_lock = threading.Lock()
_current: Settings | None = None


def get() -> Settings:
    """The settings object, read from its sources once and then reused."""
    global _current  # noqa: PLW0603 - the one cached settings object of the process
    with _lock:
        if _current is None:
            _current = load_settings()
        return _current


def reload() -> Settings:
    """Read the sources again and make the result current."""
    global _current  # noqa: PLW0603 - see get()
    fresh = load_settings()
    with _lock:
        _current = fresh
    return fresh


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    settings = get()
    try:
        return getattr(settings, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no setting {name!r}") from None


def __dir__() -> list[str]:
    return sorted((*__all__, *_NAMES))
