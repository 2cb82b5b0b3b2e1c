"""One partition scenario's run on a :class:`~bench.datacentre.DataCentre`.

A vhost of its own on the cluster (quorum queues), two daemons, one on each daemon host
and given all three nodes, the load (publisher and answer collector) on the client host,
and a watch on the daemons' state files. The harness itself never opens a socket in the
machine's own namespace towards the data centre: the load runs in threads that entered
the client's namespace, probes in threads on a node's host.

What it measures, besides the counts per UUID of :class:`~bench.traffic.Tally`:

* ``gap_s``: the longest stretch in which no answer arrived (the fleet served nobody);
* ``longest_wait_s``: the longest a request waited, from being made to its answer;
* ``whole_s``: seconds from the heal until the request queue had both daemons'
  consumers again (asked of a node);
* ``not_serving_s``: per daemon, how long its state said it did not serve.
"""

from __future__ import annotations

import collections
import itertools
import json
import re
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pika
import pika.exceptions

from bench import cluster_faults
from bench.datacentre import AMQP_PORT, DAEMON_HOSTS, DataCentre, Node
from bench.delay_relay import DelayRelay
from bench.fleet import DaemonFleet
from bench.host_load import HostCollector, HostPublisher
from bench.netns import namespace_name
from bench.partition_evidence import answered_twice, log_digest
from bench.traffic import Publisher, Tally, unconfirmed_answers
from edeposit.amqp import settings as settings_module
from edeposit.amqp.runtime.state import read_state

__all__ = ["METRICS_PORT", "PartitionRun"]

#: The cluster scenarios' daemon settings; a node that does not answer is given up on
#: after 3 s (a silent one never refuses), so that a daemon soon tries the next.
DAEMON_ENV = {**cluster_faults.DAEMON_ENV, "RABBITMQ_CONNECT_TIMEOUT": "3"}
#: Each daemon's metrics endpoint, on its own host's loopback (hosts do not share ports).
METRICS_PORT = 9419
#: The relay's port on a daemon host's loopback for each node, by node host.
RELAY_PORTS = {"n1": 5601, "n2": 5602, "n3": 5603}


