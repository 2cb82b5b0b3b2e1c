"""A small data centre on this machine: hosts as network namespaces, joined by bridges.

    with DataCentre() as dc:       # three RabbitMQ nodes clustered, an Aleph emulator
        dc.cut("d1"); dc.heal()    # a daemon host's link leaves the network, comes back

Hosts (each a network namespace, :mod:`bench.netns`): the broker nodes ``n1``-``n3``,
the daemon hosts ``d1`` and ``d2``, the client ``c``, all on one bridge (``lan``) of
:data:`NETWORK`; and the catalogue host ``aleph``, running the emulator, on a network of
its own (:data:`CATALOGUE_NETWORK`, bridge ``cat``) that the daemon hosts reach through a
second link, so that partitions of the broker network leave the catalogue fast. The
bridges live in a namespace of their own too (``fabric``): nothing is created in, or
changed on, the machine's own network. These addresses exist only inside the namespaces,
none of which has a route anywhere else.

Each node is ``edeposit-dc@<its address>`` with long names, its own env file
(``RABBITMQ_CONF_ENV_FILE``: the machine's ``/etc/rabbitmq/rabbitmq-env.conf`` pins nodes
to 127.0.0.1), data, config and epmd; ``pause_minority``; ``net_ticktime`` as given.

Partitions are silent, as real ones are: a host's link leaves its bridge (:meth:`cut`),
or a group of hosts moves to a second bridge (``apart``, :meth:`split`); packets across
simply vanish. :meth:`heal` puts every link back on ``lan``.

Teardown (``close``: context manager, ``atexit``, and at the next start a sweep of what a
killed run left, by the harness's name prefix and owner pid) kills every process in the
namespaces, deletes them with their links and bridges, and removes the nodes' folders.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import pika
import pika.exceptions

from bench import netns
from bench.fleet import EmulatorProcess
from bench.host_node import AMQP_PORT, Node

__all__ = ["AMQP_PORT", "CATALOGUE_NETWORK", "NETWORK", "DataCentre", "Node"]

#: The data centre's broker network (a /24 of the private range, only inside namespaces).
NETWORK = "10.87.0"
#: The catalogue's network, which partitions of the broker network leave alone.
CATALOGUE_NETWORK = "10.87.1"
#: Host name -> last byte of its address on :data:`NETWORK`.
HOSTS = {"n1": 11, "n2": 12, "n3": 13, "d1": 21, "d2": 22, "c": 31}
NODE_HOSTS = ("n1", "n2", "n3")
DAEMON_HOSTS = ("d1", "d2")
CLIENT_HOST = "c"
#: Prefix of the data centre's folder (the sweep removes those of dead owners).
FOLDER_PREFIX = "edeposit-dc-"

T = TypeVar("T")
_open: set[DataCentre] = set()


class DataCentre:
    """Three clustered nodes, two daemon hosts, a client host and a catalogue host.

    Args:
        net_ticktime: Erlang's ``net_ticktime`` of the nodes, in seconds (how soon the
            nodes give up on a silent peer; RabbitMQ's default is 60).
    """

    def __init__(self, *, net_ticktime: int = 10) -> None:
        self.net_ticktime = net_ticktime
        self.folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
        self.folder.chmod(0o755)  # the nodes (user rabbitmq) live below
        (self.folder / "owner").write_text(f"{os.getpid()}\n")
        self.fabric = netns.namespace_name("fabric")
        addresses = {host: f"{NETWORK}.{HOSTS[host]}" for host in NODE_HOSTS}
        peers = [f"edeposit-dc@{address}" for address in addresses.values()]
        self.nodes = [
            Node(host, address, self.folder / host, net_ticktime=net_ticktime, peers=peers)
            for host, address in addresses.items()
        ]
        self.emulator: EmulatorProcess | None = None
        self._namespaces: list[str] = []
        #: Each host's current bridge on the broker network (None: its link is cut).
        self.bridge_of: dict[str, str | None] = {}
        #: A node's link was moved since the cluster was last seen whole.
        self.disturbed = False
        _open.add(self)

    # --- building -------------------------------------------------------------------------

    def start(self) -> Self:
        _sweep()
        self._add_namespace(self.fabric)
        for bridge in ("lan", "apart", "cat"):
            netns.ip("-n", self.fabric, "link", "add", bridge, "type", "bridge")
            netns.ip("-n", self.fabric, "link", "set", bridge, "up")
        for host, last in HOSTS.items():
            self._add_namespace(netns.namespace_name(host))
            self._wire(host, "eth0", "lan", f"{NETWORK}.{last}")
            self.bridge_of[host] = "lan"
        self._add_namespace(netns.namespace_name("aleph"))
        self._wire("aleph", "eth0", "cat", f"{CATALOGUE_NETWORK}.1", fabric_side="c-aleph")
        for host in DAEMON_HOSTS:
            address = f"{CATALOGUE_NETWORK}.{HOSTS[host]}"
            self._wire(host, "eth1", "cat", address, fabric_side=f"c-{host}")
        for node in self.nodes:
            node.launch()
        self.emulator = EmulatorProcess(
            "--host", f"{CATALOGUE_NETWORK}.1", prefix=self.prefix("aleph")
        )
        for node in self.nodes:
            node.wait_started()
        self.wait_whole()
        return self

    def _add_namespace(self, name: str) -> None:
        netns.ip("netns", "add", name)
        self._namespaces.append(name)
        netns.ip("-n", name, "link", "set", "lo", "up")

    def _wire(
        self, host: str, device: str, bridge: str, address: str, fabric_side: str = ""
    ) -> None:
        """A veth pair: ``device`` on ``host`` with ``address``, its peer on ``bridge``."""
        inside = netns.namespace_name(host)
        peer = fabric_side or f"v-{host}"
        netns.ip(
            "-n", self.fabric, "link", "add", peer, "type", "veth",
            "peer", "name", device, "netns", inside,
        )  # fmt: skip
        netns.ip("-n", self.fabric, "link", "set", peer, "master", bridge, "up")
        netns.ip("-n", inside, "addr", "add", f"{address}/24", "dev", device)
        netns.ip("-n", inside, "link", "set", device, "up")

    # --- using it -------------------------------------------------------------------------

    def prefix(self, host: str) -> list[str]:
        """The command prefix that runs a program on ``host``."""
        return ["ip", "netns", "exec", netns.namespace_name(host)]

    def call_in(self, host: str, function: Callable[[], T], timeout: float = 30.0) -> T:
        """``function()`` run by a thread on ``host`` (its sockets are that host's)."""
        return netns.call_in(netns.namespace_name(host), function, timeout)

    def node(self, host: str) -> Node:
        return next(node for node in self.nodes if node.host == host)

    def node_at(self, endpoint: str) -> Node | None:
        """The node listening at ``address:port`` (None: no node of this data centre)."""
        return next((node for node in self.nodes if node.endpoint == endpoint), None)

    @property
    def endpoints(self) -> list[str]:
        """``address:port`` of every node (a ``RABBITMQ_NODES`` value, joined by commas)."""
        return [node.endpoint for node in self.nodes]

    def add_vhost(self, name: str, timeout: float = 30.0) -> None:
        """A vhost that ``guest`` may use fully, once usable; it lasts as long as the data
        centre. One ``rabbitmqctl import_definitions`` (each call costs a second of CPU),
        which may finish after it returns: a login into the vhost tells."""
        permissions = {"configure": ".*", "write": ".*", "read": ".*"}
        definitions = {
            "vhosts": [{"name": name}],
            "permissions": [{"user": "guest", "vhost": name, **permissions}],
        }
        path = self.folder / f"{name}.json"
        path.write_text(json.dumps(definitions))
        path.chmod(0o644)
        first = self.nodes[0]
        first.ctl("import_definitions", str(path))

        def login() -> bool:
            try:
                parameters = pika.ConnectionParameters("127.0.0.1", AMQP_PORT, name)
                pika.BlockingConnection(parameters).close()
            except pika.exceptions.AMQPError:
                return False
            return True

        deadline = time.monotonic() + timeout
        while not netns.call_in(first.namespace, login):
            if time.monotonic() > deadline:
                raise RuntimeError(f"vhost {name} was not usable within {timeout:g} s")
            time.sleep(0.1)

    def catalogue_env(self) -> dict[str, str]:
        assert self.emulator is not None
        return self.emulator.env()

    # --- partitions -----------------------------------------------------------------------

    def cut(self, *hosts: str) -> None:
        """Take each host's link off its bridge: the host reaches nobody, silently."""
        for host in hosts:
            netns.ip("-n", self.fabric, "link", "set", f"v-{host}", "nomaster")
            self.bridge_of[host] = None
        self.disturbed |= any(host in NODE_HOSTS for host in hosts)

    def split(self, *hosts: str) -> None:
        """Move ``hosts`` to a bridge of their own: they reach each other, no one else."""
        for host in hosts:
            netns.ip("-n", self.fabric, "link", "set", f"v-{host}", "master", "apart")
            self.bridge_of[host] = "apart"
        self.disturbed |= any(host in NODE_HOSTS for host in hosts)

    def heal(self) -> None:
        """Every host back on the one network."""
        for host in HOSTS:
            if self.bridge_of.get(host) != "lan":
                netns.ip("-n", self.fabric, "link", "set", f"v-{host}", "master", "lan")
                self.bridge_of[host] = "lan"

    def wait_whole(self, timeout: float = 120.0) -> float:
        """Wait until every node accepts clients (a paused minority does not) and the
        first sees all three running; the seconds waited, ``RuntimeError`` past ``timeout``
        (saying what each node sees, and where their logs were kept).

        Sockets first, then one ``rabbitmqctl`` (each call costs a second of CPU).
        """
        started = time.monotonic()
        while not self._whole():
            if time.monotonic() - started > timeout:
                raise RuntimeError(
                    f"the cluster did not come together in {timeout:g} s: "
                    f"{json.dumps(self.views())}; node logs kept in {self.keep_logs()}"
                )
            time.sleep(0.5)
        self.disturbed = False
        return time.monotonic() - started

    def _whole(self) -> bool:
        names = sorted(node.name for node in self.nodes)
        return all(node.listening() for node in self.nodes) and (
            self.nodes[0].running_nodes() == names
        )

    def views(self) -> dict[str, dict[str, Any]]:
        """What each node sees: whether it accepts clients, the nodes (addresses) it sees
        running, the partitions it recorded."""
        views = {}
        for node in self.nodes:
            status = node.cluster_status()
            views[node.host] = {
                "listening": node.listening(),
                "running": sorted(str(n).split("@")[-1] for n in status.get("running_nodes", [])),
                "partitions": status.get("partitions"),
            }
        return views

    def keep_logs(self) -> Path:
        """Copy the nodes' logs out of the data centre's folder (which teardown removes);
        the folder they went to."""
        kept = Path(tempfile.mkdtemp(prefix="edeposit-dc-logs-"))
        for node in self.nodes:
            with contextlib.suppress(OSError):
                shutil.copytree(node.folder / "log", kept / node.host)
        return kept

    def mend(self, bound: float) -> dict[str, Any]:
        """Wait up to ``bound`` seconds for the cluster to be whole by itself (a paused
        minority rejoins when it sees the majority again); past it, record what each node
        sees, keep their logs, and restart the nodes that stay apart, as an operator
        would (docs/operations.md). What happened, for a scenario's tally."""
        healed = time.monotonic()
        while time.monotonic() - healed < bound:
            if self._whole():
                self.disturbed = False
                return {"rejoined_s": round(time.monotonic() - healed, 2), "restarted": []}
            time.sleep(0.5)
        views = self.views()
        logs = self.keep_logs()
        addresses = sorted(node.address for node in self.nodes)
        apart = [
            node
            for node in self.nodes
            if not views[node.host]["listening"] or views[node.host]["running"] != addresses
        ]
        for node in apart:
            node.kill()
            node.launch()
        for node in apart:
            node.wait_started()
        self.wait_whole()
        return {
            "rejoined_s": None,
            "restarted": [node.host for node in apart],
            "whole_after_restart_s": round(time.monotonic() - healed, 2),
            "views": views,
            "logs_kept_in": str(logs),
        }

    # --- teardown -------------------------------------------------------------------------

    def close(self) -> None:
        """Stop everything, delete every namespace (links, bridges), remove the folders."""
        try:
            if self.emulator is not None:
                self.emulator.close()
        finally:
            for name in reversed(self._namespaces):
                netns.remove_namespace(name)
            self._namespaces.clear()
            shutil.rmtree(self.folder, ignore_errors=True)
            _open.discard(self)

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
def _close_open() -> None:
    """Last resort: data centres an interpreter leaves open."""
    for centre in list(_open):
        with contextlib.suppress(Exception):
            centre.close()


def _sweep() -> None:
    """Remove what runs killed outright left: their namespaces, then their folders."""
    netns.sweep()
    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*"):
        try:
            owner = int((folder / "owner").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        if not netns.alive(owner):
            shutil.rmtree(folder, ignore_errors=True)
