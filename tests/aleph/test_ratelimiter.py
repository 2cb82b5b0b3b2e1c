"""The rate limiter: even pacing across threads, a deadline it never makes a caller miss,
one per catalogue origin and service."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from edeposit.amqp.catalogue.guards import Guards
from edeposit.amqp.catalogue.ratelimiter import RateLimiter
from edeposit.amqp.catalogue.service import AlephService
from edeposit.amqp.config import Settings
from edeposit.amqp.errors import AlephOverloadedError


def test_calls_are_spaced_across_threads() -> None:
    # The slots handed out are measured, not the moments threads wake up from their
    # sleep (which a busy machine delays at will): the clock's reading under the
    # limiter's lock plus the delay it returned is exactly the slot a caller got.
    seen = threading.local()

    def clock() -> float:
        seen.now = time.monotonic()
        return float(seen.now)

    limiter = RateLimiter(50.0, clock=clock)
    slots: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            delay = limiter.wait()
            with lock:
                slots.append(seen.now + delay)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    slots.sort()
    assert len(slots) == 20
    assert slots[-1] - started >= 19 / 50 * 0.99  # 20 calls need 19 intervals
    gaps = [later - earlier for earlier, later in itertools.pairwise(slots)]
    assert min(gaps) >= 1 / 50 * 0.99  # never a burst


def test_zero_means_unlimited() -> None:
    slept: list[float] = []
    limiter = RateLimiter(0, sleep=slept.append)
    for _ in range(1000):
        assert limiter.wait() == 0.0
    assert slept == []  # never paused


def test_slot_reserved_without_sleeping_under_the_lock() -> None:
    now = [100.0]
    slept: list[float] = []
    limiter = RateLimiter(2.0, clock=lambda: now[0], sleep=slept.append)
    assert limiter.wait() == 0.0
    assert limiter.wait() == pytest.approx(0.5)
    assert limiter.wait() == pytest.approx(1.0)
    assert slept == [pytest.approx(0.5), pytest.approx(1.0)]


def test_negative_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        RateLimiter(-1)


def test_a_slot_past_the_callers_deadline_is_refused_at_once_and_not_taken() -> None:
    now = [0.0]
    slept: list[float] = []
    limiter = RateLimiter(2.0, clock=lambda: now[0], sleep=slept.append)
    assert limiter.wait(within=1.0) == 0.0
    assert limiter.wait(within=1.0) == pytest.approx(0.5)
    with pytest.raises(AlephOverloadedError, match=r"2 calls/s has no call free for 1.0 s"):
        limiter.wait(within=0.9, what="Aleph find")  # the next slot is 1.0 s away
    assert slept == [pytest.approx(0.5)]  # the refusal did not sleep
    assert limiter.wait(within=5.0) == pytest.approx(1.0)  # the refused slot stayed free


def test_guards_are_per_origin_and_shared_by_the_clients_of_one_service() -> None:
    guards = Guards(rate_limit=5.0, circuit_failures=3, circuit_reset=1.0)
    first = guards.of("http://catalogue.test:8080/X")
    assert guards.of("HTTP://Catalogue.test:8080/aleph-cgi/e-deposit") is first
    assert guards.of("http://other.test:8080") is not first
    settings = Settings(
        ALEPH_URL="http://catalogue.test:8080",
        ALEPH_EXPORT_URL="http://catalogue.test:8080/aleph-cgi/e-deposit",
    )
    with AlephService(settings) as service:
        assert service.exporter.guard is service.xservices.guard
        assert service.limiters() == [service.xservices.limiter]


def test_a_service_follows_its_own_settings_and_a_reload_loosens_the_pace() -> None:
    url = "http://catalogue.test:8080"
    with (
        AlephService(Settings(ALEPH_URL=url, ALEPH_RATE_LIMIT=2.0)) as strict,
        AlephService(Settings(ALEPH_URL=url, ALEPH_RATE_LIMIT=10.0)) as loose,
    ):
        # Two services never share (nor change) each other's limiter or breaker: the
        # one built after a reload of looser settings runs at the looser pace.
        assert strict.xservices.limiter.rate == pytest.approx(2.0)
        assert loose.xservices.limiter.rate == pytest.approx(10.0)
        assert strict.xservices.breaker is not loose.xservices.breaker


def test_set_rate_moves_both_ways_but_never_past_the_licence() -> None:
    now = [0.0]
    limiter = RateLimiter(10.0, clock=lambda: now[0], sleep=lambda _seconds: None)
    limiter.set_rate(2.0)  # a share stricter than the licence paces
    assert limiter.rate == pytest.approx(2.0)
    assert limiter.wait() == 0.0
    assert limiter.wait() == pytest.approx(0.5)
    limiter.set_rate(4.0)  # loosened: the next slot comes at the new pace
    assert limiter.rate == pytest.approx(4.0)
    now[0] = 0.5
    assert limiter.wait() == pytest.approx(0.25)
    limiter.set_rate(50.0)  # looser than the licence: the licence paces
    assert limiter.rate == pytest.approx(10.0)
    assert limiter.licence == pytest.approx(10.0)
    limiter.set_rate(0)  # no share: the licence alone
    assert limiter.rate == pytest.approx(10.0)
    limiter.limit_to(1.0)  # tightening the licence still wins over any share
    limiter.set_rate(5.0)
    assert limiter.rate == pytest.approx(1.0)
    with pytest.raises(ValueError, match="negative"):
        limiter.set_rate(-1)


def test_a_share_alone_paces_an_unlicensed_limiter() -> None:
    limiter = RateLimiter(0, clock=lambda: 0.0, sleep=lambda _seconds: None)
    limiter.set_rate(20.0)
    assert limiter.rate == pytest.approx(20.0)
    assert limiter.licence == 0.0
    limiter.wait()
    assert limiter.wait() == pytest.approx(0.05)
