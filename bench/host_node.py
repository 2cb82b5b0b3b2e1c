"""A RabbitMQ node on a host of a :class:`~bench.datacentre.DataCentre` (a namespace).

The node is ``edeposit-dc@<its address>``, with long names: the address is its host
name, which resolves everywhere without an ``/etc/hosts``. It has its own env file
(``RABBITMQ_CONF_ENV_FILE``: the machine's ``/etc/rabbitmq/rabbitmq-env.conf`` pins nodes,
epmd and Erlang distribution to 127.0.0.1), config, data, logs and, its host being a
namespace, its own epmd and ports. The nodes find each other at their first boot
(``classic_config`` peer discovery) and handle partitions with ``pause_minority``.
Every ``rabbitmqctl`` runs on the node's host and names a node of this harness only.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from bench import netns

__all__ = ["AMQP_PORT", "Node"]

AMQP_PORT = 5672
#: Seconds a node may take to boot (three boot at once on two cores here).
START_TIMEOUT = 180.0
#: The only node names this harness addresses.
_NODE_NAME = re.compile(r"edeposit-dc@10\.\d+\.\d+\.\d+")
#: Environment that must not reach a node or its CLI (the machine's pins, other nodes').
_FOREIGN = re.compile(r"^(RABBITMQ_|ERL_)")


class Node:
    """A RabbitMQ node on host ``host`` of a data centre (started by :class:`DataCentre`)."""

    def __init__(
        self, host: str, address: str, folder: Path, *, net_ticktime: int, peers: list[str]
    ) -> None:
        self.host = host
        self.address = address
        self.namespace = netns.namespace_name(host)
        self.name = f"edeposit-dc@{address}"
        self.folder = folder
        folder.mkdir()
        lines = [
            f"listeners.tcp.default = {AMQP_PORT}",
            "loopback_users.guest = false",  # clients come from other hosts
            "cluster_partition_handling = pause_minority",
            # The nodes find each other at their first boot: no join_cluster round trips.
            "cluster_formation.peer_discovery_backend = classic_config",
            *(
                f"cluster_formation.classic_config.nodes.{number} = {peer}"
                for number, peer in enumerate(peers, 1)
            ),
        ]
        (folder / "rabbitmq.conf").write_text("".join(f"{line}\n" for line in lines))
        (folder / "advanced.config").write_text(
            f"[{{kernel, [{{net_ticktime, {net_ticktime}}}]}}].\n"
        )
        (folder / "enabled_plugins").write_text("[].\n")
        settings = {
            "NODENAME": self.name,
            "USE_LONGNAME": "true",
            "NODE_PORT": str(AMQP_PORT),
            "DIST_PORT": "25672",
            "CONFIG_FILE": str(folder / "rabbitmq"),
            "ADVANCED_CONFIG_FILE": str(folder / "advanced.config"),
            "ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
            "MNESIA_BASE": str(folder / "mnesia"),
            "LOG_BASE": str(folder / "log"),
            "PID_FILE": str(folder / "node.pid"),
        }
        (folder / "rabbitmq-env.conf").write_text(
            "".join(f"{key}={value}\n" for key, value in settings.items())
        )
        for path in (folder, *folder.iterdir()):
            shutil.chown(path, "rabbitmq", "rabbitmq")  # the server runs as rabbitmq

    def __repr__(self) -> str:
        return f"<Node {self.name}>"

    @property
    def endpoint(self) -> str:
        return f"{self.address}:{AMQP_PORT}"

    def _environment(self) -> dict[str, str]:
        clean = {key: value for key, value in os.environ.items() if not _FOREIGN.match(key)}
        return {**clean, "RABBITMQ_CONF_ENV_FILE": str(self.folder / "rabbitmq-env.conf")}

    def launch(self) -> None:
        subprocess.run(
            ["ip", "netns", "exec", self.namespace, "rabbitmq-server", "-detached"],
            env=self._environment(),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def ctl(self, *arguments: str, timeout: float = 60.0) -> str:
        """``rabbitmqctl -n <this node> …`` run on its host; raises with rabbitmqctl's words."""
        if not _NODE_NAME.fullmatch(self.name):
            raise ValueError(f"{self.name!r} is not a data centre node: refusing to address it")
        completed = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                self.namespace,
                "rabbitmqctl",
                "-q",
                "-n",
                self.name,
                *arguments,
            ],
            env=self._environment(),
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

    def listening(self) -> bool:
        """Whether its AMQP port accepts connections (asked on its own host)."""

        def probe() -> bool:
            try:
                socket.create_connection(("127.0.0.1", AMQP_PORT), timeout=1).close()
            except OSError:
                return False
            return True

        return netns.call_in(self.namespace, probe)

    def wait_started(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not self.listening():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start; its log ends:\n{self.log_tail()}")
            time.sleep(0.2)
        self.ctl("await_startup", "--timeout", str(int(timeout)), timeout=timeout)

    def kill(self) -> None:
        """Kill the node outright (its VM, and its host's epmd with it); its data stays
        for :meth:`launch`."""
        for pid in netns.processes_in(self.namespace):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while netns.processes_in(self.namespace) and time.monotonic() < deadline:
            time.sleep(0.1)

    def cluster_status(self, timeout: float = 15.0) -> dict[str, Any]:
        """``rabbitmqctl cluster_status`` as this node sees it ({} when it cannot tell)."""
        try:
            status = json.loads(self.ctl("cluster_status", "--formatter", "json", timeout=timeout))
        except (subprocess.SubprocessError, ValueError):
            return {}
        return status if isinstance(status, dict) else {}

    def running_nodes(self, timeout: float = 15.0) -> list[str]:
        """The nodes this one sees running (empty when it cannot tell in time)."""
        return sorted(str(name) for name in self.cluster_status(timeout).get("running_nodes", []))

    def log_tail(self, lines: int = 30) -> str:
        path = self.folder / "log" / f"{self.name}.log"
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def log(self) -> str:
        path = self.folder / "log" / f"{self.name}.log"
        return path.read_text(errors="replace") if path.exists() else ""
