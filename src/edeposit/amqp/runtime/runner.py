"""Unix daemon life cycle: ``start | stop | restart | status`` and foreground runs.

:class:`DaemonRunnerWrapper` keeps the original class's names (``body``, ``run``,
``run_daemon``, ``onExit``, ``onIsRunning``, ``onStopFail``, ``isRunning``) around a
small runner of our own: python-daemon's ``DaemonContext`` detaches the process, a
:class:`~edeposit.amqp.runtime.pidfile.PidFile` (an ``flock``) tells whether it runs, and the
starting command waits until the daemon reports that it holds the pidfile, so
``start`` says truthfully whether it started.

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

from edeposit.amqp.runtime.pidfile import AlreadyRunningError, PidFile, locked_pid

__all__ = ["ACTIONS", "DaemonRunnerWrapper", "ExitCode", "default_state_dir"]

log = logging.getLogger(__name__)

#: The actions :meth:`DaemonRunnerWrapper.run_daemon` understands.
ACTIONS = ("start", "stop", "restart", "status")


class ExitCode(enum.IntEnum):
    """Exit codes of the daemon commands (``status`` follows LSB: 3 = not running)."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    NOT_RUNNING = 3
    BROKER_UNREACHABLE = 4


def default_state_dir() -> Path:
    """Where pidfiles and logs go by default: ``$XDG_STATE_HOME/edeposit``."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "edeposit"


class DaemonRunnerWrapper:
    """Run :meth:`body` in the foreground or as a detached daemon guarded by a pidfile.

    Args:
        pid_filename: the pidfile; a bare name goes into :func:`default_state_dir`.
        log_filename: where a detached daemon writes its log and stray output.
        stop_timeout: how long ``stop`` waits for the process to end, seconds.
        log_level: the lowest level of log records kept (``INFO``, ``DEBUG``…).
    """

    #: Seconds ``start`` waits for the detached daemon to report that it runs.
    start_timeout = 15.0

    def __init__(
        self,
        pid_filename: str | Path,
        log_filename: str | Path | None = None,
        stop_timeout: float = 40.0,
        log_level: str = "INFO",
    ) -> None:
        pid_path = Path(pid_filename)
        if not pid_path.is_absolute() and len(pid_path.parts) == 1:
            pid_path = default_state_dir() / (
                pid_path.name if pid_path.suffix else f"{pid_path.name}.pid"
            )
        self.pid_path = pid_path
        self.log_path = Path(log_filename) if log_filename else pid_path.with_suffix(".log")
        self.stop_timeout = stop_timeout
        #: Level of the log records kept (a ``logging`` level name).
        self.log_level = log_level.upper()
        #: Stop signals received so far; :meth:`body` ends its work when it is non-zero.
        self.stop_requested = 0
        #: What a foreground run exits with; :meth:`body` sets it when it fails.
        self.exit_code: int = ExitCode.OK

    # --- to override -------------------------------------------------------------

    def body(self) -> None:
        """The service itself; return when :attr:`stop_requested` becomes non-zero."""
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
        """Whether the running service is healthy (e.g. reaches its broker), and a line why."""
        return True, "running"

    def configure_logging(self, foreground: bool) -> None:
        """Send log records to stderr (foreground) or to :attr:`log_path` (daemon)."""
        handler: logging.Handler
        if foreground:
            handler = logging.StreamHandler(sys.stderr)
        else:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(self.log_path, encoding="utf-8")
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s")
        )
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(self.log_level)
        # pika's INFO is one line per frame: noise at the daemon's volume.
        logging.getLogger("pika").setLevel(logging.WARNING)

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
        try:
            self.configure_logging(foreground=True)
            self.run()
        finally:
            pidfile.release()
        return self.exit_code

    def start(self) -> int:
        """Detach a daemon and wait until it holds the pidfile; an exit code."""
        if self.isRunning():
            self.onIsRunning()
            return ExitCode.FAILURE
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:  # the intermediate process; DaemonContext forks the daemon from it
            os.close(read_end)
            self._become_daemon(write_end)
            os._exit(ExitCode.OK)
        os.close(write_end)
        report = _read_report(read_end, self.start_timeout)
        os.close(read_end)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(child, 0)
        if report.startswith("ok "):
            print(f"started (pid {report[3:]}, log {self.log_path})")
            return ExitCode.OK
        print(f"failed to start: {report or 'no report from the daemon'} (log {self.log_path})")
        return ExitCode.FAILURE

    def _become_daemon(self, report_fd: int) -> None:
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
            pidfile = PidFile(self.pid_path)
            try:
                pidfile.acquire()
            except AlreadyRunningError as error:
                os.write(report_fd, f"error {error}".encode())
                os.close(report_fd)
                return
            try:
                self.configure_logging(foreground=False)
                log.info("started as daemon (pid %d)", os.getpid())
                os.write(report_fd, f"ok {os.getpid()}".encode())
                os.close(report_fd)
                self.run()
            except Exception:
                log.exception("daemon failed")
                raise
            finally:
                pidfile.release()

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
        """Say whether the daemon runs and is healthy; LSB-style exit code."""
        pid = locked_pid(self.pid_path)
        if pid is None:
            print(f"not running (pidfile {self.pid_path})")
            return ExitCode.NOT_RUNNING
        healthy, details = self.status_details()
        print(f"running (pid {pid}); {details}")
        return ExitCode.OK if healthy else ExitCode.BROKER_UNREACHABLE


def _read_report(fd: int, timeout: float) -> str:
    """What the daemon wrote into the start pipe before closing it (or the timeout)."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace").strip()
