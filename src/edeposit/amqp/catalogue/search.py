"""Queries → X-Services calls: how each query type is searched and counted.

Word and number queries run ``find`` in their index (table :data:`INDEXES`) and fetch
the set with ``present`` in chunks of 100; counting is that one ``find``. A
``DocumentQuery`` reads its one record with ``ill_get_doc`` (its ``library`` is what that
op takes); counting it is 1 or 0. The query classes stay pure values: everything that
does I/O for them lives here, keyed by their type.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

from lxml import etree

from edeposit.amqp.aleph.alephrecord import AlephRecord
from edeposit.amqp.aleph.queries import (
    AuthorQuery,
    DocumentQuery,
    GenericQuery,
    ICZQuery,
    ISBNQuery,
    ISSNQuery,
    PublisherQuery,
    Query,
    TitleQuery,
)
from edeposit.amqp.catalogue.replies import FoundSet, PresentedRecord
from edeposit.amqp.catalogue.xservices import XServicesClient
from edeposit.amqp.errors import (
    AlephException,
    AlephReplyError,
    AlephTransportError,
    DocumentNotFoundException,
    InvalidAlephFieldException,
    MessageError,
)
from edeposit.amqp.marc.issn import checked_issn
from edeposit.amqp.marc.periodical import RECORD_TAGS
from edeposit.amqp.marc.record import find_record_element, read_record

__all__ = ["INDEXES", "ccl_request", "count", "fetch_document", "search"]

logger = logging.getLogger(__name__)

#: Query type → (base, index code, search term). ``GenericQuery`` names its own index;
#: an ``ISSNQuery``'s ISSN is checked first (``InvalidISSNError``, the catalogue unasked).
INDEXES: dict[type[Query], Callable[[Any], tuple[str, str, str]]] = {
    ISBNQuery: lambda query: (query.base, "sbn", query.ISBN),
    ISSNQuery: lambda query: (query.base, "ssn", checked_issn(query.ISSN)),
    AuthorQuery: lambda query: (query.base, "wau", query.author),
    PublisherQuery: lambda query: (query.base, "wpb", query.publisher),
    TitleQuery: lambda query: (query.base, "wtl", query.title),
    ICZQuery: lambda query: (query.base, "icz", query.icz),
    GenericQuery: lambda query: (query.base, query.field, query.phrase),
}

#: Aleph index codes are at most five letters or digits (tab00 ``X(5)``).
_INDEX_CODE = re.compile(r"[A-Za-z0-9]{2,5}")
#: Characters with a meaning in CCL, and control characters: never part of a term.
_CCL_SYNTAX = re.compile(r"[()=\"\x00-\x1f\x7f]+")
#: CCL's boolean operators; as words inside a term they would change the search.
_OPERATORS = frozenset({"and", "or", "not"})
#: Longest ``request`` the X-Server accepts.
MAX_REQUEST = 500


def ccl_request(code: str, term: str) -> str:
    """The CCL ``request`` for ``term`` in index ``code``: ``sbn=80-251-0225-4``,
    ``wau=(Eric S. Raymond)``.

    CCL syntax characters and the words ``and``/``or``/``not`` are taken out of the term
    so that a value can only ever be a term, never an operator or another index.

    Raises:
        InvalidAlephFieldException: ``code`` cannot be an index code.
        MessageError: nothing is left to search for, or the request is too long.
    """
    if not _INDEX_CODE.fullmatch(code):
        raise InvalidAlephFieldException(f"{code!r} is not an Aleph index code")
    words = _CCL_SYNTAX.sub(" ", term).split()
    if len(words) > 1:
        words = [word for word in words if word.lower() not in _OPERATORS] or words[:1]
    if not words:
        raise MessageError(f"nothing to search for in {term!r}")
    value = words[0] if len(words) == 1 else "(" + " ".join(words) + ")"
    request = f"{code.lower()}={value}"
    if len(request) > MAX_REQUEST:
        raise MessageError(f"search request longer than {MAX_REQUEST} characters")
    return request


def _find_request(query: Query) -> tuple[str, str]:
    """The base and the CCL request that find ``query``'s records."""
    try:
        index = INDEXES[type(query)]
    except KeyError:
        names = ", ".join(cls.__name__ for cls in (*INDEXES, DocumentQuery))
        raise MessageError(
            f"cannot search for a query of type {type(query).__name__}; queries are {names}"
        ) from None
    base, code, term = index(query)
    return base, ccl_request(code, term)


