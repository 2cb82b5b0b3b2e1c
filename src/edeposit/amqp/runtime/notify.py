"""Telling whoever started the daemon how it goes: the ``start`` command, or systemd.

Two listeners, one :class:`Notifier`:

* ``alephdaemon start`` forks the daemon and reads a pipe until the daemon reports
  ``ok <pid>`` (it consumes) or ``error <exit code> <reason>`` (it cannot start); so
  ``start`` returns 0 only for a daemon that serves, and otherwise says why.
* systemd (``Type=notify``) listens on the unix datagram socket named by
  ``NOTIFY_SOCKET``: ``READY=1`` once consuming, ``STATUS=…`` lines, ``STOPPING=1``, and
  ``WATCHDOG=1`` at half the ``WATCHDOG_USEC`` interval while the daemon is healthy
  (``WatchdogSec=`` in the unit; systemd restarts a daemon whose pings stop). The
  protocol is a few lines (sd_notify(3)); no library needed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import Mapping

__all__ = ["Notifier", "parse_report", "sd_notify"]

log = logging.getLogger(__name__)


def sd_notify(message: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``message`` (``KEY=value`` lines) to systemd; False when not run by it."""
    address = (os.environ if environ is None else environ).get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError as error:
        log.warning("cannot notify systemd at %s: %s", address.lstrip("\0"), error)
        return False
    return True


def parse_report(text: str) -> tuple[int, int | None, str]:
    """``(exit code, pid, reason)`` of what a daemon wrote into the start pipe.

    ``ok <pid>`` is ``(0, pid, "")``; ``error <code> <reason>`` is ``(code, None, reason)``;
    anything else (nothing at all: the daemon died first) is a failure with exit code 1.
    """
    word, _, rest = text.strip().partition(" ")
    if word == "ok" and rest.isdigit():
        return 0, int(rest), ""
    if word == "error":
        code, _, reason = rest.partition(" ")
        if code.isdigit():
            return int(code), None, reason
    return 1, None, text.strip()


class Notifier:
    """The daemon's side of both channels (see the module docstring).

    Args:
        report_fd: the start pipe's write end (a detached daemon), or None.
        environ: where ``NOTIFY_SOCKET``, ``WATCHDOG_USEC`` and ``WATCHDOG_PID`` are read.
    """

    def __init__(self, report_fd: int | None = None, environ: Mapping[str, str] | None = None):
        self.environ = dict(os.environ if environ is None else environ)
        self._report_fd = report_fd
        #: Whether readiness or failure was reported (both only once).
        self.reported = False
        interval = self.environ.get("WATCHDOG_USEC", "")
        watched_pid = self.environ.get("WATCHDOG_PID", "")
        for_us = not watched_pid or watched_pid == str(os.getpid())
        #: Seconds between watchdog pings (half systemd's interval), None without one.
        self.watchdog_period = (
            int(interval) / 2e6 if interval.isdigit() and int(interval) and for_us else None
        )
        self._next_ping = 0.0
        self._status = ""

    @property
    def systemd(self) -> bool:
        """Whether systemd listens (``NOTIFY_SOCKET`` is set)."""
        return bool(self.environ.get("NOTIFY_SOCKET"))

    def ready(self, status: str = "") -> None:
        """The daemon serves: ``start`` may return 0, systemd may go on."""
        if self.reported:
            return
        self.reported = True
        self._write_report(f"ok {os.getpid()}")
        self._notify(f"READY=1\nMAINPID={os.getpid()}" + (f"\nSTATUS={status}" if status else ""))
        self._status = status

    def failed(self, reason: str, code: int) -> None:
        """The daemon cannot serve and ends with exit ``code`` for ``reason``."""
        if not self.reported:
            self.reported = True
            self._write_report(f"error {code} {reason}")
        self._notify(f"STATUS=failed: {reason}")

    def status(self, text: str) -> None:
        """A one-line status for ``systemctl status`` (sent only when it changes)."""
        if text != self._status:
            self._status = text
            self._notify(f"STATUS={text}")

    def stopping(self) -> None:
        self._notify("STOPPING=1\nSTATUS=stopping: answering the requests in flight")

    def watchdog(self) -> None:
        """Ping systemd's watchdog if it is time; call often, and only while healthy."""
        if self.watchdog_period is None:
            return
        now = time.monotonic()
        if now >= self._next_ping:
            self._next_ping = now + self.watchdog_period
            self._notify("WATCHDOG=1")

    def _notify(self, message: str) -> None:
        if self.systemd:
            sd_notify(message, self.environ)

    def _write_report(self, text: str) -> None:
        fd, self._report_fd = self._report_fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):  # the starting command is gone: nobody to tell
            os.write(fd, text.encode("utf-8", "replace"))
        with contextlib.suppress(OSError):
            os.close(fd)
