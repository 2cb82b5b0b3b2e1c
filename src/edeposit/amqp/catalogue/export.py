"""Export: a new publication posted to the catalogue's e-deposit form (ALEPH-XSERVICES.md §10).

:func:`export_form` turns an :class:`EPublication` into the form's fields and refuses,
before anything is sent, a publication without a valid ISBN
(:class:`InvalidISBNException`) or without the fields the form requires
(:class:`ExportException` naming them all). :class:`Exporter` posts the form and reads
the verdict: since 2015 a response header ``Aleph-Info: error…``, before that the text
``Požadavek byl odmítnut`` in the page (:class:`ExportRejectedException`).

A post is not idempotent (a librarian processes each one), so only failures that
certainly happened before the request was sent (connecting) are retried.
"""

from __future__ import annotations

from typing import Self

import urllib3
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from edeposit.amqp.aleph.records import EPublication
from edeposit.amqp.catalogue.breaker import CircuitBreaker
from edeposit.amqp.catalogue.guards import Guard, Guards
from edeposit.amqp.catalogue.ratelimiter import RateLimiter
from edeposit.amqp.catalogue.transport import (
    TRANSPORT_ERRORS,
    HTTPUser,
    Response,
    call_with_retries,
    fetch,
    observed,
)
from edeposit.amqp.config import Settings
from edeposit.amqp.errors import (
    ExportException,
    ExportRejectedException,
    InvalidISBNException,
    OversizedReplyError,
)
from edeposit.amqp.marc.isbn import is_valid_isbn

__all__ = ["REJECTION_TEXT", "Exporter", "export_form", "rejection_of"]

#: How the form said "rejected" before it had the ``Aleph-Info`` header.
REJECTION_TEXT = "Požadavek byl odmítnut"
_REJECTION_BYTES = tuple(REJECTION_TEXT.encode(codec) for codec in ("utf-8", "cp1250", "latin2"))

#: ISBD punctuation the catalogue adds around values; a new record gets it from cataloguers.
_PUNCTUATION = " /:;,"
#: Largest form reply read, in bytes (an HTML page).
_MAX_REPLY = 1024 * 1024

_BOOK_LEADER = "-----nam-a22------a-4500"
#: Binding/form (lower case) → leader, FMT, BAS, medium designation, processor code.
_MEDIA: dict[str, tuple[str, str, str, str, str]] = {
    "online": (_BOOK_LEADER, "BK", "49", "elektronický zdroj", "ox"),
    "cd-rom": (_BOOK_LEADER, "BK", "30", "elektronický zdroj", "ow"),
    "dvd": (_BOOK_LEADER, "BK", "30", "elektronický zdroj", "ow"),
    "mapa": ("-----nem-a22------a-4500", "MP", "30", "kartografický dokument", "ow"),
}
_PRINT = (_BOOK_LEADER, "BK", "30", "", "ow")

#: Form field → the EPublication field it must not be empty in.
_REQUIRED = {
    "P07012001_a": "nazev",
    "P0901210__a": "mistoVydani",
    "P0903210__d": "datumVydani",
    "P0801205__a": "poradiVydani",
    "P1502IST1_b": "zpracovatelZaznamu",
    "P0502010__b": "vazba",
    "P0902210__c": "nakladatelVydavatel",
}
_AUTHOR_FIELDS = ("P1301ZAK__b", "P1302ZAK__c", "P1303ZAK__c")


def _clean(text: str) -> str:
    return text.strip(_PUNCTUATION)


def _checked_isbn(value: str, what: str) -> str:
    isbn = value.strip()
    if not is_valid_isbn(isbn):
        raise InvalidISBNException(f"{what} {isbn!r} is not a valid ISBN-10 or ISBN-13")
    return isbn.upper()


def export_form(epublication: EPublication, *, signature: str) -> dict[str, str]:
    """The e-deposit form's fields for ``epublication``, checked.

    Raises:
        InvalidISBNException: the ISBN (or the set's ISBN) is missing or invalid.
        ExportException: required fields are empty; the message names every one.
    """
    if not epublication.ISBN or not epublication.ISBN[0].strip():
        raise InvalidISBNException("the publication has no ISBN")
    isbn = _checked_isbn(epublication.ISBN[0], "ISBN")
    set_isbn = ""
    if epublication.ISBNSouboruPublikaci and epublication.ISBNSouboruPublikaci[0].strip():
        set_isbn = _checked_isbn(epublication.ISBNSouboruPublikaci[0], "ISBN of the set")
    binding = _clean(epublication.vazba).strip("()").strip()
    leader, fmt, base, medium, processor = _MEDIA.get(binding.lower(), _PRINT)
    authors = [_clean(author.to_string()) for author in epublication.autori[:3]]
    form = {
        "sid": signature,
        "P0100LDR__": leader,
        "P0200FMT__": fmt,
        "P0300BAS__a": base,
        "P0501010__a": isbn,
        "P0502010__b": binding,
        "P0503010__x": _clean(epublication.format),
        "P0504010__d": _clean(epublication.cena),
        "P0601010__a": set_isbn,
        "P0601010__b": f"soubor : {set_isbn}" if set_isbn else "",
        "P07012001_a": _clean(epublication.nazev),
        "P07022001_b": medium,
        "P07032001_e": _clean(epublication.podnazev),
        "P07042001_h": _clean(epublication.castDil),
        "P07052001_i": _clean(epublication.nazevCasti),
        **dict.fromkeys(_AUTHOR_FIELDS, ""),
        **dict(zip(_AUTHOR_FIELDS, authors, strict=False)),
        "P10012252_a": "",
        "P10022252_v": "",
        "P110185640u": epublication.url.strip(),
        "P0901210__a": _clean(epublication.mistoVydani),
        "P0902210__c": _clean(epublication.nakladatelVydavatel),
        "P0903210__d": _clean(epublication.datumVydani),
        "P1401PJM__a": "",
        "P0801205__a": _clean(epublication.poradiVydani),
        "P1501IST1_a": processor,
        "P1502IST1_b": _clean(epublication.zpracovatelZaznamu),
        "P1601ISB__a": isbn,
        "P1801URL__u": epublication.internal_url.strip(),
    }
    missing = [name for key, name in _REQUIRED.items() if not form[key]]
    if binding.lower() == "online" and not form["P0503010__x"]:
        missing.append("format")
    if missing:
        raise ExportException(f"cannot export: required fields are empty: {', '.join(missing)}")
    return form


