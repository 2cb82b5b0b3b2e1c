"""Log records as an operator reads them: text or JSON lines, each naming its request.

* :func:`request_context` marks the records logged while one request is handled (the
  catalogue's retry warnings included, whatever module logs them) with the request's
  ``uuid`` and ``kind``: a context variable read by :class:`RequestFilter`, so no
  logging call has to pass them along.
* ``LOG_FORMAT=json`` writes one object a line (:class:`JSONFormatter`): ``ts``,
  ``level``, ``logger``, ``message``, ``uuid`` and ``kind`` where known, any ``extra=``
  fields (``outcome``, ``duration_ms`` of a request's completion line) and the traceback.
* pika logs five ERROR lines for every failed connection attempt and more for every lost
  connection; the connection logs one line with the reason itself, so
  :class:`PikaNoiseFilter` keeps those of pika for ``LOG_LEVEL=DEBUG``.
* A detached daemon logs through a ``WatchedFileHandler``: when logrotate moves the file,
  the next record opens a new one.
* What a log line quotes of a message (its UUID, an error that names a part of it) is
  cut by :func:`bounded`, so no sender can make the daemon write megabytes per line.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import json
import logging
import logging.handlers
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "MAX_QUOTED",
    "JSONFormatter",
    "PikaNoiseFilter",
    "RequestFilter",
    "TextFormatter",
    "bounded",
    "configure_logging",
    "current_request",
    "request_context",
]

#: Characters a log line quotes at most of one value that came with a message.
MAX_QUOTED = 300

#: ``(uuid, kind)`` of the request the current thread is handling.
_request: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "edeposit_request", default=None
)
#: Attributes every LogRecord has; anything else on a record came with ``extra=``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
#: pika's loggers of connection set-up and loss, and the lines they repeat per attempt.
_PIKA_CONNECT_LOGGERS = frozenset(
    {"pika.adapters.utils.connection_workflow", "pika.adapters.utils.io_services_utils"}
)
_PIKA_CONNECT_PREFIXES = (
    "Full-stack connection workflow failed",
    "Self-initiated stack bring-up failed",
    "Connection closed while",
    "Unexpected connection close detected",
    "connection_lost:",
    "Socket failed to connect",
    "Stack-initiated",
    "_AsyncBaseTransport._produce() failed",
    "_AsyncTransportBase._consume() failed",
)


def bounded(text: str, limit: int = MAX_QUOTED) -> str:
    """``text`` cut to ``limit`` characters (marked with ``…`` and the full length)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


@contextlib.contextmanager
def request_context(uuid: str, kind: str = "") -> Iterator[None]:
    """Mark every record logged inside the block (on this thread) with ``uuid``/``kind``
    (both :func:`bounded`: a sender chooses them)."""
    token = _request.set((bounded(uuid), bounded(kind)))
    try:
        yield
    finally:
        _request.reset(token)


def set_request_kind(kind: str) -> None:
    """Name the kind of the request being handled, once it is known (after decoding)."""
    current = _request.get()
    if current is not None:
        _request.set((current[0], bounded(kind)))


def current_request() -> tuple[str, str] | None:
    """``(uuid, kind)`` of the request handled on this thread, if any."""
    return _request.get()


class RequestFilter(logging.Filter):
    """Gives each record ``uuid`` and ``kind`` attributes (from ``extra=`` or the context)."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = _request.get()
        if not hasattr(record, "uuid"):
            record.uuid = current[0] if current else None
        if not hasattr(record, "kind"):
            record.kind = current[1] if current else None
        return True


class PikaNoiseFilter(logging.Filter):
    """Folds pika's per-attempt connection chatter into DEBUG (kept only at DEBUG level)."""

    def __init__(self, keep_debug: bool) -> None:
        super().__init__()
        self.keep_debug = keep_debug

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("pika") or record.levelno < logging.WARNING:
            return True
        if record.name in _PIKA_CONNECT_LOGGERS or str(record.msg).startswith(
            _PIKA_CONNECT_PREFIXES
        ):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return self.keep_debug
        return True


def _request_label(record: logging.LogRecord) -> str:
    uuid = getattr(record, "uuid", None)
    if uuid is None:
        return ""
    kind = getattr(record, "kind", None)
    return f"UUID {uuid!r}{' ' + kind if kind else ''}: "


class TextFormatter(logging.Formatter):
    """``time LEVEL logger [thread] UUID 'x' Kind: message``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        label = _request_label(record)
        if label:
            record = logging.makeLogRecord({**record.__dict__, "message": label + record.message})
        return super().formatMessage(record)


class JSONFormatter(logging.Formatter):
    """One JSON object a line; see the module docstring for the fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and value is not None:
                entry[key] = value
        entry.setdefault("thread", record.threadName)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(
    level: str = "INFO", fmt: str = "text", *, path: Path | None = None
) -> logging.Handler:
    """Send the process's records to stderr, or to ``path`` (reopened after a rotation).

    Replaces the root logger's handlers; returns the one installed.
    """
    handler: logging.Handler
    if path is None:
        handler = logging.StreamHandler(sys.stderr)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.WatchedFileHandler(path, encoding="utf-8")
    handler.setFormatter(JSONFormatter() if fmt == "json" else TextFormatter())
    numeric = logging.getLevelNamesMapping()[level.upper()]
    handler.addFilter(RequestFilter())
    handler.addFilter(PikaNoiseFilter(keep_debug=numeric <= logging.DEBUG))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(numeric)
    # pika's INFO is one line per frame: noise at the daemon's volume.
    logging.getLogger("pika").setLevel(logging.WARNING)
    return handler
