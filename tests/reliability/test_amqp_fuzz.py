"""A hostile client at the AMQP level, for about a minute (``bench/amqp_fuzz.py`` searches
longer): Hypothesis writes header tables of every field type up to the frame's size, odd
``UUID``, ``reply_to`` and ``correlation_id`` values and bodies up to past the size
limit; after each batch, the valid requests sent alongside were answered exactly once
and the daemon still runs and consumes. On the session's private node."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest
from bench.amqp_fuzz import Fuzzer, hostile_messages
from bench.brokers import PrivateNode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edeposit.amqp import settings as settings_module


@pytest.fixture
def fuzzer(private_node: PrivateNode) -> Iterator[Fuzzer]:
    settings_module.reload()
    with tempfile.TemporaryDirectory(prefix="edeposit-fuzz-") as tmp:
        running = Fuzzer(Path(tmp), private_node)
        try:
            yield running
        finally:
            print(running.figures())  # shown with -s
            running.close()


@pytest.mark.timeout(300)
def test_no_message_stops_the_daemon_or_costs_a_valid_answer(fuzzer: Fuzzer) -> None:
    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(hostile=st.lists(hostile_messages(), min_size=1, max_size=5))
    def batch(hostile: list[tuple[bytes, pika.BasicProperties]]) -> None:
        fuzzer.batch(hostile)

    batch()
    figures = fuzzer.figures()
    assert figures["batches"] >= 30 and figures["daemon_alive"]
    assert figures["connections_lost"] == 0, "the broker closed a connection of the daemon"
    assert figures["longest_log_line"] < 2000, "a log line quoted a message at length"
