"""Failing fast while the catalogue is down: a deadline per request, a circuit breaker."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edeposit.amqp.aleph import CountRequest, CountResult, ISBNQuery
from edeposit.amqp.catalogue import deadline
from edeposit.amqp.catalogue.breaker import CircuitBreaker
from edeposit.amqp.catalogue.service import AlephService
from edeposit.amqp.emulator import AlephEmulator
from edeposit.amqp.errors import (
    AlephProtocolError,
    AlephTimeoutError,
    AlephTransportError,
    AlephUnavailableError,
)

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
        emulator, ALEPH_RETRIES=0, ALEPH_CIRCUIT_FAILURES=1, ALEPH_CIRCUIT_RESET=0.3
    )
    with AlephService(settings) as service:
        with pytest.raises(Exception):  # noqa: B017
            service.handle(COUNT)
        with pytest.raises(AlephUnavailableError):
            service.handle(COUNT)
        emulator.clear_faults()
        assert service.xservices.breaker.state == "open"
        time.sleep(0.35)  # the reset time passes
        assert service.handle(COUNT) == CountResult(1)  # the probe
        assert service.xservices.breaker.state == "closed"


def test_a_maintenance_page_during_recovery_does_not_outlive_it(
    emulator: AlephEmulator,
) -> None:
    """The catalogue goes down, its front shows a maintenance page (``200``, a
    ``<!DOCTYPE html>`` page) while it comes back, then it heals: the first request
    after one reset period is served from the catalogue."""
    reset = 0.3
    settings = service_settings(
        emulator, ALEPH_RETRIES=0, ALEPH_CIRCUIT_FAILURES=2, ALEPH_CIRCUIT_RESET=reset
    )
    with AlephService(settings) as service:
        breaker = service.xservices.breaker
        emulator.set_faults(drop_rate=1.0)
        for _ in range(2):
            with pytest.raises(AlephProtocolError):
                service.handle(COUNT)
        assert breaker.state == "open"
        emulator.set_faults(maintenance_rate=1.0)
        for _ in range(3):  # every probe meets the page: open again, each time
            time.sleep(reset + 0.05)
            with pytest.raises(AlephTransportError):
                service.handle(COUNT)
            assert breaker.state == "open"
        emulator.clear_faults()  # healed
        healed = time.monotonic()
        while True:
            try:
                assert service.handle(COUNT) == CountResult(1)
                break
            except AlephUnavailableError:
                time.sleep(0.02)
        assert time.monotonic() - healed <= reset + 0.2
        assert breaker.state == "closed"


def test_only_one_probe_at_a_time() -> None:
    now = [0.0]
    breaker = CircuitBreaker("test", failures=1, reset_after=1.0, clock=lambda: now[0])
    breaker.permit("first").failed()
    assert breaker.state == "open"
    with pytest.raises(AlephUnavailableError, match=r"not asked again for 1.0 s"):
        breaker.permit("early")
    now[0] = 1.0
    probe = breaker.permit("probe")  # the probe goes through
    assert probe.probe and breaker.state == "probing"
    with pytest.raises(AlephUnavailableError):
        breaker.permit("second")  # others still fail at once
    probe.failed(counts=False)  # any failure of a probe opens the circuit again
    assert breaker.state == "open"
    now[0] = 2.0
    breaker.permit("third").succeeded()
    assert breaker.state == "closed"
    breaker.permit("fourth").succeeded()


def test_a_probe_that_never_reports_is_abandoned_after_its_timeout() -> None:
    now = [0.0]
    breaker = CircuitBreaker(
        "test", failures=1, reset_after=1.0, probe_timeout=5.0, clock=lambda: now[0]
    )
    breaker.permit("call").failed()
    now[0] = 1.0
    hung = breaker.permit("hung probe")
    now[0] = 5.9
    with pytest.raises(AlephUnavailableError):
        breaker.permit("while it hangs")
    now[0] = 6.0
    fresh = breaker.permit("next probe")
    assert fresh.probe
    hung.succeeded()  # late: the current probe decides
    assert breaker.state == "probing"
    fresh.succeeded()
    assert breaker.state == "closed"


def test_a_call_that_never_reached_the_catalogue_gives_its_probe_back() -> None:
    now = [0.0]
    breaker = CircuitBreaker("test", failures=1, reset_after=1.0, clock=lambda: now[0])
    breaker.permit("call").failed()
    now[0] = 1.0
    with breaker.permit("overloaded probe"):
        pass  # left without a report and without an error: released
    assert breaker.state == "open"
    breaker.permit("next probe").succeeded()
    assert breaker.state == "closed"


def test_a_disabled_breaker_never_opens() -> None:
    breaker = CircuitBreaker("test", failures=0, reset_after=60.0)
    for _ in range(100):
        breaker.permit("call").failed()
    breaker.permit("call").succeeded()
    assert not breaker.is_open


#: What a call through the breaker may end with: a report, or nothing at all (hung).
OUTCOMES = st.sampled_from(["ok", "fail", "neutral", "release", "hang", "raise"])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(OUTCOMES, st.floats(min_value=0.0, max_value=3.0, allow_nan=False)),
        max_size=40,
    )
)
def test_the_breaker_always_closes_once_the_catalogue_heals(
    history: list[tuple[str, float]],
) -> None:
    """Whatever happened before — failures, probes failing in any way, probes that hang
    for ever, calls that never reached the catalogue — once the catalogue answers again,
    a call is let through within one reset period plus the probe timeout, and its success
    closes the circuit."""
    now = [0.0]
    breaker = CircuitBreaker(
        "test", failures=3, reset_after=1.0, probe_timeout=2.0, clock=lambda: now[0]
    )
    for outcome, pause in history:
        now[0] += pause
        try:
            permit = breaker.permit("call")
        except AlephUnavailableError:
            continue
        if outcome == "ok":
            permit.succeeded()
        elif outcome == "fail":
            permit.failed()
        elif outcome == "neutral":
            permit.failed(counts=False)
        elif outcome == "release":
            permit.release()
        elif outcome == "raise":
            with contextlib.suppress(RuntimeError), permit:
                raise RuntimeError("the call ended with an error of its own")
        # "hang": never reported
    now[0] += breaker.reset_after + breaker.probe_timeout
    breaker.permit("after healing").succeeded()
    assert breaker.state == "closed"
    breaker.permit("and then").succeeded()


def test_the_deadline_is_per_block_and_restored() -> None:
    assert deadline.remaining() is None
    with deadline.request_deadline(5.0):
        left = deadline.remaining()
        assert left is not None and 4.0 < left <= 5.0
        with pytest.raises(AlephTimeoutError, match="5 s"):
            deadline.check("call", needed=10.0)
    assert deadline.remaining() is None
    deadline.check("call", needed=1e9)  # without a deadline nothing is out of time
