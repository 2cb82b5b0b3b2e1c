"""Private RabbitMQ nodes and clusters that tests and fault scenarios may break at will.

A :class:`PrivateNode` runs beside the machine's broker, which may be a user's
production broker: its own node name (``edeposit-<hex>@localhost``), free AMQP and
distribution ports, its data, logs and config in a temporary folder owned by the
``rabbitmq`` user. Scenarios stop, restart and freeze it; the machine's broker is never
stopped, restarted or reset — every ``rabbitmqctl`` call here names a private node with
``-n``, and :func:`rabbitmqctl` refuses any other name.

A :class:`PrivateCluster` joins such nodes into one cluster (``pause_minority``) for
failover tests. Nodes share the ``rabbitmq`` user's Erlang cookie, so they can cluster.

Every node is stopped and its folder removed, in this order of defence: ``close()``
(context managers, pytest fixture finalizers), ``atexit`` for whatever an interpreter
leaves open, and — for a process killed outright — a sweep at the next start that stops
the nodes of folders whose owning process is gone.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = ["PrivateCluster", "PrivateNode", "free_port", "rabbitmqctl"]

#: Prefix of the temporary folders of private nodes (the orphan sweep looks for it).
FOLDER_PREFIX = "edeposit-node-"
#: The only node names the harness addresses: never the machine's ``rabbit@…``.
NODE_NAME = re.compile(r"edeposit-[0-9a-f]+@localhost")
#: Seconds a node may take to boot (a few on an idle machine; CI machines are slower).
START_TIMEOUT = 120.0
#: Seconds for one ``rabbitmqctl`` command.
COMMAND_TIMEOUT = 60.0

_open_nodes: set[PrivateNode] = set()
_swept = False


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rabbitmqctl(node: str, *arguments: str, timeout: float = COMMAND_TIMEOUT) -> str:
    """``rabbitmqctl -q -n NODE …`` for a private node only; raises with rabbitmqctl's words.

    Raises:
        ValueError: ``node`` is not a name this harness gives (the machine's broker).
        subprocess.CalledProcessError: the command failed; ``stderr`` says why.
    """
    if not NODE_NAME.fullmatch(node):
        raise ValueError(f"{node!r} is not a private node: refusing to address it")
    completed = subprocess.run(
        ["rabbitmqctl", "-q", "-n", node, *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode:
        raise subprocess.CalledProcessError(
            completed.returncode, completed.args, completed.stdout, completed.stderr
        )
    return completed.stdout


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


class PrivateNode:
    """A RabbitMQ node of its own: ``with PrivateNode() as node:`` starts and always stops it.

    Args:
        config: extra lines of ``rabbitmq.conf`` (the node's listener is set already).
        advanced: the text of ``advanced.config`` (Erlang terms), for what
            ``rabbitmq.conf`` cannot set, such as ``net_ticktime``.
    """

    def __init__(self, *, config: Iterable[str] = (), advanced: str = "") -> None:
        _sweep_orphans()
        self.name = f"edeposit-{uuid.uuid4().hex[:12]}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.config = list(config)
        self.advanced = advanced
        self.folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
        (self.folder / "owner").write_text(f"{os.getpid()}\n{self.name}\n")
        self._launched = False
        self._pid: int | None = None
        self._paused = False
        _open_nodes.add(self)

    def __repr__(self) -> str:
        return f"<PrivateNode {self.name} amqp={self.port}>"

    # --- files and environment ----------------------------------------------------------

    @property
    def pid_file(self) -> Path:
        return self.folder / "node.pid"

    @property
    def log_file(self) -> Path:
        return self.folder / "log" / f"{self.name}.log"

    def _server_environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.folder / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_PID_FILE": str(self.pid_file),
        }

    def _write_files(self) -> None:
        """Config and plugin files, readable by the server, which runs as ``rabbitmq``."""
        (self.folder / "rabbitmq.conf").write_text("".join(f"{line}\n" for line in self.config))
        (self.folder / "enabled_plugins").write_text("[].\n")
        if self.advanced:
            (self.folder / "advanced.config").write_text(self.advanced + "\n")
        if os.geteuid() == 0:  # the server scripts switch to the rabbitmq user
            for path in (self.folder, *self.folder.iterdir()):
                shutil.chown(path, "rabbitmq", "rabbitmq")

    def env(self) -> dict[str, str]:
        """Settings (environment variables) that reach this node."""
        return {"RABBITMQ_HOST": "127.0.0.1", "RABBITMQ_PORT": str(self.port)}

    # --- the node ---------------------------------------------------------------------------

    def rabbitmqctl(self, *arguments: str, timeout: float = COMMAND_TIMEOUT) -> str:
        """``rabbitmqctl -n <this node> …``: output, or ``CalledProcessError``."""
        return rabbitmqctl(self.name, *arguments, timeout=timeout)

    def launch(self) -> None:
        """Start the node detached without waiting for it (:meth:`wait_started` waits)."""
        self._write_files()
        self.pid_file.unlink(missing_ok=True)  # a stale one would read as a crashed boot
        subprocess.run(
            ["rabbitmq-server", "-detached"],
            env=self._server_environment(),
            check=True,
            capture_output=True,
            timeout=COMMAND_TIMEOUT,
        )
        self._launched = True

    def wait_started(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until the node runs RabbitMQ, at most ``timeout`` seconds.

        Polls the AMQP port (cheap) rather than running ``rabbitmqctl`` over and over
        (a second of CPU each); once it listens, one ``await_startup`` confirms the boot.
        """
        deadline = time.monotonic() + timeout
        while not self._listening():
            pid = self._pid_from_file()
            if (pid is not None and not _alive(pid)) or time.monotonic() > deadline:
                raise RuntimeError(
                    f"private RabbitMQ node {self.name} did not start "
                    f"({'it exited' if pid is not None and not _alive(pid) else 'timed out'}); "
                    f"its log ends:\n{self.log_tail()}"
                )
            time.sleep(0.1)
        self.rabbitmqctl("await_startup", "--timeout", str(int(timeout)), timeout=timeout)
        self._pid = self._pid_from_file()
        self._paused = False

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def start(self) -> Self:
        """Start the node (first time, or again after :meth:`stop`, keeping its data)."""
        self.launch()
        self.wait_started()
        return self

    def stop(self, timeout: float = COMMAND_TIMEOUT) -> None:
        """Stop the whole node gracefully; its data stays for :meth:`start`.

        SIGTERM, which RabbitMQ takes as an orderly shutdown (as from systemd), saves
        the second of CPU a ``rabbitmqctl`` round trip costs. A node that is not gone
        within ``timeout`` seconds is killed.
        """
        if self._launched:
            self.terminate()
            self._reap(timeout)

    def terminate(self) -> None:
        """Begin a quick shutdown (SIGTERM, no CLI round trip); :meth:`close` waits for it."""
        pid = self._known_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)  # a paused node cannot act on SIGTERM
                os.kill(pid, signal.SIGTERM)
            self._paused = False

    def _reap(self, timeout: float) -> None:
        """Wait for the VM to exit, kill it past ``timeout``; the node is down afterwards."""
        pid = self._known_pid()
        if pid is not None and not _wait_gone(pid, timeout):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 10)
        self._launched = False
        self._pid = None

    def _known_pid(self) -> int | None:
        """The VM's pid, also while it still boots (then from its pid file, once written)."""
        if self._pid is not None or not self._launched:
            return self._pid
        deadline = time.monotonic() + 10
        while (pid := self._pid_from_file()) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        return pid

    def _pid_from_file(self) -> int | None:
        try:
            return int(self.pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop_app(self) -> None:
        """Stop the RabbitMQ application (the VM stays): every connection drops."""
        rabbitmqctl(self.name, "stop_app")

    def start_app(self) -> None:
        """Start the RabbitMQ application again; returns once it accepts connections."""
        rabbitmqctl(self.name, "start_app")

    @property
    def running(self) -> bool:
        """Launched, and not stopped or paused since (its app may still be stopped)."""
        return self._launched and not self._paused

    @property
    def pid(self) -> int:
        """The OS process id of the node's Erlang VM (``beam.smp``)."""
        if self._pid is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._pid

    def pause(self) -> None:
        """Freeze the node (SIGSTOP): it holds its sockets but answers nothing."""
        os.kill(self.pid, signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        """Thaw a paused node (SIGCONT)."""
        os.kill(self.pid, signal.SIGCONT)
        self._paused = False

    def mend(self) -> None:
        """Up again after whatever a scenario did: thawed if paused, started if stopped."""
        if self._paused:
            self.resume()
        if not self._launched:
            self.start()

    def add_vhost(self, name: str) -> str:
        """A vhost on this node that ``guest`` may use fully."""
        self.rabbitmqctl("add_vhost", name)
        self.rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        return name

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def close(self) -> None:
        """Stop the node (killed if it will not go) and remove its folder. Idempotent."""
        try:
            self.stop(timeout=30)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
            _open_nodes.discard(self)

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class PrivateCluster:
    """``size`` private nodes joined into one cluster with ``pause_minority``.

    The nodes boot side by side; the second and later then join the first
    (``stop_app``, ``join_cluster``, ``start_app``). Stop, restart or freeze them one at
    a time through :meth:`node`.
    """

    def __init__(
        self, size: int = 3, *, config: Iterable[str] = (), net_ticktime: int | None = None
    ) -> None:
        lines = ["cluster_partition_handling = pause_minority", *config]
        # How soon the nodes give up on a silent one (Erlang's default: 60 s).
        advanced = f"[{{kernel, [{{net_ticktime, {net_ticktime}}}]}}]." if net_ticktime else ""
        self.nodes: list[PrivateNode] = []
        try:
            for _ in range(size):
                self.nodes.append(PrivateNode(config=lines, advanced=advanced))
        except BaseException:
            self.close()
            raise

    def node(self, index: int) -> PrivateNode:
        return self.nodes[index]

    @property
    def ports(self) -> list[int]:
        return [node.port for node in self.nodes]

    def start(self) -> Self:
        for node in self.nodes:
            node.launch()
        for node in self.nodes:
            node.wait_started()
        first = self.nodes[0]
        for node in self.nodes[1:]:
            node.stop_app()
            rabbitmqctl(node.name, "join_cluster", first.name)
            node.start_app()
        return self

    def wait_whole(self, timeout: float = START_TIMEOUT) -> float:
        """Wait until every node runs RabbitMQ and sees all the others running (a thawed
        node stops its app under ``pause_minority``, then rejoins: seconds). Partitions the
        others recorded stay listed until they restart, so they are not waited for.
        Returns the seconds waited; raises ``RuntimeError`` past ``timeout``."""
        started = time.monotonic()
        names = sorted(node.name for node in self.nodes)
        healthy = 0
        while healthy < 3:  # thrice in a row: a thawed node may only now notice its partition
            time.sleep(1.0)
            healthy += 1
            for node in self.nodes:
                try:
                    status = json.loads(node.rabbitmqctl("cluster_status", "--formatter", "json"))
                except (subprocess.SubprocessError, ValueError):
                    status = {}
                if sorted(status.get("running_nodes", [])) != names:
                    healthy = 0
                    break
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"the cluster did not come together in {timeout:g} s")
        return time.monotonic() - started

    def env(self) -> dict[str, str]:
        """``RABBITMQ_NODES`` of every node, and ``RABBITMQ_HOST``/``PORT`` of the first."""
        return {
            **self.nodes[0].env(),
            "RABBITMQ_NODES": ",".join(f"127.0.0.1:{port}" for port in self.ports),
        }

    def close(self) -> None:
        """Stop every node at once and remove their folders."""
        for node in self.nodes:
            node.terminate()
        errors = []
        for node in self.nodes:
            try:
                node.close()
            except Exception as error:  # noqa: BLE001 - close every node, then report
                errors.append(error)
        if errors:
            raise errors[0]

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


@atexit.register
def _close_open_nodes() -> None:
    """Last resort: nodes an interpreter leaves open (a test without a finalizer)."""
    for node in list(_open_nodes):
        with contextlib.suppress(Exception):
            node.close()


def _sweep_orphans() -> None:
    """Stop the nodes of earlier runs that were killed before they could clean up.

    A folder is an orphan when the process named in its ``owner`` file is gone. Its
    node's VM is signalled only when ``/proc`` shows it is that very node (a pid file
    may outlive its process, and the pid be reused).
    """
    global _swept  # noqa: PLW0603 - once per process
    if _swept:
        return
    _swept = True
    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*"):
        try:
            owner, name = (folder / "owner").read_text().split()[:2]
            if _alive(int(owner)):
                continue
        except (OSError, ValueError):  # not (yet) a folder of this harness
            continue
        try:
            pid: int | None = int((folder / "node.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = None  # the node never got as far as writing it
        if pid is not None and _runs_node(pid, name):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGTERM)
                if not _wait_gone(pid, 30):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)


def _runs_node(pid: int, name: str) -> bool:
    """Whether process ``pid`` is the Erlang VM of private node ``name``."""
    try:
        environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    return NODE_NAME.fullmatch(name) is not None and (
        f"RABBITMQ_NODENAME={name}".encode() in environment
    )
