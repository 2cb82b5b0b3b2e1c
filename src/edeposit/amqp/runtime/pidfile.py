"""A pidfile guarded by an OS lock (``flock``), so a stale file never blocks a start.

The running daemon holds an exclusive lock on the file for its whole life; the kernel
drops it when the process dies, however it dies. "Is it running?" is therefore "is the
file locked?", never "does the file exist?". Hand-written: python-daemon's ``runner``
and the ``lockfile`` package it relies on are deprecated.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType

from edeposit.amqp.errors import AlreadyRunningError

__all__ = ["AlreadyRunningError", "PidFile", "locked_pid"]


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def locked_pid(path: Path) -> int | None:
    """The pid of the process holding ``path``'s lock, or None when nothing runs."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_pid(path) or -1
    finally:
        os.close(fd)
    return None


class PidFile:
    """Acquire on enter (writing our pid), release on exit; usable as DaemonContext's pidfile."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Lock the file and write our pid; a stale file left by a dead process is reused.

        Raises:
            AlreadyRunningError: a live process holds the lock.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunningError(self.path, _read_pid(self.path)) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            if _read_pid(self.path) == os.getpid():
                self.path.unlink()
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> PidFile:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
