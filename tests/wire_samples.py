"""Values the wire-format tests share: the contract's class and field lists, a golden record."""

from __future__ import annotations

from importlib import resources
from typing import Any

from edeposit.amqp.aleph import (
    AlephRecord,
    Author,
    EPeriodical,
    EPeriodicalSemanticInfo,
    EPublication,
)
from edeposit.amqp.serializers import TYPE_KEY
from edeposit.amqp.wire.message import Message, wire_form

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
    "SemanticInfo",
    # DESIGN §3.3, 2016: a continuing resource's record, and the typed ISSN search
    "EPeriodical",
    "EPeriodicalSemanticInfo",
    "ISSNQuery",
)

#: DESIGN §3.3: the fields of the 2014 EPublication, in this order.
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

#: DESIGN §3.3: the fields the 2015 form adds.
EPUBLICATION_2015_FIELDS = (*EPUBLICATION_FIELDS, "invalid_ISBN", "id_number", "anotace")

#: DESIGN §3.3: the fields of the 2016 EPeriodical, in this order.
EPERIODICAL_FIELDS = (
    "url",
    "ISSN",
    "invalid_ISSNs",
    "nazev",
    "anotace",
    "podnazev",
    "id_number",
    "mistoVydani",
    "datumVydani",
    "internal_url",
    "nakladatelVydavatel",
    "ISSNSouboruPublikaci",
)

#: DESIGN §3.3: the fields of the 2016 EPeriodicalSemanticInfo, in this order.
EPERIODICAL_SEMANTIC_INFO_FIELDS = (
    "hasAcquisitionFields",
    "acquisitionFields",
    "isClosed",
    "isSummaryRecord",
    "contentOfFMT",
    "parsedSummaryRecordSysNumber",
    "summaryRecordSysNumber",
)

#: DESIGN §3.3: the fields of SemanticInfo, in this order.
SEMANTIC_INFO_FIELDS = (
    "hasAcquisitionFields",
    "acquisitionFields",
    "ISBNAgencyFields",
    "descriptiveCatFields",
    "descriptiveCatReviewFields",
    "subjectCatFields",
    "subjectCatReviewFields",
    "isClosed",
    "isSummaryRecord",
    "contentOfFMT",
    "parsedSummaryRecordSysNumber",
    "summaryRecordSysNumber",
)

#: DESIGN §3.3: the publication of record cpk20051492461 ("unix_raymond") as NKP's
#: find_doc gives it (fixtures/aleph/responses/nkp_find_doc_unix_raymond_…, OAI-MARC),
#: and as the emulator's sample corpus holds it.
RAYMOND = EPublication.empty(
    ISBN=["80-251-0225-4"],  # 020 $a "80-251-0225-4 (brož.) :", the ISBN only
    nazev="Umění programování v UNIXu",  # 245 $a "Umění programování v UNIXu /"
    vazba="brož.",  # after the ISBN in 020 $a, "(brož.) :" without its punctuation
    cena="Kč 590,00",  # 020 $c
    mistoVydani="Brno",  # 260 $a "Brno :"
    nakladatelVydavatel="Computer Press",  # 260 $b "Computer Press,"
    datumVydani="2004",  # 260 $c
    poradiVydani="Vyd. 1.",  # no 901 $f here: 250 $a
    zpracovatelZaznamu="BOA001",  # 040 $a
    format="23 cm",  # 300 $c
    autori=[Author("Eric S.", "Raymond", "")],  # 100 1_ $a "Raymond, Eric S." $4 aut
    originaly=["Art of UNIX programming"],  # 765 $t
    # 998 $a, the Aleph permalink (no 856 4 0 comes before it)
    internal_urls=["http://aleph.nkp.cz/F/?func=direct&doc_number=001492461&local_base=NKC01"],
    id_number="cpk20051492461",  # 001
)
#: The same record as NKP's ill_get_doc gives it (records/marcxml/…_unix_raymond_…):
#: MARC 21 slim has NKP's 901 (whose $f wins over 250 $a) and no 998.
RAYMOND_MARCXML = RAYMOND._replace(poradiVydani="1. vyd.", internal_urls=[])


