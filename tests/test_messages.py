"""The message classes in Python: construction like the original clients, immutability, equality."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from edeposit.amqp import aleph, settings
from edeposit.amqp.wire.message import REGISTRY, Message
from tests.wire_samples import EPUBLICATION_FIELDS, MESSAGE_CLASS_NAMES, RAYMOND

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
    "SearchResult": ["records"],
    "CountResult": ["num_of_records"],
    "ISBNValidationResult": ["is_valid"],
    "ExportResult": ["ISBN"],
    "AlephRecord": ["base", "library", "docNumber", "xml", "epublication"],
    "EPublication": list(EPUBLICATION_FIELDS),
    "Author": ["firstName", "lastName", "title"],
}


def test_registry_holds_exactly_the_message_classes() -> None:
    assert set(REGISTRY) == set(MESSAGE_CLASS_NAMES)
    for name, cls in REGISTRY.items():
        assert cls.__name__ == name
        assert issubclass(cls, Message)
        assert getattr(aleph, name) is cls


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_positional_parameters_keep_the_original_order(name: str) -> None:
    cls = REGISTRY[name]
    assert list(inspect.signature(cls).parameters) == SIGNATURES[name]
    assert list(cls._fields) == SIGNATURES[name]


def test_epublication_has_exactly_the_18_fields_in_order() -> None:
    assert aleph.EPublication._fields == EPUBLICATION_FIELDS
    assert tuple(f.name for f in dataclasses.fields(aleph.EPublication)) == EPUBLICATION_FIELDS


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
    for name in EPUBLICATION_FIELDS:
        expected: object = (
            [] if name in {"ISBN", "ISBNSouboruPublikaci", "autori", "originaly"} else ""
        )
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