class PartitionRun:
    """A scenario's vhost, two daemons on ``d1`` and ``d2``, load from ``c``, and watches.

    Args:
        relay_host: a daemon host whose broker connections go through a
            :class:`~bench.delay_relay.DelayRelay` (``self.relay``), or "".
    """

    def __init__(
        self,
        dc: DataCentre,
        workdir: Path,
        *,
        heartbeat: int,
        relay_host: str = "",
        trace: bool = True,
    ) -> None:
        self.dc = dc
        self.workdir = workdir
        self.events: list[tuple[float, str]] = []
        #: Print each event as it happens (bench runs).
        self.trace = trace
        self.vhost = f"edeposit-partition-{uuid.uuid4().hex[:8]}"
        dc.add_vhost(self.vhost)
        self.settings = settings_module.get().replace(
            RABBITMQ_NODES=tuple(dc.endpoints),
            RABBITMQ_ALEPH_VIRTUALHOST=self.vhost,
            RABBITMQ_ALEPH_QUEUE_TYPE="quorum",
            RABBITMQ_HEARTBEAT=heartbeat,
            RABBITMQ_CONNECT_TIMEOUT=3.0,
        )
        self.queue = self.settings.RABBITMQ_ALEPH_DAEMON_QUEUE
        self.relay_host = relay_host
        self.fleet = DaemonFleet(
            workdir,
            {
                "RABBITMQ_NODES": ",".join(dc.endpoints),
                "RABBITMQ_ALEPH_VIRTUALHOST": self.vhost,
                "RABBITMQ_HEARTBEAT": str(heartbeat),
                "ALEPH_DAEMON_METRICS_PORT": str(METRICS_PORT),
                **dc.catalogue_env(),
                **DAEMON_ENV,
            },
        )
        self.hosts: list[str] = []  # the host of each daemon, by index
        #: The node host each live daemon used when the load began.
        self.placement: list[str] = []
        self.made: dict[str, float] = {}
        self.timeline: list[tuple[float, int, bool]] = []  # (when, daemon, serving)
        self._watching = threading.Event()
        self._watched: list[int] = []
        self._watcher = threading.Thread(target=self._watch, name="watch", daemon=True)
        #: The client's settings (the publisher's and the collector's).
        self.client_settings = self.settings
        self.collector = HostCollector(namespace_name("c"), self.settings)  # replaced later
        self.relay: DelayRelay | None = None
        try:
            if relay_host:
                routes = {
                    ("127.0.0.1", RELAY_PORTS[node.host]): (node.address, AMQP_PORT)
                    for node in dc.nodes
                }
                self.relay = DelayRelay(routes, prefix=dc.prefix(relay_host))
        except BaseException:
            self.close()
            raise
        self.note("vhost ready")

    # --- daemons --------------------------------------------------------------------------

    def start_daemons(self, *, client_avoids_leader: bool = False) -> None:
        """One daemon on each daemon host, then the answer collector; returns once both
        daemons consume.

        The first daemon starts alone and declares the queues, so that their quorum
        leader is the node it is connected to (RabbitMQ places a new quorum queue's leader
        on the declaring client's node): daemon 0 is on the leader's node, daemon 1 on
        another. ``client_avoids_leader`` gives the client the other two nodes only, so
        that a fault of the leader's node shows what the fleet does, not how long the
        client takes to leave a silent node.
        """
        for host in DAEMON_HOSTS:
            self.wait_serving([self.add_daemon(host)])
        self._spread()
        if client_avoids_leader:
            leader = self.placement[0]
            nodes = tuple(node.endpoint for node in self.dc.nodes if node.host != leader)
            self.client_settings = self.settings.replace(RABBITMQ_NODES=nodes)
        self.collector = HostCollector(namespace_name("c"), self.client_settings)
        self.collector.start()
        self.note("both daemons serve")

    def _spread(self) -> None:
        """Daemon 1 on another node than daemon 0: replaced until it is (the nodes a daemon
        tries are in a random order of its own)."""
        for _ in range(20):
            first, *others = [self.node_of(index) for index in self.live()]
            if first not in others:
                self.placement = [node.host if node else "?" for node in (first, *others)]
                return
            self.replace_daemon(self.live()[-1])
        raise RuntimeError("the daemons would not spread over two nodes")

    def add_daemon(self, host: str) -> int:
        """Start a daemon on ``host``; its index."""
        extra = {}
        if host == self.relay_host:
            extra["RABBITMQ_NODES"] = ",".join(f"127.0.0.1:{p}" for p in RELAY_PORTS.values())
        self.fleet.start(1, prefix=self.dc.prefix(host), **extra)
        self.hosts.append(host)
        return len(self.hosts) - 1

    def replace_daemon(self, index: int) -> int:
        """Stop daemon ``index`` and start another on its host; the new one's index."""
        self.fleet.stop(self.fleet.processes[index])
        new = self.add_daemon(self.hosts[index])
        self.wait_serving([new])
        return new

    def wait_serving(self, indexes: Iterable[int], timeout: float = 60.0) -> None:
        """Wait until the daemons ``indexes`` serve (their state files say so)."""
        indexes = list(indexes)
        deadline = time.monotonic() + timeout
        while not all(self.node_of(index) for index in indexes):
            if time.monotonic() > deadline:
                logs = "\n".join(self.fleet.log(index)[-1500:] for index in indexes)
                raise RuntimeError(f"daemons did not start serving:\n{logs}")
            time.sleep(0.1)

    def live(self) -> list[int]:
        """Indexes of the daemons that run."""
        return [i for i, process in enumerate(self.fleet.processes) if process.poll() is None]

    def state(self, index: int) -> dict[str, Any]:
        return read_state(self.workdir / f"daemon-{index}.state.json") or {}

    def node_of(self, index: int) -> Node | None:
        """The node daemon ``index`` consumes from, by its state file (None: none)."""
        state = self.state(index)
        if not state.get("serving") or not state.get("node"):
            return None
        endpoint = str(state["node"]).split("://", 1)[-1].split("/", 1)[0]
        for host, port in RELAY_PORTS.items():
            if endpoint == f"127.0.0.1:{port}":
                return self.dc.node(host)
        return self.dc.node_at(endpoint)

    def _watch(self) -> None:
        last: dict[int, bool] = {}
        while not self._watching.is_set():
            for index in self._watched:
                serving = bool(self.state(index).get("serving"))
                if last.get(index) != serving:
                    last[index] = serving
                    self.timeline.append((time.monotonic(), index, serving))
            time.sleep(0.1)

    def status(self, index: int) -> str:
        """What ``alephdaemon status`` says of daemon ``index``."""
        pidfile = self.workdir / f"daemon-{index}.pid"
        return subprocess.run(
            [sys.executable, "-m", "edeposit.amqp.alephdaemon", "status"],
            env={**self.fleet.env, "ALEPH_DAEMON_PIDFILE": str(pidfile)},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout.strip()

    def metrics(self, index: int) -> dict[str, str]:
        """Daemon ``index``'s broker metrics and catalogue call times, from its endpoint on
        its host's loopback."""

        def scrape() -> str:
            url = f"http://127.0.0.1:{METRICS_PORT}/metrics"
            with urllib.request.urlopen(url, timeout=5) as reply:
                return str(reply.read().decode())

        text = self.dc.call_in(self.hosts[index], scrape)
        names = r"edeposit_broker_(?:connected|node|reconnects_total)"
        names += r"|edeposit_catalogue_call_duration_seconds_(?:sum|count)"
        wanted = rf"^((?:{names})(?:\{{[^}}]*\}})?) (\S+)$"
        return {m.group(1): m.group(2) for m in re.finditer(wanted, text, re.M)}

    # --- the cluster ----------------------------------------------------------------------

    def leader(self, via: Node | None = None, timeout: float = 60.0) -> Node:
        """The node leading the request queue (its quorum leader), asked of ``via``."""
        rows = json.loads(
            (via or self.dc.nodes[0]).ctl(
                "list_queues",
                *("-p", self.vhost, "name", "leader", "--formatter", "json"),
                timeout=timeout,
            )
        )
        name = next(row["leader"] for row in rows if row["name"] == self.queue)
        return next(node for node in self.dc.nodes if node.name == name)

    def consumers(self, via: Node) -> int:
        """Consumers of the request queue, asked of node ``via`` on its own host (-1: it
        did not answer)."""

        def ask() -> int:
            parameters = pika.ConnectionParameters(
                "127.0.0.1", AMQP_PORT, self.vhost, socket_timeout=2, blocked_connection_timeout=5
            )
            connection = pika.BlockingConnection(parameters)
            try:
                declared = connection.channel().queue_declare(self.queue, passive=True)
                return int(declared.method.consumer_count)
            finally:
                connection.close()

        try:
            return self.dc.call_in(via.host, ask, timeout=10)
        except (pika.exceptions.AMQPError, OSError, TimeoutError):
            return -1

    def wait_whole(self, via: Node, since: float, bound: float) -> float:
        """Seconds from ``since`` until the request queue has both daemons' consumers
        (``inf`` past ``bound``)."""
        while time.monotonic() - since < bound:
            if self.consumers(via) >= 2 and all(self.node_of(i) for i in self.live()):
                return round(time.monotonic() - since, 2)
            time.sleep(0.25)
        return float("inf")

    # --- load and counts ------------------------------------------------------------------

    def _request(self, index: int) -> tuple[bytes, dict[str, Any]]:
        key = str(uuid.uuid4())
        self.made[key] = time.monotonic()
        return cluster_faults.request(index)[0], {"UUID": key}

    def publish(self, total: int, rate: float) -> Publisher:
        """Start the load; the daemons running now are watched from here on."""
        self._watched = self.live()
        self._watcher.start()
        self.note(f"load: {total} requests at {rate:g}/s")
        publisher = HostPublisher(
            namespace_name("c"), self.client_settings, self._request, total, rate
        )
        publisher.start()
        return publisher

    def note(self, event: str) -> float:
        """Record an event of the scenario (a cut, a heal); its monotonic time."""
        now = time.monotonic()
        self.events.append((now, event))
        if self.trace:
            print(f"   {now - self.events[0][0]:7.2f} s  {event}", flush=True)
        return now

    def finish(self, publisher: Publisher, answer_bound: float = 120.0, **extra: Any) -> Tally:
        """Wait for the load to end and its answers; the counts and timings."""
        publisher.join()
        self.note(f"load sent: {len(publisher.sent)} requests")
        self.collector.wait_for(publisher.sent, answer_bound)
        self.note("answers in")
        time.sleep(1.0)  # a late second answer would show up now
        self._watching.set()
        collector = self.collector
        answered = [key for key in publisher.sent if key in collector.arrived]
        arrivals = sorted(collector.arrived[key] for key in answered)
        gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
        waits = [collector.arrived[key] - self.made[key] for key in answered]
        across = sum(len(set(by)) - 1 for by in collector.answered_by.values())
        return Tally.of(
            publisher.sent,
            collector,
            publisher.resent,
            unconfirmed_answers(*(self.fleet.log(i) for i in range(len(self.fleet.processes)))),
            duplicated_across_daemons=across,
            republished=publisher.republished,
            gap_s=round(max(gaps, default=0.0), 2),
            longest_wait_s=round(max(waits, default=0.0), 2),
            not_serving_s=self.not_serving(),
            daemons_on=self.placement,
            logs={f"daemon {i}": log_digest(self.fleet.log(i)) for i in self._watched},
            twice=answered_twice(
                self.collector,
                self.made,
                self.events,
                [self.fleet.log(index) for index in range(len(self.fleet.processes))],
            ),
            **extra,
        )

    def not_serving(self) -> dict[int, float]:
        """Seconds each daemon's state said it did not serve (from the timeline)."""
        down: dict[int, float] = collections.defaultdict(float)
        since: dict[int, float] = {}
        for when, index, serving in self.timeline:
            if not serving:
                since[index] = when
            elif index in since:
                down[index] += when - since.pop(index)
        now = time.monotonic()
        for index, when in since.items():
            down[index] += now - when
        return {index: round(seconds, 2) for index, seconds in sorted(down.items())}

    def answered_by(self, index: int) -> list[str]:
        """UUIDs daemon ``index`` answered (its ``app_id`` ends in its pid)."""
        pid = f":{self.fleet.processes[index].pid}"
        answers = self.collector.answered_by.items()
        return [key for key, by in answers if any(name.endswith(pid) for name in by)]

    def close(self) -> None:
        self._watching.set()
        self.fleet.close()
        if self.collector.is_alive():
            self.collector.stop()
        if self.relay is not None:
            self.relay.close()
        self.dc.heal()
        if self.dc.disturbed:  # the next run starts on a whole cluster
            self.dc.mend(60.0)
        self.note("closed")