#: A continuing resource of the emulator's sample corpus (the project's own record):
#: the journal Vesmír, FMT SE.
VESMIR_XML = (
    resources.files("edeposit.amqp.emulator") / "corpus" / "vesmir_casopis.xml"
).read_text(encoding="utf-8")
#: Its periodical, as 2016's clients read it (DESIGN §3.3).
VESMIR = EPeriodical.empty(
    url=["https://vesmir.cz/"],  # 856 42 $u
    ISSN=["0042-4544"],  # 022 $a, check digit valid
    nazev="Vesmír",  # 245 $a "Vesmír :"
    podnazev="přírodovědecký časopis Akademie věd České republiky",  # 245 $b
    id_number="cps19940156783",  # 001
    mistoVydani="Praha",  # 260 "Praha :" "Vesmír," "1871-"
    datumVydani="1871-",  # "-" after a digit: still published
    internal_url=["http://aleph.nkp.cz/F/?func=direct&doc_number=000156783&local_base=NKC"],
    nakladatelVydavatel="Vesmír",
    ISSNSouboruPublikaci=["0042-4544"],  # 022 $l, the ISSN-L
)
#: Its workflow state: FMT SE, no local fields.
VESMIR_INFO = EPeriodicalSemanticInfo(isSummaryRecord=True, contentOfFMT="SE")


def read_back(value: Any, generation: str) -> Any:
    """What decoding ``value`` written in ``generation``'s form gives.

    The 2015 form carries everything; the 2014 form drops an ``EPublication``'s later
    fields and all but the first URL of each list, and an ``AlephRecord``'s
    ``semantic_info`` (read from its ``xml`` again). The 2016 form carries a continuing
    resource's periodical views in place of its publication and ``SemanticInfo``
    (which are then read from its ``xml`` again); the other forms carry no periodical
    views (read from the ``xml``).
    """
    if isinstance(value, list):
        return [read_back(item, generation) for item in value]
    if not isinstance(value, Message):
        return value
    changes = {name: read_back(getattr(value, name), generation) for name in value._fields}
    if isinstance(value, EPublication):
        del changes["url"], changes["internal_url"]  # the lists say it all
        changes.update(urls=value.urls, internal_urls=value.internal_urls)
        if generation == "2014":
            changes.update(invalid_ISBN=[], id_number="", anotace="")
            changes.update(urls=value.urls[:1], internal_urls=value.internal_urls[:1])
    if isinstance(value, AlephRecord):
        if generation == "2014":
            changes["semantic_info"] = None
        if generation == "2016" and value.periodical is not None:
            changes.update(epublication=None, semantic_info=None)
            changes["periodical"] = read_back(value.periodical, generation)
        else:  # no periodical views on the wire: read from the xml
            derived = AlephRecord(value.base, value.library, value.docNumber, value.xml)
            changes["periodical"] = derived.periodical
            changes["periodical_semantic_info"] = derived.periodical_semantic_info
    return value._replace(**changes)


def assert_wire_form(encoded: Any, value: Any, generation: str = "2014", path: str = "$") -> None:
    """``encoded`` (parsed JSON) is ``value`` in the wire form of ``generation`` (§3.1, §3.3).

    Every message is an object of exactly the fields its class writes for that
    generation plus ``__nt_name`` naming its class, recursively; lists stay lists; plain
    values are the same JSON values.
    """
    if isinstance(value, Message):
        assert isinstance(encoded, dict), path
        assert encoded[TYPE_KEY] == type(value).__name__, path
        form = wire_form(type(value), generation)
        assert set(encoded) == {*form.keys, TYPE_KEY}, path
        for key, attribute in zip(form.keys, form.attributes(), strict=True):
            assert_wire_form(encoded[key], getattr(value, attribute), generation, f"{path}.{key}")
    elif isinstance(value, list):
        assert isinstance(encoded, list), path
        assert len(encoded) == len(value), path
        for index, (item_encoded, item) in enumerate(zip(encoded, value, strict=True)):
            assert_wire_form(item_encoded, item, generation, f"{path}[{index}]")
    else:
        assert not isinstance(encoded, dict | list), path
        assert encoded == value, path
        assert type(encoded) is type(value), path
