"""The message classes in Python: construction like the original clients, immutability, equality."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from edeposit.amqp import aleph, settings
from edeposit.amqp.wire.message import REGISTRY, Message, wire_form
from tests.wire_samples import (
    EPERIODICAL_FIELDS,
    EPERIODICAL_SEMANTIC_INFO_FIELDS,
    EPUBLICATION_2015_FIELDS,
    EPUBLICATION_FIELDS,
    MESSAGE_CLASS_NAMES,
    RAYMOND,
    SEMANTIC_INFO_FIELDS,
)

#: The positional parameters of each class, as DESIGN §2 spells them.
SIGNATURES = {
    "SearchRequest": ["query"],
    "CountRequest": ["query"],
    "ISBNValidationRequest": ["ISBN"],
    "ExportRequest": ["epublication"],
    "ISBNQuery": ["ISBN", "base"],
    "AuthorQuery": ["author", "base"],
    "PublisherQuery": ["publisher", "base"],
    "TitleQuery": ["title", "base"],
    "GenericQuery": ["base", "phrase", "considerSimilar", "field"],
    "DocumentQuery": ["doc_id", "library"],
    "ICZQuery": ["icz", "base"],
    "ISSNQuery": ["ISSN", "base"],
    "SearchResult": ["records"],
    "CountResult": ["num_of_records"],
    "ISBNValidationResult": ["is_valid"],
    "ExportResult": ["ISBN"],
    "AlephRecord": ["base", "library", "docNumber", "xml", "epublication", "semantic_info"],
    "EPublication": list(EPUBLICATION_2015_FIELDS),
    "Author": ["firstName", "lastName", "title"],
    "SemanticInfo": list(SEMANTIC_INFO_FIELDS),
    "EPeriodical": list(EPERIODICAL_FIELDS),
    "EPeriodicalSemanticInfo": list(EPERIODICAL_SEMANTIC_INFO_FIELDS),
}
#: Parameters that only the model has (never under their name on the wire): keywords.
MODEL_ONLY = {
    "EPublication": ["urls", "internal_urls"],
    # 2016's name of the publication, then the continuing resource's own views
    "AlephRecord": ["parsed_info", "periodical", "periodical_semantic_info"],
}
#: How many leading parameters a caller must give, as the original clients did (a
#: record's views are read from its xml when left out, DESIGN §3.3).
REQUIRED = {"AlephRecord": 4, "EPublication": 18, "SemanticInfo": 0, "EPeriodical": 12}


def test_registry_holds_exactly_the_message_classes() -> None:
    assert set(REGISTRY) == set(MESSAGE_CLASS_NAMES)
    for name, cls in REGISTRY.items():
        assert cls.__name__ == name
        assert issubclass(cls, Message)
        assert getattr(aleph, name) is cls


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_positional_parameters_keep_the_original_order(name: str) -> None:
    cls = REGISTRY[name]
    parameters = inspect.signature(cls).parameters
    assert list(parameters) == [*SIGNATURES[name], *MODEL_ONLY.get(name, [])]
    assert list(cls._fields) == SIGNATURES[name]
    if name in REQUIRED:
        required = [key for key, given in parameters.items() if given.default is given.empty]
        assert required == SIGNATURES[name][: REQUIRED[name]]


def test_epublication_writes_18_fields_for_2014_and_21_for_2015() -> None:
    assert wire_form(aleph.EPublication, "2014").keys == EPUBLICATION_FIELDS
    assert wire_form(aleph.EPublication, "2015").keys == EPUBLICATION_2015_FIELDS
    assert aleph.EPublication._fields == EPUBLICATION_2015_FIELDS
    assert wire_form(aleph.AlephRecord, "2014").keys == tuple(SIGNATURES["AlephRecord"][:5])
    assert wire_form(aleph.AlephRecord, "2015").keys == tuple(SIGNATURES["AlephRecord"])
    assert wire_form(aleph.SemanticInfo, "2015").keys == SEMANTIC_INFO_FIELDS


def test_the_2016_forms() -> None:
    """DESIGN §3.3: epublication renamed parsed_info; the 2015 publication inside."""
    assert wire_form(aleph.AlephRecord, "2016").keys == (
        "base",
        "library",
        "docNumber",
        "xml",
        "parsed_info",
        "semantic_info",
    )
    assert wire_form(aleph.EPublication, "2016").keys == EPUBLICATION_2015_FIELDS
    assert wire_form(aleph.EPeriodical, "2016").keys == EPERIODICAL_FIELDS
    assert wire_form(aleph.EPeriodicalSemanticInfo, "2016").keys == (
        EPERIODICAL_SEMANTIC_INFO_FIELDS
    )


def test_epublication_built_as_2014_clients_build_it() -> None:
    values = [RAYMOND._asdict()[name] for name in EPUBLICATION_FIELDS]
    positional = aleph.EPublication(*values)
    assert positional == RAYMOND._replace(invalid_ISBN=[], id_number="")
    assert positional.url == ""
    assert positional.internal_url == RAYMOND.internal_url
    assert positional.internal_urls == [RAYMOND.internal_url]
    later = aleph.EPublication(*values, invalid_ISBN=["1"], id_number="cpk1", anotace="A.")
    assert (later.invalid_ISBN, later.id_number, later.anotace) == (["1"], "cpk1", "A.")


def test_url_is_the_first_of_urls() -> None:
    """``url``/``internal_url`` stay strings for existing code; the lists hold them all."""
    one = RAYMOND._replace(url="http://a/")
    assert (one.url, one.urls) == ("http://a/", ["http://a/"])
    two = RAYMOND._replace(urls=["http://b/", "http://c/"])
    assert (two.url, two.urls) == ("http://b/", ["http://b/", "http://c/"])
    assert two._replace(url="").urls == []
    # A list where the 2014 field was (the 2015 form) is the whole list.
    listed = aleph.EPublication.empty(url=["http://b/", "http://c/"], internal_url=None)
    assert (listed.url, listed.urls) == (two.url, two.urls)
    assert (listed.internal_url, listed.internal_urls) == ("", [])
    # Given both, the string leads the list.
    both = aleph.EPublication.empty(internal_url="http://x/", internal_urls=["http://y/"])
    assert both.internal_urls == ["http://x/", "http://y/"]
    assert aleph.EPublication.empty(url=["", None]).urls == []


def test_record_without_semantic_info_reads_it_from_its_xml() -> None:
    xml = (
        '<oai_marc><fixfield id="FMT">SE</fixfield><varfield id="BAS" i1=" " i2=" ">'
        '<subfield label="a">90</subfield></varfield></oai_marc>'
    )
    record = aleph.AlephRecord("nkc", "NKC01", 1, xml, RAYMOND)
    expected = aleph.SemanticInfo(isClosed=True, isSummaryRecord=True, contentOfFMT="SE")
    assert record.semantic_info == expected
    assert record.semantic_info is record.semantic_info  # read once
    given = aleph.SemanticInfo(contentOfFMT="BK")
    assert aleph.AlephRecord("nkc", "NKC01", 1, xml, RAYMOND, given).semantic_info is given
    # XML that holds no record: nothing to say.
    junk = aleph.AlephRecord("nkc", "NKC01", 1, "<r", RAYMOND)
    assert junk.semantic_info == aleph.SemanticInfo()
    with pytest.raises(AttributeError):
        junk.other  # type: ignore[attr-defined]  # noqa: B018


def test_queries_default_to_the_nkc_base() -> None:
    assert aleph.ISBNQuery("80-251-0225-4").base == "nkc"
    assert aleph.AuthorQuery("Raymond").base == "nkc"
    assert aleph.PublisherQuery("Computer Press").base == "nkc"
    assert aleph.TitleQuery("Umění programování").base == "nkc"
    assert aleph.ICZQuery("cpk20051492461").base == "nkc"
    assert aleph.DocumentQuery("1492461").library == "NKC01"


def test_constructors_never_read_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python defaults are the contract's constants; only decoding completes from settings."""
    monkeypatch.setenv("ALEPH_DEFAULT_BASE", "ckc")
    monkeypatch.setenv("ALEPH_DEFAULT_LIBRARY", "NKC02")
    settings.reload()

    def refuse() -> None:
        raise AssertionError("a message constructor read the settings")

    monkeypatch.setattr(settings, "get", refuse)
    assert aleph.ISBNQuery("80-251-0225-4").base == "nkc"
    assert aleph.DocumentQuery(1492461).library == "NKC01"
    for query_class in (aleph.AuthorQuery, aleph.PublisherQuery, aleph.TitleQuery, aleph.ICZQuery):
        assert query_class("x").base == aleph.DEFAULT_BASE == "nkc"
    assert aleph.DocumentQuery(1).library == aleph.DEFAULT_LIBRARY == "NKC01"
    # An explicit value is kept as it is.
    assert aleph.ISBNQuery("80-251-0225-4", "ckc").base == "ckc"