def rejection_of(reply: Response) -> str | None:
    """Why the form rejected the publication, or ``None`` if it did not."""
    info = reply.headers.get("Aleph-Info", "")
    if info.strip().lower().startswith("error"):
        return f"Aleph-Info: {info.strip()}"
    if any(text in reply.body for text in _REJECTION_BYTES):
        return REJECTION_TEXT
    return None


def _before_sending(error: Exception) -> bool:
    return isinstance(error, NewConnectionError | ConnectTimeoutError)


class Exporter(HTTPUser):
    """Posts publications to the e-deposit form at ``url``; thread-safe.

    Args:
        url: the form's address (``ALEPH_EXPORT_URL``).
        signature: the sender signature sent as ``sid``.
        referer: the ``Referer`` header the form checks.
        timeout: seconds for connecting and for each read.
        retries: extra attempts when connecting fails (the form was not reached).
        backoff: first pause between attempts (doubles, with jitter).
        rate_limit: calls per second at most for this process (0 = unlimited).
        client: a ``urllib3.PoolManager`` to use (and not close); one is made otherwise.
        circuit_failures: transport failures in a row that open the circuit (0: never).
        circuit_reset: seconds an open circuit fails calls at once before a probe.
        limiter: the rate limiter (by default one of ``rate_limit`` for this exporter).
        guard: the rate limiter and breaker to use, shared with other clients of the
            same origin; it replaces ``rate_limit``, ``circuit_*`` and ``limiter``.
    """

    def __init__(
        self,
        url: str,
        *,
        signature: str,
        referer: str,
        timeout: float = 20.0,
        retries: int = 3,
        backoff: float = 0.5,
        rate_limit: float = 5.0,
        client: urllib3.PoolManager | None = None,
        circuit_failures: int = 5,
        circuit_reset: float = 10.0,
        limiter: RateLimiter | None = None,
        guard: Guard | None = None,
    ) -> None:
        super().__init__(client, timeout)
        self.url = url
        self._signature = signature
        self._referer = referer
        self._retries = retries
        self._backoff = backoff
        self.guard = guard or Guard(
            limiter or RateLimiter(rate_limit),
            CircuitBreaker(url, circuit_failures, circuit_reset),
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
        """An exporter configured by the ``ALEPH_*`` settings (its guard from ``guards``,
        else from guards of its own)."""
        guards = guards or Guards.from_settings(settings)
        return cls(
            settings.ALEPH_EXPORT_URL,
            signature=settings.ALEPH_EXPORT_SIGNATURE,
            referer=settings.ALEPH_EXPORT_REFERER,
            timeout=settings.ALEPH_TIMEOUT,
            retries=settings.ALEPH_RETRIES,
            backoff=settings.ALEPH_RETRY_BACKOFF,
            rate_limit=settings.ALEPH_RATE_LIMIT,
            circuit_failures=settings.ALEPH_CIRCUIT_FAILURES,
            circuit_reset=settings.ALEPH_CIRCUIT_RESET,
            client=client,
            guard=guards.of(settings.ALEPH_EXPORT_URL),
        )

    def export(self, epublication: EPublication) -> str:
        """Post ``epublication``; return the ISBN the form accepted.

        Raises:
            InvalidISBNException: the ISBN is missing or invalid (nothing was sent).
            ExportException: a required field is empty (nothing was sent), or the form
                could not be reached or answered with an HTTP error.
            ExportRejectedException: the form rejected the publication.
        """
        form = export_form(epublication, signature=self._signature)

        def attempt() -> Response:
            return fetch(
                self._client,
                "POST",
                self.url,
                timeout=self.timeout,
                max_bytes=_MAX_REPLY,
                data=form,
                headers={"Referer": self._referer},
            )

        def with_retries() -> Response:
            try:
                return call_with_retries(
                    attempt,
                    retries=self._retries,
                    backoff=self._backoff,
                    retryable=_before_sending,
                    what="Aleph export",
                    guard=self.guard,
                    observer=self.observer,
                    on_retry=lambda: self.observer.retried("export"),
                )
            except (*TRANSPORT_ERRORS, OversizedReplyError) as error:
                raise ExportException(f"export to {self.url} failed: {error!r}") from error

        reply = observed(self.observer, "export", with_retries)
        reason = rejection_of(reply)
        if reason is not None:
            raise ExportRejectedException(
                f"the e-deposit form rejected {form['P0501010__a']}: {reason}"
            )
        if not 200 <= reply.status < 300:
            raise ExportException(f"the e-deposit form answered HTTP status {reply.status}")
        return form["P0501010__a"]
