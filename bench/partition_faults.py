"""Partition scenarios: two daemons on two hosts, three nodes, each a network namespace.

The data centre (:mod:`bench.datacentre`): nodes ``n1``-``n3`` clustered with
``pause_minority`` and quorum queues, daemons on ``d1`` and ``d2`` given all three nodes,
the load on the client host ``c``, the catalogue on a network of its own. Partitions are
silent (a link leaves its bridge, or hosts move to a second one). Scenarios:

* ``host-cut``: a daemon's host cut off from every node for 30 s, then healed;
* ``leader-isolated``: the node leading the request queue split from the other two
  together with the daemon connected to it (a minority that pauses), then healed;
* ``link-flapping``: the leader's node, with a daemon on it, cut and healed every 5 s
  for a minute;
* ``slow-network``: every broker connection of one daemon host through a relay that
  holds each byte 200 ms each way, for a minute; the catalogue stays fast;
* ``client-split``: the client's host (with two nodes) split from the daemons' hosts
  (with the leader's node) for 30 s; every request the broker accepted meanwhile must
  be answered once the split heals.

Each counts answers per UUID (lost, twice by one daemon, twice across daemons) and
times the fleet's return (see :mod:`bench.partition_run`). ``short`` runs the suite's
versions: the same faults, held for less time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from bench import netns
from bench.datacentre import DataCentre, Node
from bench.partition_evidence import log_digest
from bench.partition_run import PartitionRun
from bench.traffic import Publisher, Tally

__all__ = ["HEARTBEAT", "NET_TICKTIME", "PARTITION_SCENARIOS", "PartitionScenario", "centre_for"]

#: Seconds of the daemons' and the client's AMQP heartbeat in these runs.
HEARTBEAT = 5
#: Seconds of the nodes' Erlang ``net_ticktime`` (RabbitMQ's default is 60).
NET_TICKTIME = 10
#: Requests per second offered by the client.
RATE = 20.0
#: Seconds the fleet may take to be whole again after a heal before it counts as never.
WHOLE_BOUND = 90.0
#: Seconds a paused minority has to rejoin the cluster by itself after a heal (full,
#: short versions); past them the harness restarts it, as an operator would, and the
#: tally says so. It rejoins within 3-8 s, or hangs for good (RabbitMQ 3.10.8 on Erlang
#: 25.2, docs/scaling.md): the short versions wait less, to keep the suite short.
REJOIN_BOUND = {False: 60.0, True: 15.0}


@contextlib.contextmanager
def centre_for(dc: DataCentre | None) -> Iterator[DataCentre]:
    """``dc``, or a data centre of the scenario's own (torn down after)."""
    if dc is not None:
        yield dc
        return
    reason = netns.unavailable()
    if reason:
        raise RuntimeError(f"partition scenarios need namespaced hosts: {reason}")
    with DataCentre(net_ticktime=NET_TICKTIME) as own:
        yield own


def _load(run: PartitionRun, before: float, fault: float, after: float) -> Publisher:
    """Requests at :data:`RATE` for the whole scenario (before, during, after the fault)."""
    return run.publish(int(RATE * (before + fault + after)), RATE)


def host_cut(workdir: Path, short: bool, dc: DataCentre | None = None) -> Tally:
    """Daemon 0's host (``d1``) loses its link to every node for 30 s, then gets it back."""
    # Short: 15 s, longer than the broker takes to give up on a silent connection with
    # 5 s heartbeats (about 10 s), so that the cut daemon has to connect anew.
    before, cut_s, after = (1.0, 15.0, 1.0) if short else (10.0, 30.0, 20.0)
    with centre_for(dc) as centre:
        run = PartitionRun(centre, workdir, heartbeat=HEARTBEAT)
        try:
            run.start_daemons()
            publisher = _load(run, before, cut_s, after)
            time.sleep(before)
            cut = run.note("cut d1")
            centre.cut("d1")
            time.sleep(cut_s - 1)
            observed: dict[str, Any] = {"status": run.status(0), "metrics": run.metrics(0)}
            time.sleep(1)
            healed = run.note("heal")
            centre.heal()
            whole = run.wait_whole(centre.nodes[0], healed, WHOLE_BOUND)
            observed["reconnects_after_heal"] = run.metrics(0).get(
                "edeposit_broker_reconnects_total"
            )
            return run.finish(
                publisher,
                fault=f"daemon host d1 cut off from every node for {healed - cut:.0f} s",
                held_s=round(healed - cut, 2),
                whole_s=whole,
                observed=observed,
                **_settings(),
            )
        finally:
            run.close()


