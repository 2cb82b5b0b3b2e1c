"""Short versions of the fault scenarios of ``bench/faults.py`` (the long ones: its CLI).

Each runs real processes — RabbitMQ, the emulator, daemon subprocesses — and
asserts what the scenario promises: every request answered exactly once, nothing left
unacked, and its own expectations (clean exits, refused hostile replies, no secret in
any output, TLS with client certificates). Scenarios that restart the broker restart
the session's private node, never the machine's broker.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from bench import faults
from bench.brokers import PrivateNode

from edeposit.amqp import settings


@pytest.fixture(autouse=True)
def _defaults() -> None:
    settings.reload()


def _check(tally: faults.Tally, *, broker_restarts: bool = False) -> None:
    print(tally)  # the figures, shown with -s or on failure
    assert tally["sent"] > 0
    assert tally["lost"] == 0, tally
    assert tally["answered"] == tally["sent"], tally
    assert tally["duplicated_by_one_daemon"] == 0, tally
    if broker_restarts:
        # At-least-once across daemons: an answer confirmed just before the broker went
        # down may be given again by the daemon that gets the request redelivered.
        assert tally["duplicated"] <= 2, tally
    else:
        assert tally["duplicated"] == 0, tally
    assert "broken" not in tally, tally["broken"]


@pytest.mark.timeout(300)
def test_broker_restart_under_load(tmp_path: Path, private_node: PrivateNode) -> None:
    tally = faults.broker_restart(tmp_path, short=True, node=private_node)
    _check(tally, broker_restarts=True)
    # The daemons consumed again after each restart (within the scenario's bound).
    assert all(math.isfinite(seconds) for seconds in tally["reconnect_s"])


@pytest.mark.timeout(300)
def test_daemon_killed_mid_work(tmp_path: Path) -> None:
    tally = faults.daemon_killed(tmp_path, short=True)
    _check(tally)
    assert tally["killed_exit"] == -9


@pytest.mark.timeout(300)
def test_graceful_stop_under_load(tmp_path: Path) -> None:
    tally = faults.graceful_stop(tmp_path, short=True)
    _check(tally)
    assert tally["exit_code"] == 0
    assert tally["left_queued"] > 0, "the rest must wait in the queue for the next daemon"


@pytest.mark.timeout(400)
def test_catalogue_faults(tmp_path: Path) -> None:
    tally = faults.catalogue_faults(tmp_path, short=True)
    _check(tally)
    assert "MISSING" not in tally["faults"]
    assert not any(name.startswith("_") for name in tally["errors"]), "private error names leak"


@pytest.mark.timeout(400)
def test_hostile_input(tmp_path: Path) -> None:
    tally = faults.hostile_input(tmp_path, short=True)
    _check(tally)
    assert tally["daemon_alive"] and tally["left_in_queue"] == 0
    assert tally["errors"].get("RequestTooLargeError") == 1


@pytest.mark.timeout(300)
def test_poison_message(tmp_path: Path) -> None:
    tally = faults.poison_message(tmp_path, short=True)
    _check(tally)
    assert tally["poison_answer"] == ["PoisonMessageError"]


@pytest.mark.timeout(300)
def test_hostile_catalogue_replies(tmp_path: Path) -> None:
    tally = faults.hostile_catalogue(tmp_path, short=True)
    _check(tally)
    assert set(tally["causes"]) == set(faults.KINDS)


@pytest.mark.timeout(300)
def test_secrets_and_access(tmp_path: Path) -> None:
    tally = faults.secrets_and_access(tmp_path, short=True)
    _check(tally)
    assert tally["password_leaks"] == 0
    assert tally["tls"].startswith("ok")


@pytest.mark.timeout(400)
def test_soak_short(tmp_path: Path, private_node: PrivateNode) -> None:
    _check(faults.soak(tmp_path, short=True, node=private_node), broker_restarts=True)


@pytest.mark.timeout(300)
def test_broker_node_stopped_under_load(tmp_path: Path, private_node: PrivateNode) -> None:
    tally = faults.broker_stop(tmp_path, short=True, node=private_node)
    _check(tally, broker_restarts=True)
    assert all(math.isfinite(seconds) for seconds in tally["reconnect_s"])


@pytest.mark.timeout(300)
def test_unreadable_headers_on_a_quorum_queue(tmp_path: Path) -> None:
    # The classic queue's variant runs in tests/services/test_poison_proof.py.
    tally = faults.undecodable_quorum(tmp_path, short=True)
    _check(tally)
    assert tally["connection_aborts"] == 0 and tally["dead_letters_left"] == 0


@pytest.mark.timeout(300)
def test_reply_to_copies_that_cannot_be_made(tmp_path: Path) -> None:
    tally = faults.bad_reply_copy(tmp_path, short=True)
    _check(tally)
    assert tally["left_in_queue"] == 0
