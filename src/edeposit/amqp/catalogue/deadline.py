"""The deadline of one request's catalogue work: every call and retry fits inside it.

A search is several X-Services calls, each retried with backoff; without a bound, a
hung catalogue would hold a worker for attempts times timeout. :func:`request_deadline`
sets the time the current thread's request must be done by; :func:`remaining` gives
what is left for the next call's timeouts, and :func:`check` fails the work once it is
gone, as an :class:`~edeposit.amqp.errors.AlephTimeoutError`.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator

from edeposit.amqp.errors import AlephTimeoutError

__all__ = ["check", "remaining", "request_deadline"]

#: Monotonic time by which the current request's catalogue work must end (None: no bound).
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "catalogue_deadline", default=None
)
#: The seconds the current deadline was set to, for messages.
_budget: contextvars.ContextVar[float] = contextvars.ContextVar("catalogue_budget", default=0.0)


@contextlib.contextmanager
def request_deadline(seconds: float | None) -> Iterator[None]:
    """Bound the catalogue work inside the block to ``seconds`` (None or 0: no bound)."""
    if not seconds:
        yield
        return
    token = _deadline.set(time.monotonic() + seconds)
    budget = _budget.set(seconds)
    try:
        yield
    finally:
        _deadline.reset(token)
        _budget.reset(budget)


def remaining() -> float | None:
    """Seconds left before the current deadline (never negative); None without one."""
    deadline = _deadline.get()
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())


def check(what: str, *, needed: float = 0.0) -> None:
    """Fail if the deadline has passed, or would before ``needed`` more seconds.

    Raises:
        AlephTimeoutError: the request's catalogue work is out of time.
    """
    left = remaining()
    if left is not None and left <= needed:
        raise AlephTimeoutError(
            f"{what}: the request's deadline of {_budget.get():g} s ran out "
            "(ALEPH_REQUEST_DEADLINE)"
        )
