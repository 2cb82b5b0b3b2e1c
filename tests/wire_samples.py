"""Values the wire-format tests share: the contract's class and field lists, a golden record."""

from __future__ import annotations

from typing import Any

from edeposit.amqp.aleph import Author, EPublication
from edeposit.amqp.serializers import TYPE_KEY
from edeposit.amqp.wire.message import Message

#: The message classes of DESIGN §2, in its order: requests, queries, results, records.
MESSAGE_CLASS_NAMES = (
    "SearchRequest",
    "CountRequest",
    "ISBNValidationRequest",
    "ExportRequest",
    "ISBNQuery",
    "AuthorQuery",
    "PublisherQuery",
    "TitleQuery",
    "GenericQuery",
    "DocumentQuery",
    "ICZQuery",
    "SearchResult",
    "CountResult",
    "ISBNValidationResult",
    "ExportResult",
    "AlephRecord",
    "EPublication",
    "Author",
)

#: DESIGN §3.3: the fields of EPublication, in this order.
EPUBLICATION_FIELDS = (
    "ISBN",
    "nazev",
    "podnazev",
    "vazba",
    "cena",
    "castDil",
    "nazevCasti",
    "nakladatelVydavatel",
    "datumVydani",
    "poradiVydani",
    "zpracovatelZaznamu",
    "format",
    "url",
    "mistoVydani",
    "ISBNSouboruPublikaci",
    "autori",
    "originaly",
    "internal_url",
)

#: DESIGN §3.3: the publication of record cpk20051492461 ("unix_raymond").
RAYMOND = EPublication.empty(
    ISBN=["80-251-0225-4"],
    nazev="Umění programování v UNIXu /",
    vazba="(brož.) :",
    cena="Kč 590,00",
    mistoVydani="Brno :",
    nakladatelVydavatel="Computer Press,",
    datumVydani="2004",
    poradiVydani="Vyd. 1.",
    zpracovatelZaznamu="BOA001",
    format="23 cm",
    autori=[Author("Eric S.", "Raymond", "")],
    originaly=["Art of UNIX programming"],
)


def assert_wire_form(encoded: Any, value: Any, path: str = "$") -> None:
    """``encoded`` (parsed JSON) is ``value`` in wire form (DESIGN §3.1).

    Every message is an object of exactly its fields plus ``__nt_name`` naming its class,
    recursively; lists stay lists; plain values are the same JSON values.
    """
    if isinstance(value, Message):
        assert isinstance(encoded, dict), path
        assert encoded[TYPE_KEY] == type(value).__name__, path
        assert set(encoded) == {*value._fields, TYPE_KEY}, path
        for name in value._fields:
            assert_wire_form(encoded[name], getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list):
        assert isinstance(encoded, list), path
        assert len(encoded) == len(value), path
        for index, (item_encoded, item) in enumerate(zip(encoded, value, strict=True)):
            assert_wire_form(item_encoded, item, f"{path}[{index}]")
    else:
        assert not isinstance(encoded, dict | list), path
        assert encoded == value, path
        assert type(encoded) is type(value), path