def _system_number(query: DocumentQuery) -> int:
    text = str(query.doc_id).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise MessageError(f"DocumentQuery.doc_id {query.doc_id!r} is not a system number")
    return int(text)


def _to_record(element: etree._Element, base: str, library: str, doc_number: int) -> AlephRecord:
    """The record in ``element``, every view read in one pass over its fields."""
    holder = find_record_element(element)
    if holder is None:
        raise AlephReplyError(f"document {doc_number:09d}: the reply holds no MARC record")
    record = read_record(holder, RECORD_TAGS)
    xml = etree.tostring(holder, encoding="unicode", with_tail=False)
    return AlephRecord.from_marc(base, library, doc_number, xml, record)


def fetch_document(client: XServicesClient, query: DocumentQuery, *, base: str) -> AlephRecord:
    """The one record of ``query`` (``base`` is what the record reports as its base).

    Raises:
        DocumentNotFoundException: no such document, or it was deleted.
        LibraryNotFoundException: the catalogue does not know ``query.library``.
    """
    doc_number = _system_number(query)
    element = client.ill_get_doc(doc_number, query.library)
    return _to_record(element, base, query.library, doc_number)


def _presented(
    client: XServicesClient, base: str, request: str, found: FoundSet, limit: int
) -> Iterator[PresentedRecord]:
    """The set's records; if ``present`` fails mid-way (an expired set), ``find`` once more."""
    done = 0
    refound = False
    while True:
        try:
            for record in client.present_all(found, limit, start=done + 1):
                done += 1
                yield record
            return
        except AlephException as error:
            if refound or isinstance(error, AlephTransportError):
                raise
            logger.warning("Aleph present failed on set %s (%s); searching again", found, error)
            refound = True
            found = client.find(base, request)


def search(
    client: XServicesClient, query: Query, *, library: str, document_base: str, max_records: int
) -> list[AlephRecord]:
    """The records matching ``query``, in set order, at most ``max_records``.

    Deleted records in a result set are left out. ``library`` is what the records report
    as their library; ``document_base`` is the base a ``DocumentQuery``'s record reports
    (the query names a library, not a base).

    Raises:
        ValueError: ``query`` is of a type that cannot be searched.
        AlephException: (or a subclass) the catalogue failed or refused.
    """
    if isinstance(query, DocumentQuery):
        return [fetch_document(client, query, base=document_base)]
    base, request = _find_request(query)
    found = client.find(base, request)
    if found.no_entries < found.no_records or found.no_entries > max_records:
        logger.info(
            "Aleph %s in %s: %d hits, %d stored in set %s, fetching at most %d",
            request,
            base,
            found.no_records,
            found.no_entries,
            found.set_number,
            max_records,
        )
    records: list[AlephRecord] = []
    for presented in _presented(client, base, request, found, max_records):
        try:
            records.append(_to_record(presented.element, base, library, presented.doc_number))
        except DocumentNotFoundException:
            logger.info("Aleph document %09d is deleted; left out", presented.doc_number)
    return records


def count(client: XServicesClient, query: Query) -> int:
    """How many records match ``query``: one ``find`` (one ``ill_get_doc`` for a document).

    Raises:
        ValueError: ``query`` is of a type that cannot be counted.
        AlephException: (or a subclass) the catalogue failed or refused.
    """
    if isinstance(query, DocumentQuery):
        try:
            fetch_document(client, query, base="")  # read, so that a deleted record counts 0
        except DocumentNotFoundException:
            return 0
        return 1
    return client.find(*_find_request(query)).no_records
