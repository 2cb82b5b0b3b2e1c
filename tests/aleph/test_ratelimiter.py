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
