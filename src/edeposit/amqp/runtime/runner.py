"""Unix daemon life cycle: ``start | stop | restart | status`` and foreground runs.

:class:`DaemonRunnerWrapper` keeps the original class's names (``body``, ``run``,
``run_daemon``, ``onExit``, ``onIsRunning``, ``onStopFail``, ``isRunning``) around a
small runner of our own: python-daemon's ``DaemonContext`` detaches the process, a
:class:`~edeposit.amqp.runtime.pidfile.PidFile` (an ``flock``) tells whether it runs, and the
starting command waits until the daemon reports that it serves, or why it cannot
(:mod:`~edeposit.amqp.runtime.notify`), so ``start`` says truthfully whether it started.
``status`` reads the state the daemon keeps beside its pidfile
(:mod:`~edeposit.amqp.runtime.state`); it never probes anything with its own settings.

Signals only set a flag (:attr:`stop_requested`); :meth:`body` polls it, finishes its
work and returns. A second signal forces the exit.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import select
import signal
import sys
import time
from pathlib import Path
from types import FrameType

import daemon

from edeposit.amqp.runtime.logs import configure_logging
from edeposit.amqp.runtime.notify import Notifier, parse_report
from edeposit.amqp.runtime.pidfile import AlreadyRunningError, PidFile, locked_pid
from edeposit.amqp.runtime.state import assess, read_state, state_path

__all__ = [
    "ACTIONS",
    "SYSTEM_RUNTIME_DIRS",
    "DaemonRunnerWrapper",
    "ExitCode",
    "default_state_dir",
]

log = logging.getLogger(__name__)

#: The actions :meth:`DaemonRunnerWrapper.run_daemon` understands.
ACTIONS = ("start", "stop", "restart", "status")


#: Where the project's system services keep their pidfiles (the units'
#: ``RuntimeDirectory=edeposit``): the Aleph daemon's ``status`` looks there too.
SYSTEM_RUNTIME_DIRS = (Path("/run/edeposit"),)


class ExitCode(enum.IntEnum):
    """Exit codes of the daemon commands (``status`` follows LSB: 3 = not running)."""

    OK = 0
    #: Any other failure (already running, did not stop in time…).
    FAILURE = 1
    USAGE = 2
    #: ``status``: no daemon runs.
    NOT_RUNNING = 3
    #: ``status``: it runs but does not serve; ``start``: started, but not serving yet.
    NOT_SERVING = 4
    BROKER_UNREACHABLE = 4  # the older name of NOT_SERVING
    #: Settings, credentials, vhost, topology or paths: restarting cannot help until an
    #: operator changes something (EX_CONFIG; ``RestartPreventExitStatus=78``).
    CONFIG = 78


def default_state_dir() -> Path:
    """Where pidfiles and logs go by default: systemd's ``$RUNTIME_DIRECTORY`` when it
    set one, else ``$XDG_STATE_HOME/edeposit``."""
    runtime = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
    if runtime:
        return Path(runtime)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "edeposit"


class DaemonRunnerWrapper:
    """Run :meth:`body` in the foreground or as a detached daemon guarded by a pidfile.

    Args:
        pid_filename: the pidfile; a bare name goes into :func:`default_state_dir`.
        log_filename: where a detached daemon writes its log and stray output.
        stop_timeout: how long ``stop`` waits for the process to end, seconds.
        log_level: the lowest level of log records kept (``INFO``, ``DEBUG``…).
        log_format: ``text`` or ``json`` (one object a line).
        start_timeout: how long ``start`` waits for the daemon to report it serves.
    """

    #: Whether :meth:`body` calls :meth:`notify_ready` itself once it serves; if not, the
    #: daemon counts as ready as soon as :meth:`body` starts.
    reports_ready = False

    def __init__(
        self,
        pid_filename: str | Path,
        log_filename: str | Path | None = None,
        stop_timeout: float = 40.0,
        log_level: str = "INFO",
        *,
        log_format: str = "text",
        start_timeout: float = 30.0,
    ) -> None:
        pid_path = Path(pid_filename)
        if not pid_path.is_absolute() and len(pid_path.parts) == 1:
            pid_path = default_state_dir() / (
                pid_path.name if pid_path.suffix else f"{pid_path.name}.pid"
            )
        self.pid_path = pid_path
        #: Where ``status`` also looks for the pidfile, so that it finds a system service
        #: from any shell: systemd's ``RuntimeDirectory=<name>`` (``/run/<name>``, the
        #: pidfile's name without ``.pid``) unless the service says otherwise.
        self.system_runtime_dirs: tuple[Path, ...] = (Path("/run") / pid_path.stem,)
        self.log_path = Path(log_filename) if log_filename else pid_path.with_suffix(".log")
        #: Where the running daemon keeps its state for ``status``.
        self.state_path = state_path(pid_path)
        self.stop_timeout = stop_timeout
        self.start_timeout = start_timeout
        #: Level of the log records kept (a ``logging`` level name).
        self.log_level = log_level.upper()
        self.log_format = log_format
        #: Tells the ``start`` command or systemd how the start goes.
        self.notifier = Notifier(environ={})
        #: Stop signals received so far; :meth:`body` ends its work when it is non-zero.
        self.stop_requested = 0
        #: What a foreground run exits with; :meth:`body` sets it when it fails.
        self.exit_code: int = ExitCode.OK

    # --- to override -------------------------------------------------------------

    def body(self) -> None:
        """The service itself; return when :attr:`stop_requested` becomes non-zero.

        A body that sets :attr:`reports_ready` calls :meth:`notify_ready` once it serves,
        or :meth:`notify_failure` when it cannot.
        """
        while not self.stop_requested:
            time.sleep(0.1)

    def onExit(self) -> None:
        """Called once when :meth:`run` ends, however it ends."""
        log.info("exiting")

    def onIsRunning(self) -> None:
        """Called when ``start`` finds an instance already running."""
        print(f"already running (pid {locked_pid(self.pid_path)}, pidfile {self.pid_path})")

    def onStopFail(self) -> None:
        """Called when ``stop`` finds nothing to stop."""
        print("not running: nothing to stop")

    def status_details(self) -> tuple[bool, str]:
        """Whether a running service that keeps no state file is healthy, and a line why."""
        return True, "running"

    def configure_logging(self, foreground: bool) -> None:
        """Send log records to stderr (foreground) or to :attr:`log_path` (daemon), which
        is reopened when logrotate moves it."""
        configure_logging(
            self.log_level, self.log_format, path=None if foreground else self.log_path
        )

    def notify_ready(self, status: str = "") -> None:
        """Report that the daemon serves: ``start`` returns 0, systemd gets ``READY=1``."""
        if not self.notifier.reported:
            log.info("serving%s", f": {status}" if status else "")
        self.notifier.ready(status)

    def notify_failure(self, reason: str, code: int = ExitCode.FAILURE) -> None:
        """Report that the daemon cannot serve; it ends with exit ``code``."""
        log.error("cannot serve: %s", reason)
        self.exit_code = code
        self.notifier.failed(reason, code)

    # --- the life cycle ------------------------------------------------------------

    def isRunning(self) -> bool:
        """Whether a process holds the pidfile's lock."""
        return locked_pid(self.pid_path) is not None

    def run(self) -> None:
        """Run :meth:`body` here, with stop signals handled, then :meth:`onExit`."""
        previous = {
            signum: signal.signal(signum, self._on_stop_signal)
            for signum in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            if not self.reports_ready:
                self.notify_ready()
            self.body()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.onExit()

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop_requested += 1
        if self.stop_requested > 1:
            os.write(2, b"second stop signal: exiting now\n")
            os._exit(ExitCode.FAILURE)

    def run_daemon(self, action: str | None = None) -> int:
        """Perform ``action`` (default: the first of ACTIONS in ``sys.argv``); an exit code."""
        if action is None:
            action = next((arg for arg in sys.argv[1:] if arg in ACTIONS), "")
        if action == "start":
            return self.start()
        if action == "stop":
            return self.stop()
        if action == "restart":
            code = self.stop()
            return code if code != ExitCode.OK else self.start()
        if action == "status":
            return self.status()
        print(f"unknown action {action!r}; use one of: {', '.join(ACTIONS)}", file=sys.stderr)
        return ExitCode.USAGE

    def run_foreground(self) -> int:
        """Run attached (for systemd and containers), holding the pidfile; an exit code."""
        pidfile = PidFile(self.pid_path)
        try:
            pidfile.acquire()
        except AlreadyRunningError as error:
            print(error, file=sys.stderr)
            return ExitCode.FAILURE
        except OSError as error:
            print(f"cannot write the pidfile {self.pid_path}: {error.strerror}", file=sys.stderr)
            return ExitCode.CONFIG
        self.notifier = Notifier()  # systemd's NOTIFY_SOCKET, if it started us
        try:
            self.configure_logging(foreground=True)
            self.run()
        finally:
            pidfile.release()
        return self.exit_code

    def start(self) -> int:
        """Detach a daemon and wait until it serves (or says why it cannot); an exit code."""
        if self.isRunning():
            self.onIsRunning()
            return ExitCode.FAILURE
        try:
            for path in (self.pid_path, self.log_path):
                path.parent.mkdir(parents=True, exist_ok=True)
            self.log_path.open("a", encoding="utf-8").close()
        except OSError as error:
            where = error.filename or self.log_path
            print(f"failed to start: cannot write {where}: {error.strerror}", file=sys.stderr)
            return ExitCode.CONFIG
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:  # the intermediate process; DaemonContext forks the daemon from it
            os.close(read_end)
            code: int = ExitCode.FAILURE
            try:
                code = self._become_daemon(write_end)
            finally:
                os._exit(code)
        os.close(write_end)
        report = _read_report(read_end, self.start_timeout)
        os.close(read_end)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(child, 0)
        return self._starting_reported(report)

    def _starting_reported(self, report: str | None) -> int:
        """Print what became of a start and return its exit code."""
        if report is None:  # no word within the time limit
            pid = locked_pid(self.pid_path)
            state = read_state(self.state_path) or {}
            why = state.get("activity") or state.get("last_error") or "no report"
            print(
                f"failed to start: not serving after {self.start_timeout:.0f} s ({why}); "
                f"pid {pid} goes on trying: see `status` and {self.log_path}",
                file=sys.stderr,
            )
            return ExitCode.NOT_SERVING
        code, pid, reason = parse_report(report)
        if code == ExitCode.OK:
            print(f"started (pid {pid}, log {self.log_path})")
            return ExitCode.OK
        reason = reason or "the daemon ended without a word"
        print(f"failed to start: {reason} (log {self.log_path})", file=sys.stderr)
        return code

    def _become_daemon(self, report_fd: int) -> int:
        """Detach and run; the daemon's exit code (the intermediate process ends earlier)."""
        log_file = self.log_path.open("a", encoding="utf-8")
        context = daemon.DaemonContext(
            working_directory="/",
            umask=0o022,
            detach_process=True,
            files_preserve=[report_fd, log_file],
            stdout=log_file,
            stderr=log_file,
            # Our own handlers are installed by run(); only job-control signals are ignored.
            signal_map={signal.SIGTSTP: None, signal.SIGTTIN: None, signal.SIGTTOU: None},
        )
        with context:
            self.notifier = Notifier(report_fd)
            pidfile = PidFile(self.pid_path)
            try:
                pidfile.acquire()
            except AlreadyRunningError as error:
                self.notify_failure(str(error), ExitCode.FAILURE)
                return self.exit_code
            except OSError as error:
                reason = f"cannot write the pidfile {self.pid_path}: {error.strerror}"
                self.notify_failure(reason, ExitCode.CONFIG)
                return self.exit_code
            try:
                self.configure_logging(foreground=False)
                log.info("started as daemon (pid %d)", os.getpid())
                self.run()
            except Exception as error:
                log.exception("daemon failed")
                self.notify_failure(f"{type(error).__name__}: {error}", ExitCode.FAILURE)
            finally:
                if not self.notifier.reported:
                    self.notify_failure("it ended before it served", self.exit_code or 1)
                pidfile.release()
        return self.exit_code

    def stop(self) -> int:
        """SIGTERM the daemon and wait until it is gone; an exit code."""
        pid = locked_pid(self.pid_path)
        if pid is None:
            self.onStopFail()
            return ExitCode.OK
        if pid <= 0:
            print(f"pidfile {self.pid_path} is locked but holds no pid; not stopping")
            return ExitCode.FAILURE
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        while locked_pid(self.pid_path) is not None:
            if time.monotonic() > deadline:
                print(f"pid {pid} did not stop within {self.stop_timeout:.0f} s")
                return ExitCode.FAILURE
            time.sleep(0.05)
        print(f"stopped (pid {pid})")
        return ExitCode.OK

    def status(self) -> int:
        """Say whether the daemon runs and serves, as the daemon itself reports it.

        Exit 0 serving, 3 not running, 4 running but not serving (or unknown). The
        pidfile is looked for where it was given, then in the system service's runtime
        folder (:attr:`system_runtime_dirs`).
        """
        candidates = [self.pid_path] + [
            folder / self.pid_path.name
            for folder in self.system_runtime_dirs
            if folder / self.pid_path.name != self.pid_path
        ]
        for pid_path in candidates:
            try:
                pid = locked_pid(pid_path)
            except OSError as error:
                print(f"cannot read the pidfile {pid_path}: {error.strerror}")
                return ExitCode.NOT_SERVING
            if pid is not None:
                break
        else:
            looked = ", ".join(str(path.parent) for path in candidates[1:])
            also = f"; also looked in {looked}" if looked else ""
            print(f"not running (pidfile {self.pid_path}{also})")
            return ExitCode.NOT_RUNNING
        state = read_state(state_path(pid_path))
        healthy, details = self.status_details() if state is None else assess(state, pid)
        print(f"running (pid {pid}, pidfile {pid_path}): {details}")
        return ExitCode.OK if healthy else ExitCode.NOT_SERVING


def _read_report(fd: int, timeout: float) -> str | None:
    """What the daemon wrote into the start pipe before closing it; None on timeout."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            return None
        chunk = os.read(fd, 4096)
        if not chunk:
            return b"".join(chunks).decode("utf-8", "replace").strip()
        chunks.append(chunk)
    return None