def test_construction_like_the_original_clients() -> None:
    query = aleph.ISBNQuery("80-251-0225-4")
    request = aleph.SearchRequest(query)
    assert request.query is query
    assert aleph.SearchRequest(query=query) == request
    assert aleph.CountRequest(aleph.AuthorQuery("Raymond")).query == aleph.AuthorQuery("Raymond")
    assert aleph.ISBNValidationRequest("80-251-0225-4").ISBN == "80-251-0225-4"
    assert aleph.ISBNValidationRequest(query).ISBN is query

    generic = aleph.GenericQuery("nkc", "Umění programování", False, "wtl")
    assert (generic.base, generic.phrase, generic.considerSimilar, generic.field) == (
        "nkc",
        "Umění programování",
        False,
        "wtl",
    )
    assert generic == aleph.GenericQuery(
        field="wtl", considerSimilar=False, phrase="Umění programování", base="nkc"
    )

    author = aleph.Author("Eric S.", "Raymond", "")
    assert (author.firstName, author.lastName, author.title) == ("Eric S.", "Raymond", "")
    assert aleph.Author("Eric S.", "Raymond") == author

    record = aleph.AlephRecord("nkc", "NKC01", 1492461, "<record/>", RAYMOND)
    assert record.docNumber == 1492461
    assert aleph.SearchResult([record]).records == [record]
    assert aleph.CountResult(1).num_of_records == 1
    assert aleph.ISBNValidationResult(True).is_valid is True
    assert aleph.ExportResult("80-251-0225-4").ISBN == "80-251-0225-4"


