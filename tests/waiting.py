"""Waiting for events in tests: deadlines as timeouts, never as measurements.

A test that asserts behaviour waits for the event it expects with a generous timeout
(well short of the delay the test rules out) instead of asserting on elapsed seconds,
which a loaded machine turns into a failure.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Whether ``condition`` came true within ``timeout`` seconds (polled)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def returns_within(seconds: float, call: Callable[[], T]) -> T:
    """``call()`` on a thread: its result or exception, or a failure after ``seconds``.

    Raises:
        TimeoutError: ``call`` had not returned after ``seconds`` (it runs on, in a
            daemon-like worker the test no longer waits for).
    """
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return executor.submit(call).result(timeout=seconds)
    except concurrent.futures.TimeoutError:
        raise TimeoutError(f"did not return within {seconds:g} s") from None
    finally:
        executor.shutdown(wait=False)
