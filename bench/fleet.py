"""Processes of a fault scenario: a broker (vhost), an emulator, a fleet of daemons.

Everything here is a real process on this machine, started and always stopped by the
scenario; nothing is faked. Used by ``bench/faults.py`` and by the short scenario
versions in ``tests/reliability``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pika
import pika.exceptions

from bench.brokers import PrivateCluster, PrivateNode
from edeposit.amqp import settings as settings_module
from edeposit.amqp.config import Settings
from edeposit.amqp.config_values import apply_changes
from edeposit.amqp.runtime.parameters import node_parameters
from edeposit.amqp.runtime.topology import aleph_topology

__all__ = ["Broker", "DaemonFleet", "EmulatorProcess", "fd_count", "rss_mb", "thread_count"]


def rss_mb(pid: int, key: str = "VmRSS") -> float:
    """Resident (``VmRSS``) or peak (``VmHWM``) memory of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def thread_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def connections_to(pid: int, port: int) -> int:
    """How many of the process's TCP sockets are connected to ``port`` on this machine.

    Keep-alive connections to the catalogue grow with the load's peak concurrency (up to
    the pool size, one per worker); told apart from other descriptors, a leak shows.
    """
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                columns = line.split()
                remote_port = int(columns[2].rsplit(":", 1)[1], 16)
                if remote_port == port and columns[9] in inodes:
                    count += 1
    return count


