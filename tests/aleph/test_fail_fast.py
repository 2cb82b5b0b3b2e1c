"""Failing fast while the catalogue is down: a deadline per request, a circuit breaker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from edeposit.amqp.aleph import CountRequest, CountResult, ISBNQuery
from edeposit.amqp.catalogue import deadline
from edeposit.amqp.catalogue.breaker import CircuitBreaker
from edeposit.amqp.catalogue.service import AlephService
from edeposit.amqp.emulator import AlephEmulator
from edeposit.amqp.errors import AlephTimeoutError, AlephUnavailableError

from .conftest import RAYMOND_ISBN, service_settings

COUNT = CountRequest(ISBNQuery(RAYMOND_ISBN))


@pytest.fixture
def emulator() -> Iterator[AlephEmulator]:
    with AlephEmulator() as running:  # the default sample corpus
        yield running


def test_a_hung_catalogue_answers_within_the_request_deadline(emulator: AlephEmulator) -> None:
    emulator.set_faults(hang_seconds=30.0)
    settings = service_settings(
        emulator,
        ALEPH_TIMEOUT=20.0,
        ALEPH_RETRIES=3,
        ALEPH_REQUEST_DEADLINE=0.5,
        ALEPH_CIRCUIT_FAILURES=0,
    )
    with AlephService(settings) as service, pytest.raises(AlephTimeoutError) as caught:
        service.handle(COUNT)
    # One attempt, cut at the deadline instead of 4 attempts of 20 s each.
    assert emulator.request_count == 1
    assert "ALEPH_REQUEST_DEADLINE" in str(caught.value)


def test_the_circuit_opens_after_failures_in_a_row_and_fails_at_once(
    emulator: AlephEmulator,
) -> None:
    emulator.set_faults(drop_rate=1.0)
    settings = service_settings(
        emulator, ALEPH_RETRIES=1, ALEPH_CIRCUIT_FAILURES=3, ALEPH_CIRCUIT_RESET=60.0
    )
    with AlephService(settings) as service:
        for _ in range(2):  # 2 attempts each: the circuit opens on the third failure
            with pytest.raises(Exception):  # noqa: B017 - the transport error itself
                service.handle(COUNT)
        asked = emulator.request_count
        assert asked == 3  # the second request's retry was not made: the circuit opened
        with pytest.raises(AlephUnavailableError, match="failed 3 times in a row"):
            service.handle(COUNT)
        assert emulator.request_count == asked  # failed at once, the catalogue not asked


def test_a_probe_closes_the_circuit_when_the_catalogue_is_back(
    emulator: AlephEmulator,
) -> None:
    emulator.set_faults(drop_rate=1.0)
    settings = service_settings(
        emulator, ALEPH_RETRIES=0, ALEPH_CIRCUIT_FAILURES=1, ALEPH_CIRCUIT_RESET=0.2
    )
    with AlephService(settings) as service:
        with pytest.raises(Exception):  # noqa: B017
            service.handle(COUNT)
        with pytest.raises(AlephUnavailableError):
            service.handle(COUNT)
        emulator.clear_faults()
        breaker = service.xservices.breaker
        assert breaker.is_open
        opened = breaker._opened_at
        assert opened is not None
        breaker._opened_at = opened - 1.0  # the reset time has passed
        assert service.handle(COUNT) == CountResult(1)  # the probe
        assert not breaker.is_open


def test_only_one_probe_at_a_time() -> None:
    breaker = CircuitBreaker("test", failures=1, reset_after=0.0)
    breaker.failed()
    assert breaker.is_open
    breaker.before_call("first")  # the probe goes through
    with pytest.raises(AlephUnavailableError):
        breaker.before_call("second")  # others still fail at once
    breaker.failed()  # the probe failed: open again
    assert breaker.is_open
    breaker.before_call("third")  # a new probe after the reset time (0 here)
    breaker.succeeded()
    assert not breaker.is_open
    breaker.before_call("fourth")


def test_a_disabled_breaker_never_opens() -> None:
    breaker = CircuitBreaker("test", failures=0, reset_after=60.0)
    for _ in range(100):
        breaker.failed()
    breaker.before_call("call")
    assert not breaker.is_open


def test_the_deadline_is_per_block_and_restored() -> None:
    assert deadline.remaining() is None
    with deadline.request_deadline(5.0):
        left = deadline.remaining()
        assert left is not None and 4.0 < left <= 5.0
        with pytest.raises(AlephTimeoutError, match="5 s"):
            deadline.check("call", needed=10.0)
    assert deadline.remaining() is None
    deadline.check("call", needed=1e9)  # without a deadline nothing is out of time
