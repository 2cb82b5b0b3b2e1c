r"""Bodies as the original Python 2 clients sent them, and the variants real clients used.

The bodies are written out by hand the way ``json.dumps`` of Python 2 emitted them: the
default separators, ``ensure_ascii=True`` (Czech text as ``\u00fa``-style escapes) and
keys in arbitrary order. They are compared as parsed values, never as bytes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from edeposit.amqp import aleph, settings
from edeposit.amqp.serializers import TYPE_KEY, deserialize, serialize
from edeposit.amqp.wire.message import Message, wire_form

#: (query object as a client wrote it, the query it means). Half of them name no base.
QUERIES: list[tuple[str, Message]] = [
    (
        r'{"base": "nkc", "ISBN": "80-251-0225-4", "__nt_name": "ISBNQuery"}',
        aleph.ISBNQuery("80-251-0225-4", "nkc"),
    ),
    (
        r'{"__nt_name": "ISBNQuery", "ISBN": "978-80-251-0225-9"}',
        aleph.ISBNQuery("978-80-251-0225-9"),
    ),
    (
        r'{"author": "\u010capek, Karel", "__nt_name": "AuthorQuery", "base": "nkc"}',
        aleph.AuthorQuery("Čapek, Karel", "nkc"),
    ),
    (
        r'{"__nt_name": "AuthorQuery", "author": "Dvo\u0159\u00e1k, Anton\u00edn"}',
        aleph.AuthorQuery("Dvořák, Antonín"),
    ),
    (
        r'{"publisher": "Nakladatelstv\u00ed Lidov\u00e9 noviny", "base": "nkc",'
        r' "__nt_name": "PublisherQuery"}',
        aleph.PublisherQuery("Nakladatelství Lidové noviny", "nkc"),
    ),
    (
        r'{"__nt_name": "PublisherQuery", "publisher": "Computer Press"}',
        aleph.PublisherQuery("Computer Press"),
    ),
    (
        r'{"base": "nkc", "__nt_name": "TitleQuery",'
        r' "title": "Um\u011bn\u00ed programov\u00e1n\u00ed v UNIXu"}',
        aleph.TitleQuery("Umění programování v UNIXu", "nkc"),
    ),
    (
        r'{"title": "V\u00e1lka s mloky", "__nt_name": "TitleQuery"}',
        aleph.TitleQuery("Válka s mloky"),
    ),
    (
        r'{"field": "wrd", "phrase": "\u017dlu\u0165ou\u010dk\u00fd k\u016f\u0148",'
        r' "base": "nkc", "considerSimilar": false, "__nt_name": "GenericQuery"}',
        aleph.GenericQuery("nkc", "Žluťoučký kůň", False, "wrd"),
    ),
    (
        r'{"considerSimilar": true, "__nt_name": "GenericQuery", "field": "wtl",'
        r' "phrase": "Po\u010d\u00edta\u010dov\u00e1 bezpe\u010dnost"}',
        aleph.GenericQuery("nkc", "Počítačová bezpečnost", True, "wtl"),
    ),
    (
        r'{"library": "NKC01", "doc_id": 1492461, "__nt_name": "DocumentQuery"}',
        aleph.DocumentQuery(1492461, "NKC01"),
    ),
    (
        r'{"__nt_name": "DocumentQuery", "doc_id": "000001492461"}',
        aleph.DocumentQuery("000001492461"),
    ),
    (
        r'{"icz": "cpk20051492461", "base": "nkc", "__nt_name": "ICZQuery"}',
        aleph.ICZQuery("cpk20051492461", "nkc"),
    ),
    (
        r'{"__nt_name": "ICZQuery", "icz": "cpk20051492461"}',
        aleph.ICZQuery("cpk20051492461"),
    ),
    (
        r'{"ISSN": "1213-8215", "base": "nkc", "__nt_name": "ISSNQuery"}',
        aleph.ISSNQuery("1213-8215", "nkc"),
    ),
    (
        r'{"__nt_name": "ISSNQuery", "ISSN": "0042-4544"}',
        aleph.ISSNQuery("0042-4544"),
    ),
    (  # how the production clients searched ISSNs (edeposit.amqp.aleph getISSNsXML)
        r'{"base": "nkc", "phrase": "1213-8215", "considerSimilar": false, "field": "ssn",'
        r' "__nt_name": "GenericQuery"}',
        aleph.GenericQuery("nkc", "1213-8215", False, "ssn"),
    ),
]

#: How the two query-carrying requests wrapped a query (key order differs on purpose).
WRAPPERS = {
    aleph.SearchRequest: '{"query": %s, "__nt_name": "SearchRequest"}',
    aleph.CountRequest: '{"__nt_name": "CountRequest", "query": %s}',
}


def test_the_original_documentation_bodies() -> None:
    expected = aleph.SearchRequest(aleph.ISBNQuery("80-251-0225-4"))
    with_base = (
        '{"query": {"base": "nkc", "ISBN": "80-251-0225-4", "__nt_name": "ISBNQuery"},'
        ' "__nt_name": "SearchRequest"}'
    )
    without_base = (
        '{"query": {"ISBN": "80-251-0225-4", "__nt_name": "ISBNQuery"},'
        ' "__nt_name": "SearchRequest"}'
    )
    assert deserialize(with_base) == expected
    assert deserialize(without_base) == expected
    assert deserialize(without_base).query.base == "nkc"


def test_queries_cover_every_query_class_with_and_without_base() -> None:
    assert {type(query) for _, query in QUERIES} == set(aleph.QUERY_TYPES)
    for cls in aleph.QUERY_TYPES:
        missing = "library" if cls is aleph.DocumentQuery else "base"
        bodies = [json.loads(body) for body, query in QUERIES if type(query) is cls]
        assert any(missing in body for body in bodies), cls
        assert any(missing not in body for body in bodies), cls


@pytest.mark.parametrize("request_class", list(WRAPPERS), ids=lambda cls: cls.__name__)
@pytest.mark.parametrize(("query_body", "query"), QUERIES)
def test_search_and_count_bodies_of_every_query(
    request_class: type[aleph.SearchRequest | aleph.CountRequest], query_body: str, query: Message
) -> None:
    body = WRAPPERS[request_class] % query_body
    assert body.isascii()  # ensure_ascii=True, as the original clients sent it
    decoded = deserialize(body)
    assert decoded == request_class(query)  # type: ignore[arg-type]
    assert deserialize(body.encode("ascii")) == decoded
    # Our output means the same once parsed, with the defaults filled in.
    assert json.loads(serialize(decoded))["query"] == {
        **json.loads(query_body),
        **query._asdict(),
        TYPE_KEY: type(query).__name__,
    }


def test_missing_base_and_library_take_the_configured_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALEPH_DEFAULT_BASE", "ckc")
    monkeypatch.setenv("ALEPH_DEFAULT_LIBRARY", "NKC02")
    settings.reload()
    for query_body, query in QUERIES:
        decoded = deserialize(WRAPPERS[aleph.SearchRequest] % query_body).query
        given = json.loads(query_body)
        if isinstance(query, aleph.DocumentQuery):
            assert decoded.library == given.get("library", "NKC02")
        else:
            assert decoded.base == given.get("base", "ckc")


#: ISBNValidationRequest with a string, with a query, with a query without base.
ISBN_BODIES = (
    r'{"ISBN": "80-251-0225-4", "__nt_name": "ISBNValidationRequest"}',
    r'{"__nt_name": "ISBNValidationRequest",'
    r' "ISBN": {"ISBN": "80-251-0225-4", "__nt_name": "ISBNQuery", "base": "nkc"}}',
    r'{"ISBN": {"__nt_name": "ISBNQuery", "ISBN": "80-251-0225-4"},'
    r' "__nt_name": "ISBNValidationRequest"}',
)


def test_isbn_validation_with_a_string_or_a_query() -> None:
    as_text, as_query, as_query_without_base = ISBN_BODIES
    assert deserialize(as_text) == aleph.ISBNValidationRequest("80-251-0225-4")
    assert deserialize(as_query) == aleph.ISBNValidationRequest(aleph.ISBNQuery("80-251-0225-4"))
    assert deserialize(as_query_without_base) == deserialize(as_query)


# --- exports ----------------------------------------------------------------------------------

#: The 18-field form, every field present, authors as Author objects.
EXPORT_18 = (
    r'{"epublication": {"nakladatelVydavatel": "Computer Press,", "castDil": "",'
    r' "ISBN": ["80-251-0225-4"], "podnazev": "", "autori": [{"lastName": "Raymond",'
    r' "firstName": "Eric S.", "__nt_name": "Author", "title": ""}],'
    r' "originaly": ["Art of UNIX programming"], "url": "", "internal_url": "",'
    r' "mistoVydani": "Brno :", "datumVydani": "2004", "ISBNSouboruPublikaci": [],'
    r' "nazev": "Um\u011bn\u00ed programov\u00e1n\u00ed v UNIXu /", "cena": "K\u010d 590,00",'
    r' "vazba": "(bro\u017e.) :", "zpracovatelZaznamu": "BOA001", "format": "23 cm",'
    r' "poradiVydani": "Vyd. 1.", "nazevCasti": "", "__nt_name": "EPublication"},'
    r' "__nt_name": "ExportRequest"}'
)

#: The later 21-field form from the web front-end: strings for lists, plain-string
#: authors, "None" for no price, nulls.
EXPORT_21 = (
    r'{"__nt_name": "ExportRequest", "epublication": {"anotace": "Kniha o filozofii'
    r' a praxi UNIXu.", "ISBN": "80-251-0225-4", "invalid_ISBN": [], "id_number": null,'
    r' "nazev": "Um\u011bn\u00ed programov\u00e1n\u00ed v UNIXu", "podnazev": null,'
    r' "vazba": "bro\u017e.", "cena": "None", "castDil": null, "nazevCasti": null,'
    r' "nakladatelVydavatel": "Computer Press", "datumVydani": "2004",'
    r' "poradiVydani": "1.", "zpracovatelZaznamu": null, "format": null, "url": null,'
    r' "mistoVydani": "Brno", "ISBNSouboruPublikaci": "80-7226-000-X",'
    r' "autori": ["Raymond, Eric S.", "Dvo\u0159\u00e1k, Anton\u00edn"],'
    r' "originaly": null, "internal_url": "", "__nt_name": "EPublication"}}'
)


#: What EXPORT_18 holds: a publication as 2014 clients sent it back, punctuation and all.
SENT = aleph.EPublication.empty(
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
    autori=[aleph.Author("Eric S.", "Raymond", "")],
    originaly=["Art of UNIX programming"],
)


def test_export_in_the_18_field_form() -> None:
    request = deserialize(EXPORT_18)
    assert request == aleph.ExportRequest(SENT)
    # What we send back means the same document, whatever the key order.
    assert json.loads(serialize(request)) == json.loads(EXPORT_18)


def test_export_in_the_21_field_form_with_loose_values() -> None:
    publication = deserialize(EXPORT_21).epublication
    assert publication == aleph.EPublication.empty(
        ISBN=["80-251-0225-4"],
        nazev="Umění programování v UNIXu",
        vazba="brož.",
        nakladatelVydavatel="Computer Press",
        datumVydani="2004",
        poradiVydani="1.",
        mistoVydani="Brno",
        ISBNSouboruPublikaci=["80-7226-000-X"],
        autori=[aleph.Author("Eric S.", "Raymond", ""), aleph.Author("Antonín", "Dvořák", "")],
        anotace="Kniha o filozofii a praxi UNIXu.",  # the 2015 fields are kept
    )
    assert publication.cena == ""


@pytest.mark.parametrize("generation", ["2014", "2015", "2016"])
def test_lenient_input_never_comes_out_as_null(
    generation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALEPH_WIRE_GENERATION", generation)
    settings.reload()
    text = serialize(deserialize(EXPORT_21))
    assert "null" not in text
    assert "None" not in text
    encoded = json.loads(text)["epublication"]
    keys = wire_form(aleph.EPublication, generation).keys
    assert set(encoded) == {*keys, TYPE_KEY}
    for name in keys:
        assert encoded[name] is not None, name


def export_body(**fields: Any) -> str:
    """EXPORT_18 with ``fields`` of its publication replaced or added."""
    body = json.loads(EXPORT_18)
    body["epublication"].update(fields)
    return json.dumps(body)


def _export(**fields: Any) -> aleph.EPublication:
    decoded: aleph.EPublication = deserialize(export_body(**fields)).epublication
    return decoded


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"ISBN": "80-251-0225-4"}, {"ISBN": ["80-251-0225-4"]}),
        ({"ISBN": ""}, {"ISBN": []}),
        ({"ISBN": None}, {"ISBN": []}),
        ({"ISBN": ["80-251-0225-4", None]}, {"ISBN": ["80-251-0225-4", ""]}),
        ({"ISBNSouboruPublikaci": "80-7226-000-X"}, {"ISBNSouboruPublikaci": ["80-7226-000-X"]}),
        ({"ISBNSouboruPublikaci": None}, {"ISBNSouboruPublikaci": []}),
        ({"originaly": None}, {"originaly": []}),
        ({"cena": "None"}, {"cena": ""}),
        ({"cena": None}, {"cena": ""}),
        ({"nazev": None, "url": None}, {"nazev": "", "url": ""}),
        ({"autori": None}, {"autori": []}),
        ({"autori": []}, {"autori": []}),
        ({"autori": ["Raymond, Eric S."]}, {"autori": [aleph.Author("Eric S.", "Raymond", "")]}),
        ({"autori": "Raymond, Eric S."}, {"autori": [aleph.Author("Eric S.", "Raymond", "")]}),
        ({"autori": ["Komensk\u00fd"]}, {"autori": [aleph.Author("", "Komenský", "")]}),
        (
            {
                "autori": [
                    "\u010capek, Karel",
                    {"firstName": "Jan", "lastName": "Nov\u00e1k", "__nt_name": "Author"},
                    {
                        "firstName": None,
                        "lastName": "Raymond",
                        "title": None,
                        "__nt_name": "Author",
                    },
                ]
            },
            {
                "autori": [
                    aleph.Author("Karel", "Čapek", ""),
                    aleph.Author("Jan", "Novák", ""),
                    aleph.Author("", "Raymond", ""),
                ]
            },
        ),
        (
            {"invalid_ISBN": ["80-000-0000-0"], "id_number": "123", "anotace": None},
            {"invalid_ISBN": ["80-000-0000-0"], "id_number": "123"},
        ),
        ({"invalid_ISBN": "80-000-0000-0"}, {"invalid_ISBN": ["80-000-0000-0"]}),
        # The 2015 form's URL lists, whatever generation the daemon writes.
        ({"url": ["http://a/", "http://b/"]}, {"urls": ["http://a/", "http://b/"]}),
        ({"internal_url": ["http://a/", None]}, {"internal_urls": ["http://a/"]}),
        ({"url": "http://a/", "internal_url": []}, {"urls": ["http://a/"]}),
    ],
)
def test_export_field_variants(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    assert _export(**fields) == SENT._replace(**expected)


@pytest.mark.parametrize("doc_id", [1492461, "1492461", "000001492461"])
def test_doc_id_as_number_or_string(doc_id: int | str) -> None:
    body = json.dumps(
        {"query": {"doc_id": doc_id, "__nt_name": "DocumentQuery"}, TYPE_KEY: "SearchRequest"}
    )
    query = deserialize(body).query
    assert query.doc_id == doc_id
    assert type(query.doc_id) is type(doc_id)
    assert query.library == "NKC01"


def test_record_number_as_digits_becomes_an_integer() -> None:
    record = json.loads(serialize(aleph.AlephRecord("nkc", "NKC01", 1492461, "<r/>", SENT)))
    record["docNumber"] = "001492461"
    assert deserialize(json.dumps(record)).docNumber == 1492461
