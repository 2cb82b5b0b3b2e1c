"""One paced, size-bounded HTTP exchange, and a retry loop with backoff and jitter.

Both the X-Services client and the export form use these: every attempt passes the
catalogue's circuit breaker, then waits for its rate limiter within the request's
deadline (:func:`call_with_retries`), streams the reply and stops reading past a byte
limit (so a hostile or broken server cannot fill memory), and the caller decides which
failures are worth another attempt. Only what happened in an HTTP exchange tells the
breaker about the catalogue: a call that never started (no slot of the budget in time,
the deadline gone) leaves it as it was.

HTTP goes through urllib3's thread-safe connection pools: one pool for every worker
thread, its connections kept alive between calls.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    LocationValueError,
    NewConnectionError,
    ProxyError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError

from edeposit.amqp.catalogue import deadline
from edeposit.amqp.catalogue.guards import Guard
from edeposit.amqp.catalogue.observer import NO_OBSERVER, CatalogueObserver
from edeposit.amqp.errors import (
    AlephConnectError,
    AlephProtocolError,
    AlephReplyError,
    AlephTimeoutError,
    AlephTransportError,
    OversizedReplyError,
)

__all__ = [
    "TRANSPORT_ERRORS",
    "HTTPUser",
    "OversizedReplyError",
    "Response",
    "backoff_delay",
    "call_with_retries",
    "fetch",
    "observed",
    "transport_error",
]

logger = logging.getLogger(__name__)

#: Longest pause between two attempts, in seconds.
MAX_BACKOFF = 30.0
#: No call starts with less of the request's deadline left than this, in seconds.
MIN_CALL_TIME = 0.5

T = TypeVar("T")

#: Failures of one HTTP exchange (connect, timeout, protocol, decoding, bad URL).
TRANSPORT_ERRORS = (HTTPError, LocationValueError)


def transport_error(error: Exception, what: str) -> AlephTransportError:
    """The project's error for a failed HTTP exchange: connect, timeout or protocol.

    ``NewConnectionError`` derives from urllib3's ``ConnectTimeoutError`` for backwards
    compatibility, so it is tested first: a refused connection is not a timeout.
    """
    message = f"{what}: {type(error).__name__}: {error}"
    if isinstance(error, NewConnectionError | SSLError | ProxyError | LocationValueError):
        return AlephConnectError(message)
    if isinstance(error, ConnectTimeoutError | Urllib3TimeoutError):
        return AlephTimeoutError(message)
    return AlephProtocolError(message)


@dataclasses.dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response read to the end: status, headers and body bytes."""

    status: int
    #: Header names are case-insensitive (urllib3's ``HTTPHeaderDict``).
    headers: Mapping[str, str]
    body: bytes