def leader_isolated(workdir: Path, short: bool, dc: DataCentre | None = None) -> Tally:
    """The request queue's leader node, with the daemon connected to it, split from the
    other two nodes (and the other daemon and the client): a minority that pauses."""
    before, split_s, after = (1.0, 0.0, 1.0) if short else (10.0, 30.0, 20.0)
    expected = split_s or NET_TICKTIME + 4.0  # short: held until the minority paused
    with centre_for(dc) as centre:
        run = PartitionRun(centre, workdir, heartbeat=HEARTBEAT)
        try:
            run.start_daemons(client_avoids_leader=True)
            leader, victim = _daemon_on_leader(run)
            publisher = _load(run, before, expected, after)
            time.sleep(before)
            split = _split_until_paused(
                run, leader, victim, split_s, run.hosts[victim], rejoin=REJOIN_BOUND[short]
            )
            return run.finish(
                publisher,
                fault=f"leader {leader.host} and daemon host {run.hosts[victim]} split from "
                f"the rest for {split.held:.0f} s",
                held_s=split.held,
                leader_was=leader.host,
                new_leader=split.new_leader,
                victim_not_serving_s=run.not_serving().get(victim, 0.0),
                minority_paused_after_s=split.paused,
                whole_s=split.whole,
                cluster=split.cluster,
                observed=split.observed,
                node_log=log_digest(leader.log()),
                **_settings(),
            )
        finally:
            run.close()


def link_flapping(workdir: Path, short: bool, dc: DataCentre | None = None) -> Tally:
    """The leader's node, a daemon on it, cut for 5 s and back for 5 s, six times (short:
    3 s, twice)."""
    period, before, cycles, after = (3.0, 1.0, 2, 1.0) if short else (5.0, 10.0, 6, 20.0)
    with centre_for(dc) as centre:
        run = PartitionRun(centre, workdir, heartbeat=HEARTBEAT)
        try:
            run.start_daemons(client_avoids_leader=True)
            leader, _ = _daemon_on_leader(run)
            majority = next(node for node in centre.nodes if node is not leader)
            publisher = _load(run, before, period * (2 * cycles - 1), after)
            time.sleep(before)
            for cycle in range(cycles):
                if cycle:
                    time.sleep(period)
                run.note(f"cut {leader.host} ({cycle + 1} of {cycles})")
                centre.cut(leader.host)
                time.sleep(period)
                healed = run.note("heal")
                centre.heal()
            whole = run.wait_whole(majority, healed, WHOLE_BOUND)
            cluster = centre.mend(REJOIN_BOUND[short])
            return run.finish(
                publisher,
                fault=f"node {leader.host} (the leader, a daemon on it) cut and healed every "
                f"{period:g} s, {cycles} times",
                whole_s=whole,
                cluster=cluster,
                **_settings(),
            )
        finally:
            run.close()


def slow_network(workdir: Path, short: bool, dc: DataCentre | None = None) -> Tally:
    """Daemon 1's broker connections (host ``d2``) through a relay holding every byte
    200 ms each way; its catalogue calls stay fast (another network)."""
    before, slow_s, after = (1.0, 10.0, 1.0) if short else (10.0, 60.0, 10.0)
    delay = 0.2
    with centre_for(dc) as centre:
        run = PartitionRun(centre, workdir, heartbeat=HEARTBEAT, relay_host="d2")
        assert run.relay is not None
        try:
            run.start_daemons()
            slow, fast = (next(i for i in run.live() if run.hosts[i] == h) for h in ("d2", "d1"))
            publisher = _load(run, before, slow_s, after)
            time.sleep(before)
            started = run.note("delay 200 ms")
            run.relay.set_delay(delay)
            time.sleep(slow_s)
            ended = run.note("no delay")
            run.relay.set_delay(0.0)
            metrics = run.metrics(slow)
            tally = run.finish(
                publisher,
                fault=f"daemon host d2's broker connections delayed {delay * 1000:g} ms each "
                f"way for {slow_s:g} s",
                whole_s=run.wait_whole(centre.nodes[0], ended, WHOLE_BOUND),
                observed={"metrics": metrics},
                **_settings(),
            )
            tally["slow_share"] = _answered_share(run, slow, started, ended)
            tally["slow_median_wait_s"] = {
                "slow": _median_wait(run, slow, started, ended),
                "fast": _median_wait(run, fast, started, ended),
            }
            tally["slow_catalogue_call_mean_s"] = _mean_call(metrics)
            return tally
        finally:
            run.close()


