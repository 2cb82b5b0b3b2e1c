"""Short versions of ``bench/hostile_scenarios.py``: no sender and no sick catalogue can
take the fleet down. Every scenario runs daemons on the session's private RabbitMQ node
(a connection the broker closes there harms nobody else) and counts the valid requests
sent alongside per UUID."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench import hostile_scenarios
from bench.brokers import PrivateNode
from bench.traffic import Tally

from edeposit.amqp import settings


@pytest.fixture(autouse=True)
def _defaults() -> None:
    settings.reload()


def _check(tally: Tally) -> None:
    print(tally)  # the figures, shown with -s or on failure
    assert tally["sent"] > 0
    assert tally["lost"] == 0, tally
    assert tally["answered"] == tally["sent"], tally
    assert tally["duplicated"] == 0, tally
    assert "broken" not in tally, tally["broken"]


@pytest.mark.timeout(240)
def test_answers_that_would_not_fit_a_frame(tmp_path: Path, private_node: PrivateNode) -> None:
    tally = hostile_scenarios.frame_poison(tmp_path, short=True, node=private_node)
    _check(tally)
    assert tally["connections_lost"] == 0 and tally["frame_errors"] == 0
    assert tally["longest_log_line"] < 2000, "a log line quoted the request at length"


@pytest.mark.timeout(240)
def test_reply_to_the_services_own_queues(tmp_path: Path, private_node: PrivateNode) -> None:
    _check(hostile_scenarios.reply_to_own_queue(tmp_path, short=True, node=private_node))


@pytest.mark.timeout(240)
def test_the_breaker_closes_after_a_maintenance_page(
    tmp_path: Path, private_node: PrivateNode
) -> None:
    tally = hostile_scenarios.breaker_recovery(tmp_path, short=True, node=private_node)
    _check(tally)
    assert tally["unavailable_after_reset"] == 0


@pytest.mark.timeout(240)
def test_overload_keeps_the_catalogue_busy_without_false_unavailability(
    tmp_path: Path, private_node: PrivateNode
) -> None:
    tally = hostile_scenarios.overload(tmp_path, short=True, node=private_node)
    print(tally)
    assert "broken" not in tally, tally
    assert tally["catalogue_busy"] >= 0.9
    assert "AlephUnavailableError" not in tally["outcomes"]


@pytest.mark.timeout(240)
def test_requests_given_up_on_are_answered(tmp_path: Path, private_node: PrivateNode) -> None:
    _check(hostile_scenarios.given_up(tmp_path, short=True, node=private_node))


@pytest.mark.timeout(240)
def test_a_crashed_io_loop_fails_the_daemon(tmp_path: Path, private_node: PrivateNode) -> None:
    tally = hostile_scenarios.io_crash(tmp_path, short=True, node=private_node)
    _check(tally)
    assert tally["crashed_exit_code"] == 1


@pytest.mark.timeout(300)
def test_a_forged_internal_header_is_not_trusted(tmp_path: Path, private_node: PrivateNode) -> None:
    _check(hostile_scenarios.forged_revived(tmp_path, short=True, node=private_node))