def rabbitmqctl(*arguments: str, timeout: float = 120) -> str:
    """``rabbitmqctl`` against the machine's broker: vhosts and users only, never its
    lifecycle (restarts happen on a :class:`~bench.brokers.PrivateNode`)."""
    completed = subprocess.run(
        ["rabbitmqctl", "-q", *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return completed.stdout


def queue_settings(env: dict[str, str]) -> Settings:
    """The process settings with the queue type and delivery limit a scenario's daemons
    get in ``env`` (the scenario declares the queues the way they will)."""
    queues = {
        key: value
        for key, value in env.items()
        if key in ("RABBITMQ_ALEPH_QUEUE_TYPE", "RABBITMQ_ALEPH_DELIVERY_LIMIT")
    }
    return apply_changes(settings_module.get(), queues, "scenario", from_text=True)


class Broker:
    """A scenario's private vhost: on the machine's broker, a private node or cluster.

    Scenarios that restart the broker get a :class:`~bench.brokers.PrivateNode` (given,
    or started and owned here when ``restarts`` is asked for); those that stop cluster
    nodes get a :class:`~bench.brokers.PrivateCluster` (given), whose every node the
    settings list in RABBITMQ_NODES. The machine's broker, which may be a user's
    production broker, only ever lends a vhost.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        node: PrivateNode | None = None,
        restarts: bool = False,
        cluster: PrivateCluster | None = None,
    ) -> None:
        self.cluster = cluster
        if cluster is not None:
            node = cluster.node(0)
        self._owned = PrivateNode().start() if node is None and restarts else None
        self.node = node or self._owned
        self.vhost = f"edeposit-faults-{uuid.uuid4().hex[:8]}"
        try:
            if self.node is None:
                rabbitmqctl("add_vhost", self.vhost)
                rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
            else:
                self.node.add_vhost(self.vhost)
                settings = settings.replace(RABBITMQ_HOST="127.0.0.1", RABBITMQ_PORT=self.node.port)
            if cluster is not None:
                nodes = tuple(f"127.0.0.1:{port}" for port in cluster.ports)
                settings = settings.replace(RABBITMQ_NODES=nodes)
            self.settings = settings.replace(RABBITMQ_ALEPH_VIRTUALHOST=self.vhost)
            self.declare()
        except BaseException:
            self.close()
            raise

    def env(self) -> dict[str, str]:
        node = self.node.env() if self.node is not None else {}
        if self.cluster is not None:
            node = self.cluster.env()
        return {
            **node,
            "RABBITMQ_ALEPH_VIRTUALHOST": self.vhost,
            "RABBITMQ_ALEPH_QUEUE_TYPE": self.settings.RABBITMQ_ALEPH_QUEUE_TYPE,
        }

    def connect(self, *, quick: bool = False) -> pika.BlockingConnection:
        """A connection to the broker: any node of a cluster that answers (``quick``: short
        timeouts, so that a frozen node delays a probe by seconds, not tens of them)."""
        return pika.BlockingConnection(node_parameters(self.settings, quick=quick))

    def declare(self) -> None:
        connection = self.connect()
        aleph_topology(self.settings).declare(connection.channel())
        connection.close()

    def queue_state(self, queue: str) -> tuple[int, int]:
        """``(messages, consumers)`` of ``queue``."""
        connection = self.connect(quick=True)
        try:
            method = connection.channel().queue_declare(queue, passive=True).method
            return int(method.message_count), int(method.consumer_count)
        finally:
            connection.close()

    def wait_consumers(
        self, queue: str, count: int, timeout: float, since: float | None = None
    ) -> float | None:
        """Seconds (from ``since``, default now) until ``queue`` has ``count`` consumers."""
        started = time.monotonic() if since is None else since
        while time.monotonic() - started < timeout:
            try:
                if self.queue_state(queue)[1] >= count:
                    return time.monotonic() - started
            except (pika.exceptions.AMQPError, OSError):
                pass
            time.sleep(0.1)
        return None

    def restart_app(self, down_seconds: float = 1.0) -> float:
        """Stop the private node's RabbitMQ app, pause, start it: every connection drops.

        Returns the monotonic time at which the app was started again.
        """
        if self.node is None:
            raise RuntimeError("broker restarts need a private node (Broker(restarts=True))")
        self.node.stop_app()
        time.sleep(down_seconds)
        started = time.monotonic()
        self.node.start_app()
        return started

    def restart_node(self, down_seconds: float = 1.0) -> float:
        """Stop the whole private node (its Erlang VM), pause, start it again.

        Returns the monotonic time at which the node was started again.
        """
        if self.node is None:
            raise RuntimeError("broker restarts need a private node (Broker(restarts=True))")
        self.node.stop()
        time.sleep(down_seconds)
        started = time.monotonic()
        self.node.start()
        return started

    def close(self) -> None:
        try:
            if self.node is None:
                rabbitmqctl("delete_vhost", self.vhost)
            elif self._owned is None:  # a shared node outlives the scenario
                running = self.node
                if self.cluster is not None:  # whichever node runs (vhosts are cluster-wide)
                    running = next((n for n in self.cluster.nodes if n.running), self.node)
                running.rabbitmqctl("delete_vhost", self.vhost)
        except subprocess.CalledProcessError:
            pass
        finally:
            if self._owned is not None:
                self._owned.close()


class EmulatorProcess:
    """``aleph-emulator`` as a subprocess, with its faults set over its control endpoint."""

    def __init__(self, *arguments: str, prefix: Sequence[str] = ()) -> None:
        """``prefix`` runs it through another command (``ip netns exec <host>``)."""
        self.process = subprocess.Popen(
            [
                *prefix,
                sys.executable,
                "-m",
                "edeposit.amqp.emulator",
                "--port",
                "0",
                "--log-level",
                "WARNING",
                *arguments,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip().rsplit(" ", 1)[-1]
        if not self.url.startswith("http"):
            raise RuntimeError("the emulator did not start")

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].split("/", 1)[0])

    def env(self) -> dict[str, str]:
        return {"ALEPH_URL": self.url, "ALEPH_EXPORT_URL": self.url + "/aleph-cgi/e-deposit"}

    def set_faults(self, **faults: Any) -> None:
        request = urllib.request.Request(
            self.url + "/_emulator/faults",
            data=json.dumps(faults).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            reply.read()

    def clear_faults(self) -> None:
        request = urllib.request.Request(self.url + "/_emulator/faults", method="DELETE")
        with urllib.request.urlopen(request, timeout=10) as reply:
            reply.read()

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


class DaemonFleet:
    """Aleph daemons (``alephdaemon --foreground`` subprocesses) sharing one queue."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = {**os.environ, "LOG_LEVEL": "INFO", **env}
        self.processes: list[subprocess.Popen[bytes]] = []
        self.peak_rss: dict[int, float] = {}

    def start(
        self, count: int = 1, *, prefix: Sequence[str] = (), **extra_env: str
    ) -> list[subprocess.Popen[bytes]]:
        """Start ``count`` daemons; ``prefix`` runs them through another command
        (``ip netns exec <host>``: a daemon on a host of its own)."""
        started = []
        for _ in range(count):
            index = len(self.processes)
            environment = {
                **self.env,
                "ALEPH_DAEMON_PIDFILE": str(self.workdir / f"daemon-{index}.pid"),
                **extra_env,
            }
            with (self.workdir / f"daemon-{index}.log").open("wb") as log:
                process = subprocess.Popen(
                    [*prefix, sys.executable, "-m", "edeposit.amqp.alephdaemon", "--foreground"],
                    env=environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            self.processes.append(process)
            started.append(process)
        return started

    def alive(self) -> list[subprocess.Popen[bytes]]:
        return [process for process in self.processes if process.poll() is None]

    def sample(self) -> None:
        """Remember each live daemon's peak RSS."""
        for process in self.alive():
            with contextlib.suppress(OSError):  # it may have ended meanwhile
                self.peak_rss[process.pid] = max(
                    self.peak_rss.get(process.pid, 0.0), rss_mb(process.pid, "VmHWM")
                )

    def log(self, index: int) -> str:
        path = self.workdir / f"daemon-{index}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, process: subprocess.Popen[bytes], timeout: float = 60.0) -> int:
        self.sample()
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    def close(self) -> None:
        self.sample()
        for process in self.alive():
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> DaemonFleet:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