def client_split(workdir: Path, short: bool, dc: DataCentre | None = None) -> Tally:
    """The client's host with two nodes, split from both daemons' hosts with the third
    (the leader's): requests the broker accepted meanwhile are answered after the heal."""
    before, split_s, after = (1.0, 0.0, 1.0) if short else (10.0, 30.0, 20.0)
    expected = split_s or NET_TICKTIME + 4.0  # short: held until the minority paused
    with centre_for(dc) as centre:
        run = PartitionRun(centre, workdir, heartbeat=HEARTBEAT)
        try:
            run.start_daemons(client_avoids_leader=True)
            leader, _ = _daemon_on_leader(run)
            publisher = _load(run, before, expected, after)
            time.sleep(before)
            split = _split_until_paused(
                run, leader, 0, split_s, "d1", "d2", rejoin=REJOIN_BOUND[short]
            )
            tally = run.finish(
                publisher,
                fault=f"client host c (with two nodes) split from d1, d2 and {leader.host} "
                f"for {split.held:.0f} s",
                held_s=split.held,
                minority_paused_after_s=split.paused,
                whole_s=split.whole,
                cluster=split.cluster,
                observed=split.observed,
                node_log=log_digest(leader.log()),
                **_settings(),
            )
            # Requests made while the split lasted, which the majority confirmed (one in
            # flight as the split began may have been answered on either side of it).
            made = run.made
            accepted = [key for key in publisher.sent if split.moved <= made[key] < split.healed]
            arrived = run.collector.arrived
            answered = [arrived[key] for key in accepted if key in arrived]
            tally["accepted_during_split"] = len(accepted)
            tally["answered_during_split"] = sum(when < split.healed for when in answered)
            tally["split_backlog_answered_s"] = round(
                max(answered, default=split.healed) - split.healed, 2
            )
            return tally
        finally:
            run.close()


# --- helpers --------------------------------------------------------------------------------


def _settings() -> dict[str, Any]:
    return {"heartbeat_s": HEARTBEAT, "net_ticktime_s": NET_TICKTIME}


def _daemon_on_leader(run: PartitionRun) -> tuple[Node, int]:
    """The request queue's leader node and a daemon connected to it, before the load.

    Daemon 0 declared the queue, so it is on the leader's node; should it not be (it
    moved), the last daemon is replaced by a new one on its host until one is.
    """
    leader = run.leader()
    for _ in range(20):
        live = run.live()
        on_leader = [index for index in live if run.node_of(index) is leader]
        if on_leader:
            return leader, on_leader[0]
        run.replace_daemon(live[-1])
    raise RuntimeError(f"no daemon would connect to the leader {leader.name}")


@dataclasses.dataclass
class _Split:
    """What :func:`_split_until_paused` saw."""

    held: float  #: seconds the split lasted
    paused: float | None  #: seconds until the leader's node paused (None: never)
    new_leader: str | None  #: the majority's leader of the request queue
    observed: dict[str, Any]  #: the victim daemon's status and metrics during the split
    healed: float  #: when it healed (monotonic)
    whole: float  #: seconds from the heal until both daemons consumed again
    moved: float  #: when the hosts had moved apart (monotonic)
    cluster: dict[str, Any]  #: how the cluster became whole again (:meth:`DataCentre.mend`)


