"""The Aleph X-Services HTTP client: ``find``, ``present`` and ``ill_get_doc``.

One client serves every thread of a process (``urllib3.PoolManager`` pools and reuses
connections and is thread-safe; the rate limiter and circuit breaker are those of the
catalogue's origin, :mod:`~edeposit.amqp.catalogue.guards`). Each call waits for the
rate limit, has explicit timeouts and a bounded reply size, and is parsed by the
hardened parser. Transport failures and replies that are not XML are retried with
backoff and jitter; an ``<error>`` the catalogue chose to send never is.

Errors are the project's (:mod:`edeposit.amqp.errors`): a subclass of
``AlephTransportError`` when the catalogue cannot be reached (``AlephConnectError``), is
too slow (``AlephTimeoutError``) or answers something that is not X-Services XML
(``AlephProtocolError``), ``AlephReplyError`` for XML of the wrong shape, and the
``AlephException`` subclasses named by :func:`~edeposit.amqp.catalogue.replies.error_for`
for the catalogue's own errors.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from typing import Self

import urllib3
from lxml import etree
from urllib3.exceptions import LocationValueError

from edeposit.amqp.catalogue import replies
from edeposit.amqp.catalogue.breaker import CircuitBreaker
from edeposit.amqp.catalogue.guards import Guard, Guards
from edeposit.amqp.catalogue.ratelimiter import RateLimiter
from edeposit.amqp.catalogue.replies import FoundSet, PresentedRecord
from edeposit.amqp.catalogue.transport import (
    TRANSPORT_ERRORS,
    HTTPUser,
    call_with_retries,
    fetch,
    observed,
    transport_error,
)
from edeposit.amqp.config import Settings
from edeposit.amqp.errors import (
    AlephProtocolError,
    AlephReplyError,
    MalformedXMLError,
    OversizedReplyError,
    RefusedXMLError,
)
from edeposit.amqp.marc.safe_xml import local_name, parse_xml

__all__ = ["PRESENT_CHUNK", "XServicesClient"]

logger = logging.getLogger(__name__)

#: Most records one ``present`` call asks for (the practical server maximum).
PRESENT_CHUNK = 100
#: Replies that are XML but not X-Services (a proxy's error page) are retried like HTML.
_PAGE_ROOTS = frozenset({"html", "HTML"})


def _retryable(error: Exception) -> bool:
    """Whether another attempt may help: a transport failure or a reply that is not XML."""
    if isinstance(error, LocationValueError):  # a wrong ALEPH_URL stays wrong
        return False
    return isinstance(error, AlephProtocolError | urllib3.exceptions.HTTPError)


def _page_heading(root: etree._Element) -> str:
    for element in root.iter():
        if local_name(element) in {"h1", "title"} and (element.text or "").strip():
            return replies.shortened((element.text or "").strip(), 100)
    return ""


def _nine_digits(doc_number: int | str) -> str:
    text = str(doc_number).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise ValueError(f"system number must be at most 9 digits, not {doc_number!r}")
    return text.zfill(9)


class XServicesClient(HTTPUser):
    """A thread-safe client of one catalogue's X-Services (``{base_url}/X``).

    Args:
        base_url: the catalogue's address, e.g. ``http://aleph.nkp.cz``.
        timeout: seconds for connecting and for each read.
        retries: extra attempts after a transport failure or a non-XML reply.
        backoff: first pause between attempts (doubles each time, with jitter).
        rate_limit: calls per second at most for this process (0 = unlimited).
        max_reply_bytes: longest reply read; a longer one is refused.
        client: a ``urllib3.PoolManager`` to use (and not close); one is made otherwise.
        circuit_failures: transport failures in a row that open the circuit (0: never).
        circuit_reset: seconds an open circuit fails calls at once before a probe.
        limiter: the rate limiter (by default one of ``rate_limit`` for this client).
        guard: the rate limiter and breaker to use, shared with other clients of the
            same origin (a service's :class:`~edeposit.amqp.catalogue.guards.Guards`);
            it replaces ``rate_limit``, ``circuit_*`` and ``limiter``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 20.0,
        retries: int = 3,
        backoff: float = 0.5,
        rate_limit: float = 5.0,
        max_reply_bytes: int = 32 * 1024 * 1024,
        client: urllib3.PoolManager | None = None,
        circuit_failures: int = 5,
        circuit_reset: float = 10.0,
        limiter: RateLimiter | None = None,
        guard: Guard | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._x_url = self.base_url + "/X"
        self._retries = retries
        self._backoff = backoff
        self._max_bytes = max_reply_bytes
        super().__init__(client, timeout)
        self.guard = guard or Guard(
            limiter or RateLimiter(rate_limit),
            CircuitBreaker(self.base_url, circuit_failures, circuit_reset),
        )
        self.limiter = self.guard.limiter
        self.breaker = self.guard.breaker

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        client: urllib3.PoolManager | None = None,
        guards: Guards | None = None,
    ) -> Self:
        """A client configured by the ``ALEPH_*`` settings (its guard from ``guards``,
        else from guards of its own)."""
        guards = guards or Guards.from_settings(settings)
        return cls(
            settings.ALEPH_URL,
            timeout=settings.ALEPH_TIMEOUT,
            retries=settings.ALEPH_RETRIES,
            backoff=settings.ALEPH_RETRY_BACKOFF,
            rate_limit=settings.ALEPH_RATE_LIMIT,
            circuit_failures=settings.ALEPH_CIRCUIT_FAILURES,
            circuit_reset=settings.ALEPH_CIRCUIT_RESET,
            max_reply_bytes=settings.ALEPH_MAX_REPLY_BYTES,
            client=client,
            guard=guards.of(settings.ALEPH_URL),
        )

    def __repr__(self) -> str:
        return f"XServicesClient({self.base_url!r}, rate_limit={self.limiter.rate:g})"

    # --- one call -------------------------------------------------------------------

    def call(self, op: str, params: Mapping[str, str], *, expect: str) -> etree._Element:
        """Call ``op`` and return the reply's root, whose name is ``expect`` or ``login``.

        ``<error>`` elements are left for the caller: what they mean depends on the op.

        Raises:
            AlephTransportError: unreachable, timed out, or not XML after all retries.
            AlephReplyError: XML of another shape, a DOCTYPE, or a reply over the limit.
        """
        query = {"op": op, **params}

        def attempt() -> etree._Element:
            return self._attempt(op, query, expect)

        def with_retries() -> etree._Element:
            try:
                return call_with_retries(
                    attempt,
                    retries=self._retries,
                    backoff=self._backoff,
                    retryable=_retryable,
                    what=f"Aleph {op}",
                    guard=self.guard,
                    observer=self.observer,
                    on_retry=lambda: self.observer.retried(op),
                )
            except TRANSPORT_ERRORS as error:
                raise transport_error(error, f"Aleph {op} at {self.base_url}") from error

        return observed(self.observer, op, with_retries)

    def _attempt(self, op: str, query: Mapping[str, str], expect: str) -> etree._Element:
        try:
            reply = fetch(
                self._client,
                "GET",
                self._x_url,
                timeout=self.timeout,
                max_bytes=self._max_bytes,
                params=query,
            )
        except OversizedReplyError as error:
            raise OversizedReplyError(f"Aleph {op}: {error}") from error
        if reply.status != HTTPStatus.OK:
            raise AlephProtocolError(f"Aleph {op}: HTTP status {reply.status}")
        try:
            root = parse_xml(reply.body, max_bytes=self._max_bytes)
        except MalformedXMLError as error:
            raise AlephProtocolError(f"Aleph {op}: reply is not XML ({error})") from error
        except RefusedXMLError as error:
            raise AlephReplyError(f"Aleph {op}: reply refused: {error}") from error
        name = local_name(root)
        if name in _PAGE_ROOTS:
            raise AlephProtocolError(f"Aleph {op}: an HTML page: {_page_heading(root)!r}")
        if name not in (expect, "login"):
            shown = replies.shortened(name, 60)
            raise AlephReplyError(f"Aleph {op}: reply root <{shown}>, expected <{expect}>")
        logger.debug("Aleph %s %s → <%s>", op, dict(query), name)
        return root

    # --- operations -----------------------------------------------------------------

    def find(self, base: str, request: str, *, code: str | None = None) -> FoundSet:
        """Run a CCL ``request`` in ``base`` (``code`` = the index when request is a term).

        Raises:
            AlephException: (or a subclass) the catalogue's ``<error>`` other than no hits.
        """
        params = {"base": base, "request": request}
        if code is not None:
            params["code"] = code
        return replies.read_find(self.call("find", params, expect="find"))

    def present(self, set_number: str, first: int, last: int) -> tuple[list[PresentedRecord], bool]:
        """Entries ``first``…``last`` of a set (at most :data:`PRESENT_CHUNK`) in set order,
        and whether the catalogue said the set ended sooner.
        """
        if not 1 <= first <= last or last - first >= PRESENT_CHUNK:
            raise ValueError(f"present range {first}-{last} must be 1-based, ≤ {PRESENT_CHUNK}")
        params = {"set_number": set_number, "set_entry": f"{first:09d}-{last:09d}"}
        return replies.read_present(self.call("present", params, expect="present"))

    def present_all(
        self, found: FoundSet, limit: int | None = None, *, start: int = 1
    ) -> Iterator[PresentedRecord]:
        """Entries ``start``… of ``found`` (up to entry ``limit``), in chunks of 100.

        Never asks past ``no_entries``; stops early when the catalogue says the set ended.
        """
        end = found.no_entries if limit is None else min(found.no_entries, limit)
        for first in range(start, end + 1, PRESENT_CHUNK):
            last = min(first + PRESENT_CHUNK - 1, end)
            records, ended = self.present(found.set_number, first, last)
            yield from records
            if ended:
                return

    def ill_get_doc(self, doc_number: int | str, library: str) -> etree._Element:
        """One record as MARC 21 slim: the ``<record>`` element.

        Raises:
            LibraryNotFoundException: the catalogue does not know ``library``.
            DocumentNotFoundException: it has no such document.
        """
        params = {"doc_number": _nine_digits(doc_number), "library": library}
        root = self.call("ill_get_doc", params, expect="ill-get-doc")
        return self._single_record(root, "ill_get_doc")

    def _single_record(self, root: etree._Element, op: str) -> etree._Element:
        errors = replies.errors_of(root)
        if errors or local_name(root) == "login":
            raise replies.error_for(op, local_name(root), "; ".join(errors))
        for child in root:
            if local_name(child) == "record":
                return child
        raise AlephReplyError(f"Aleph {op}: reply holds no <record>")
