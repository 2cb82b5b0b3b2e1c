r"""The 2016 generation on the wire (DESIGN §3.3): what its daemon wrote, what its clients sent.

Bodies are written out by hand as the production system's Python 2 code emitted them
(``json.dumps``: escaped Czech, keys in any order). Its ``EPeriodical.from_xml`` sent
``anotace`` as ``null``; its web front-end sent ``invalid_ISBN`` as ``""``.
"""

from __future__ import annotations

import json

import pytest

from edeposit.amqp import aleph
from edeposit.amqp.serializers import TYPE_KEY, DeserializationError, deserialize
from edeposit.amqp.wire.codec import WireOptions, encode
from tests.wire_samples import RAYMOND, VESMIR, VESMIR_INFO, VESMIR_XML

#: A 2016 daemon's answer for the journal Vesmír (the sample corpus record).
PERIODICAL_2016 = json.dumps(
    {
        "records": [
            {
                "semantic_info": {
                    "contentOfFMT": "SE",
                    "parsedSummaryRecordSysNumber": "",
                    "isClosed": False,
                    "summaryRecordSysNumber": "",
                    "hasAcquisitionFields": False,
                    "acquisitionFields": [],
                    "isSummaryRecord": True,
                    TYPE_KEY: "EPeriodicalSemanticInfo",
                },
                "docNumber": "000156783",
                "xml": VESMIR_XML,
                "base": "nkc",
                "library": "NKC01",
                "parsed_info": {
                    **VESMIR._asdict(),
                    "anotace": None,  # what the production system sent
                    TYPE_KEY: "EPeriodical",
                },
                TYPE_KEY: "AlephRecord",
            }
        ],
        TYPE_KEY: "SearchResult",
    }
)

#: A 2016 web front-end's export, as its OriginalFileExportToAlephRequestSender built it.
EXPORT_2016 = (
    r'{"__nt_name": "ExportRequest", "epublication": {"ISBN": "978-80-7367-397-0",'
    r' "invalid_ISBN": "", "nazev": "D\u00edt\u011b a matematika", "podnazev": "",'
    r' "vazba": "online", "cena": "", "castDil": "", "nazevCasti": "",'
    r' "nakladatelVydavatel": "Port\u00e1l", "datumVydani": "2024", "poradiVydani": "",'
    r' "zpracovatelZaznamu": "Ing. Tester", "format": "pdf", "url": "",'
    r' "mistoVydani": "Praha", "ISBNSouboruPublikaci": "", "autori": ["Hejn\u00fd"],'
    r' "originaly": [], "internal_url": "http://edeposit.nkp.cz/file", "id_number": null,'
    r' "anotace": "", "__nt_name": "EPublication"}}'
)


def test_a_2016_answer_for_a_periodical_decodes() -> None:
    (record,) = deserialize(PERIODICAL_2016).records
    assert record.docNumber == 156783
    assert record.parsed_info == VESMIR  # anotace null → ""
    assert record.periodical == VESMIR
    assert record.parsed_semantic_info == VESMIR_INFO
    # What the 2016 form does not carry is read from the record's XML.
    assert record.epublication == aleph.EPublication.from_xml(VESMIR_XML)
    assert record.semantic_info == aleph.SemanticInfo.from_xml(VESMIR_XML)


def test_a_2016_answer_for_a_book_decodes() -> None:
    record = aleph.AlephRecord("nkc", "NKC01", 1492461, "<oai_marc/>", RAYMOND)
    body = json.loads(encode(record, WireOptions(generation="2016")))
    assert set(body) == {"base", "library", "docNumber", "xml", "parsed_info", "semantic_info"} | {
        TYPE_KEY
    }
    assert body["parsed_info"][TYPE_KEY] == "EPublication"
    assert body["parsed_info"]["url"] == []  # the lists of 2015
    decoded = deserialize(json.dumps(body))
    assert decoded.parsed_info == decoded.epublication == RAYMOND
    assert decoded.periodical is None


def test_a_2016_clients_export_still_carries_an_epublication() -> None:
    request = deserialize(EXPORT_2016)
    assert isinstance(request, aleph.ExportRequest)
    publication = request.epublication
    assert publication.ISBN == ["978-80-7367-397-0"]
    assert publication.invalid_ISBN == []  # "" is no ISBN
    assert publication.autori == [aleph.Author("", "Hejný", "")]
    assert publication.internal_urls == ["http://edeposit.nkp.cz/file"]
    assert publication.id_number == ""


def test_a_record_names_its_publication_under_one_key() -> None:
    body = json.loads(PERIODICAL_2016)
    record = body["records"][0]
    record["epublication"] = json.loads(encode(RAYMOND))
    with pytest.raises(DeserializationError, match="has both 'epublication' and 'parsed_info'"):
        deserialize(json.dumps(body))
    del record["parsed_info"], record["epublication"]
    with pytest.raises(DeserializationError, match="missing the field 'epublication'"):
        deserialize(json.dumps(body))


def test_a_wrong_parsed_info_is_named_by_its_key() -> None:
    body = json.loads(PERIODICAL_2016)
    body["records"][0]["parsed_info"] = "Vesmír"
    with pytest.raises(DeserializationError) as caught:
        deserialize(json.dumps(body))
    assert str(caught.value).startswith("AlephRecord.parsed_info at $.records[0].parsed_info:")


def test_records_built_as_each_generation_built_them() -> None:
    derived = aleph.AlephRecord("nkc", "NKC01", 156783, VESMIR_XML)
    given_2016 = aleph.AlephRecord("nkc", "NKC01", 156783, VESMIR_XML, VESMIR, VESMIR_INFO)
    by_keyword = aleph.AlephRecord("nkc", "NKC01", 156783, VESMIR_XML, parsed_info=VESMIR)
    assert derived == given_2016 == by_keyword
    assert derived.parsed_info == VESMIR
    assert derived.parsed_semantic_info == VESMIR_INFO
    assert derived.semantic_info == aleph.SemanticInfo(isSummaryRecord=True, contentOfFMT="SE")
    with pytest.raises(TypeError, match="not both"):
        aleph.AlephRecord("nkc", "NKC01", 1, VESMIR_XML, RAYMOND, parsed_info=VESMIR)


def test_each_generation_writes_its_own_record() -> None:
    record = aleph.AlephRecord("nkc", "NKC01", 156783, VESMIR_XML)
    forms = {
        generation: json.loads(encode(record, WireOptions(generation=generation)))
        for generation in ("2014", "2015", "2016")
    }
    assert forms["2014"]["epublication"][TYPE_KEY] == "EPublication"
    assert "semantic_info" not in forms["2014"]
    assert forms["2015"]["epublication"][TYPE_KEY] == "EPublication"
    assert forms["2015"]["semantic_info"][TYPE_KEY] == "SemanticInfo"
    assert "epublication" not in forms["2016"]
    assert forms["2016"]["parsed_info"][TYPE_KEY] == "EPeriodical"
    assert forms["2016"]["semantic_info"][TYPE_KEY] == "EPeriodicalSemanticInfo"
    assert len(forms["2016"]["parsed_info"]) == 12 + 1
    assert len(forms["2016"]["semantic_info"]) == 7 + 1