def fetch(
    client: urllib3.PoolManager,
    method: str,
    url: str,
    *,
    max_bytes: int,
    timeout: float | None = None,
    params: Mapping[str, str] | None = None,
    data: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Make one request, reading at most ``max_bytes`` (paced by the caller:
    :func:`call_with_retries`).

    ``params`` go into the URL's query string, ``data`` into an
    ``application/x-www-form-urlencoded`` body. ``timeout`` (connect and read) is cut to
    what is left of the request's deadline.

    Raises:
        OversizedReplyError: the reply announced or delivered more than ``max_bytes``.
        urllib3.exceptions.HTTPError: the request failed (connect, timeout, protocol…).
        urllib3.exceptions.LocationValueError: the URL cannot be used.
    """
    left = deadline.remaining()
    if left is not None:
        deadline.check(f"{method} {url}")
        timeout = min(timeout, left) if timeout else left
    # urllib3 puts ``fields`` into the query string of a GET and into the body otherwise.
    options: dict[str, Any] = (
        {"fields": data, "encode_multipart": False} if data is not None else {"fields": params}
    )
    if timeout:
        options["timeout"] = urllib3.Timeout(connect=timeout, read=timeout)
    response = client.request(method, url, headers=headers, preload_content=False, **options)
    try:
        announced = response.headers.get("Content-Length", "")
        if announced.isdigit() and int(announced) > max_bytes:
            raise OversizedReplyError(f"reply announces {announced} bytes, limit {max_bytes}")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.stream(65536):  # decoded: a compression bomb counts in full
            size += len(chunk)
            if size > max_bytes:
                raise OversizedReplyError(f"reply exceeds the limit of {max_bytes} bytes")
            chunks.append(chunk)
        return Response(response.status, response.headers, b"".join(chunks))
    except BaseException:
        response.close()  # never hand a half-read connection back to the pool
        raise
    finally:
        response.release_conn()


def backoff_delay(backoff: float, attempt: int) -> float:
    """Pause before retry ``attempt`` (0-based): doubling from ``backoff``, half of it random.

    The random half ("equal jitter") keeps workers that failed together from retrying
    together.
    """
    ceiling = min(MAX_BACKOFF, backoff * 2.0**attempt)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def call_with_retries(
    call: Callable[[], T],
    *,
    retries: int,
    backoff: float,
    retryable: Callable[[Exception], bool],
    what: str,
    guard: Guard,
    observer: CatalogueObserver = NO_OBSERVER,
    on_retry: Callable[[], None] | None = None,
) -> T:
    """Run ``call``; after a failure ``retryable`` accepts, try again up to ``retries`` times.

    Each attempt passes the catalogue's ``guard``: its circuit breaker (while open, the
    call fails at once) and its rate limiter, whose wait counts against the request's
    deadline. No attempt starts that cannot finish in time, and no retry is slept for
    that could not.

    Raises:
        AlephUnavailableError: the circuit is open.
        AlephOverloadedError: the rate limit had no call free before the deadline.
        AlephTimeoutError: the request's deadline ran out.
    """
    attempt = 0
    while True:
        permit = guard.breaker.permit(what)
        try:
            pace(guard, what, observer)
        except BaseException:
            permit.release()  # the catalogue was not asked: nothing learnt
            raise
        try:
            result = call()
        except Exception as error:
            permit.failed(counts=_is_catalogue_failure(error))
            if attempt >= retries or not retryable(error) or guard.breaker.is_open:
                raise
            delay = backoff_delay(backoff, attempt)
            deadline.check(what, needed=delay + MIN_CALL_TIME)
            attempt += 1
            logger.warning(
                "%s failed (%s: %s); retry %d of %d in %.2f s",
                what,
                type(error).__name__,
                error,
                attempt,
                retries,
                delay,
            )
            if on_retry is not None:
                on_retry()
            time.sleep(delay)
        except BaseException:
            permit.failed()
            raise
        else:
            permit.succeeded()
            return result


def pace(guard: Guard, what: str, observer: CatalogueObserver = NO_OBSERVER) -> None:
    """Wait for the rate limiter's next slot, if it comes while the request's deadline
    still leaves time for the call itself.

    Raises:
        AlephOverloadedError: no slot comes in time (none is taken).
        AlephTimeoutError: the deadline leaves no time for a call.
    """
    left = deadline.remaining()
    within = None if left is None else left - MIN_CALL_TIME
    observer.rate_limited(guard.limiter.wait(within, what))
    deadline.check(what, needed=MIN_CALL_TIME / 2)


def _is_catalogue_failure(error: Exception) -> bool:
    """A failure that says the catalogue is unwell: no connection, a timeout, a broken
    exchange, an error status or a page that is not X-Services XML (not a wrong URL, nor
    a reply too large for the limit, which says nothing about its health)."""
    if isinstance(error, LocationValueError | OversizedReplyError):
        return False
    return isinstance(error, HTTPError | AlephProtocolError | AlephTimeoutError | AlephReplyError)


def observed(observer: CatalogueObserver, op: str, call: Callable[[], T]) -> T:
    """``call()``, with its duration and outcome (``ok`` or the error's class) told."""
    started = time.perf_counter()
    try:
        result = call()
    except Exception as error:
        observer.call_finished(op, type(error).__name__, time.perf_counter() - started)
        raise
    observer.call_finished(op, "ok", time.perf_counter() - started)
    return result


class HTTPUser:
    """Base of the catalogue's clients: a connection pool given (kept open) or owned (closed).

    A context manager; :meth:`close` closes only a client it made itself. Its
    :attr:`observer` hears about every call (see :mod:`~edeposit.amqp.catalogue.observer`).
    """

    observer: CatalogueObserver = NO_OBSERVER

    def __init__(
        self,
        client: urllib3.PoolManager | None,
        timeout: float,
        connections: int = 20,
    ) -> None:
        self._owns_client = client is None
        #: Seconds for connecting and for each read of one call.
        self.timeout = timeout
        # As many kept-alive connections per host as threads may use at once: fewer
        # would close and reopen connections under load. Retries are ours, not urllib3's.
        self._client = (
            client
            if client is not None
            else urllib3.PoolManager(
                maxsize=connections,
                retries=False,
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
            )
        )

    def close(self) -> None:
        """Close the HTTP connections (only those of a client this object made)."""
        if self._owns_client:
            self._client.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