def _split_until_paused(
    run: PartitionRun,
    leader: Node,
    victim: int,
    hold: float,
    *hosts: str,
    rejoin: float,
) -> _Split:
    """Move the leader's node and ``hosts`` to a bridge of their own, a minority; keep
    them there until the leader's node paused (and ``hold`` seconds, if longer); heal;
    give the paused node ``rejoin`` seconds to rejoin by itself (:meth:`DataCentre.mend`)."""
    centre = run.dc
    majority = next(node for node in centre.nodes if node is not leader)
    started = run.note(f"split {', '.join((leader.host, *hosts))}")
    centre.split(leader.host, *hosts)
    moved = time.monotonic()
    paused = _hold_paused(leader, started, hold - 1)
    observed = {"status": run.status(victim), "metrics": run.metrics(victim)}
    new_leader = _new_leader(run, majority, leader)
    time.sleep(1)
    healed = run.note("heal")
    centre.heal()
    whole = run.wait_whole(majority, healed, WHOLE_BOUND)
    cluster = centre.mend(rejoin)
    if cluster["rejoined_s"] is not None:
        cluster["rejoined_s"] = round(time.monotonic() - healed, 2)  # from the heal
    return _Split(
        round(healed - started, 2), paused, new_leader, observed, healed, whole, moved, cluster
    )


def _hold_paused(node: Node, since: float, hold: float) -> float | None:
    """Keep a partition until ``node``, in its minority, has paused (stopped accepting
    clients; waited for at most twice ``net_ticktime``), at least 1 s more, and until
    ``since + hold``. Seconds from ``since`` to the pause (None: never)."""
    paused = None
    while paused is None and time.monotonic() - since < 2 * NET_TICKTIME + 5:
        if not node.listening():
            paused = round(time.monotonic() - since, 2)
        else:
            time.sleep(0.25)
    time.sleep(max(1.0, since + hold - time.monotonic()))
    return paused


def _new_leader(run: PartitionRun, via: Node, old: Node, bound: float = 15.0) -> str | None:
    """The request queue's leader as node ``via`` sees it, asked until it is another than
    ``old`` (at most ``bound`` seconds: the majority may still be electing one); None
    when ``via`` could not tell."""
    deadline = time.monotonic() + bound
    seen = None
    while seen is None or (seen == old.host and time.monotonic() < deadline):
        try:
            seen = run.leader(via, timeout=max(1.0, deadline - time.monotonic())).host
        except Exception:  # noqa: BLE001 - a figure to report; the CLI may give up meanwhile
            if time.monotonic() > deadline:
                return None
        time.sleep(0.5)
    return seen


def _answered_share(run: PartitionRun, index: int, start: float, end: float) -> float:
    """Share of the answers arriving in [start, end) that daemon ``index`` gave."""
    mine = set(run.answered_by(index))
    window = [key for key, when in run.collector.arrived.items() if start <= when < end]
    return round(sum(key in mine for key in window) / max(1, len(window)), 3)


def _mean_call(metrics: dict[str, str]) -> float:
    """Mean seconds of a daemon's catalogue calls, from its metrics."""
    total = count = 0.0
    for name, value in metrics.items():
        if name.startswith("edeposit_catalogue_call_duration_seconds_sum"):
            total += float(value)
        elif name.startswith("edeposit_catalogue_call_duration_seconds_count"):
            count += float(value)
    return round(total / count, 4) if count else float("nan")


def _median_wait(run: PartitionRun, index: int, start: float, end: float) -> float:
    """Median wait of the requests made in [start, end) that daemon ``index`` answered."""
    arrived = run.collector.arrived
    mine = set(run.answered_by(index))
    waits = [
        arrived[key] - made
        for key, made in run.made.items()
        if start <= made < end and key in arrived and key in mine
    ]
    return round(statistics.median(waits), 3) if waits else float("nan")


class PartitionScenario(Protocol):
    """A scenario: its own data centre, or ``dc`` (mended after, for the next one)."""

    def __call__(self, workdir: Path, short: bool, dc: DataCentre | None = None) -> Tally: ...


PARTITION_SCENARIOS: dict[str, PartitionScenario] = {
    "host-cut": host_cut,
    "leader-isolated": leader_isolated,
    "link-flapping": link_flapping,
    "slow-network": slow_network,
    "client-split": client_split,
}
