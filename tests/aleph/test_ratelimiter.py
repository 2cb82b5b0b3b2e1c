"""The process-wide rate limiter: even pacing across threads, shared per catalogue."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from edeposit.amqp.catalogue.ratelimiter import RateLimiter, process_limiter


def test_calls_are_spaced_across_threads() -> None:
    limiter = RateLimiter(50.0)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            limiter.wait()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps.sort()
    assert len(stamps) == 20
    assert stamps[-1] - started >= 19 / 50 * 0.95  # 20 calls need 19 intervals
    gaps = [later - earlier for earlier, later in itertools.pairwise(stamps)]
    assert min(gaps) >= 1 / 50 * 0.5  # never a burst (scheduler jitter allowed)


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


def test_process_limiter_is_shared_per_origin_and_only_tightens() -> None:
    first = process_limiter("http://catalogue.test:8080/X", 5.0)
    assert process_limiter("HTTP://Catalogue.test:8080", 10.0) is first
    assert first.rate == pytest.approx(5.0)  # a looser limit never loosens it
    process_limiter("http://catalogue.test:8080/aleph-cgi/e-deposit", 2.0)
    assert first.rate == pytest.approx(2.0)
    assert process_limiter("http://other.test:8080", 5.0) is not first


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