def test_namedtuple_conveniences() -> None:
    query = aleph.GenericQuery("nkc", "Raymond", True, "wau")
    assert query._asdict() == {
        "base": "nkc",
        "phrase": "Raymond",
        "considerSimilar": True,
        "field": "wau",
    }
    assert list(query._asdict()) == ["base", "phrase", "considerSimilar", "field"]
    assert tuple(query) == ("nkc", "Raymond", True, "wau")
    base, phrase, similar, field = query
    assert (base, phrase, similar, field) == ("nkc", "Raymond", True, "wau")
    assert len(query) == 4
    assert query[0] == "nkc"
    assert query[3] == "wau"

    changed = query._replace(field="wrd")
    assert changed == aleph.GenericQuery("nkc", "Raymond", True, "wrd")
    assert type(changed) is aleph.GenericQuery
    assert query.field == "wau"  # the original is untouched


def test_replace_keeps_epublication_normalization() -> None:
    publication = RAYMOND._replace(ISBN="80-251-0225-4", autori="Raymond, Eric S.")
    assert publication.ISBN == ["80-251-0225-4"]
    assert publication.autori == [aleph.Author("Eric S.", "Raymond", "")]


@pytest.mark.parametrize(
    "message",
    [
        aleph.ISBNQuery("80-251-0225-4"),
        aleph.SearchRequest(aleph.ISBNQuery("80-251-0225-4")),
        aleph.Author("Eric S.", "Raymond", ""),
        RAYMOND,
        aleph.CountResult(1),
    ],
    ids=lambda message: type(message).__name__,
)
def test_messages_are_immutable(message: Message) -> None:
    first = message._fields[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(message, first, "changed")
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(message, first)
    # No instance dictionary to smuggle other attributes into.
    with pytest.raises((AttributeError, TypeError)):
        message.extra = 1  # type: ignore[attr-defined]
    assert not hasattr(message, "extra")
    assert not hasattr(message, "__dict__")


def test_equality_is_by_value_and_by_type() -> None:
    assert aleph.ISBNQuery("80-251-0225-4") == aleph.ISBNQuery("80-251-0225-4", "nkc")
    assert aleph.ISBNQuery("80-251-0225-4") != aleph.ISBNQuery("80-251-0225-4", "ckc")
    # Same field values, other class: never equal; nor equal to the tuple of its values.
    different: list[tuple[object, object]] = [
        (aleph.ISBNQuery("Raymond"), aleph.AuthorQuery("Raymond")),
        (aleph.AuthorQuery("Raymond"), aleph.TitleQuery("Raymond")),
        (aleph.SearchRequest(aleph.ISBNQuery("1")), aleph.CountRequest(aleph.ISBNQuery("1"))),
        (aleph.ExportResult("80-251-0225-4"), aleph.ISBNValidationRequest("80-251-0225-4")),
        (aleph.ISBNQuery("80-251-0225-4"), ("80-251-0225-4", "nkc")),
    ]
    for left, right in different:
        assert left != right
        assert right != left
    assert RAYMOND._replace() == RAYMOND
    assert RAYMOND._replace() is not RAYMOND
    assert RAYMOND._replace(nazev="Jiný název") != RAYMOND


def test_queries_are_hashable() -> None:
    assert len({aleph.ISBNQuery("1"), aleph.ISBNQuery("1", "nkc"), aleph.AuthorQuery("1")}) == 2


def test_epublication_normalizes_lenient_values() -> None:
    publication = aleph.EPublication(
        ISBN="80-251-0225-4",  # type: ignore[arg-type]
        nazev=None,  # type: ignore[arg-type]
        podnazev="",
        vazba=None,  # type: ignore[arg-type]
        cena="None",
        castDil="",
        nazevCasti="",
        nakladatelVydavatel="Computer Press,",
        datumVydani="2004",
        poradiVydani="",
        zpracovatelZaznamu="",
        format="",
        url="",
        mistoVydani="",
        ISBNSouboruPublikaci=None,  # type: ignore[arg-type]
        autori=["Raymond, Eric S.", aleph.Author("Jan", "Novák", "Ing.")],  # type: ignore[list-item]
        originaly="",  # type: ignore[arg-type]
        internal_url=None,  # type: ignore[arg-type]
    )
    assert publication.ISBN == ["80-251-0225-4"]
    assert publication.nazev == ""
    assert publication.vazba == ""
    assert publication.cena == ""
    assert publication.ISBNSouboruPublikaci == []
    assert publication.originaly == []
    assert publication.internal_url == ""
    assert publication.autori == [
        aleph.Author("Eric S.", "Raymond", ""),
        aleph.Author("Jan", "Novák", "Ing."),
    ]


def test_epublication_keeps_a_real_price() -> None:
    assert RAYMOND.cena == "Kč 590,00"
    assert aleph.EPublication.empty(cena="none").cena == "none"


def test_epublication_empty() -> None:
    blank = aleph.EPublication.empty()
    lists = {"ISBN", "ISBNSouboruPublikaci", "autori", "originaly", "invalid_ISBN"}
    for name in (*EPUBLICATION_2015_FIELDS, "urls", "internal_urls"):
        expected: object = [] if name in {*lists, "urls", "internal_urls"} else ""
        assert getattr(blank, name) == expected, name


def test_author_from_and_to_string() -> None:
    assert aleph.Author.from_string("Raymond, Eric S.") == aleph.Author("Eric S.", "Raymond", "")
    assert aleph.Author.from_string("  Čapek ,  Karel ") == aleph.Author("Karel", "Čapek", "")
    assert aleph.Author.from_string("Komenský") == aleph.Author("", "Komenský", "")
    assert aleph.Author("Eric S.", "Raymond").to_string() == "Raymond, Eric S."
    assert aleph.Author("", "Komenský").to_string() == "Komenský"


def test_author_turns_none_into_empty_text() -> None:
    author = aleph.Author(None, "Raymond", None)  # type: ignore[arg-type]
    assert author == aleph.Author("", "Raymond", "")


def test_repr_names_class_and_fields() -> None:
    assert repr(aleph.ISBNQuery("80-251-0225-4")) == "ISBNQuery(ISBN='80-251-0225-4', base='nkc')"
    assert repr(aleph.SearchRequest(aleph.DocumentQuery(1))) == (
        "SearchRequest(query=DocumentQuery(doc_id=1, library='NKC01'))"
    )


def test_epublication_nulls_inside_lists_become_empty_strings() -> None:
    publication = aleph.EPublication.empty(
        ISBN=["80-251-0225-4", None], originaly=(None,), autori=("Raymond, Eric S.",)
    )
    assert publication.ISBN == ["80-251-0225-4", ""]
    assert publication.originaly == [""]
    assert publication.autori == [aleph.Author("Eric S.", "Raymond", "")]
