"""The e-deposit export form: fields of ALEPH-XSERVICES.md §10, checks before sending."""

from __future__ import annotations

from typing import Any

import pytest
from urllib3 import HTTPHeaderDict

from edeposit.amqp.aleph import (
    Author,
    EPublication,
    ExportException,
    InvalidISBNException,
)
from edeposit.amqp.catalogue.export import export_form, rejection_of
from edeposit.amqp.catalogue.transport import Response
from tests.wire_samples import RAYMOND


def publication(**changes: Any) -> EPublication:
    """A complete printed book, as the front-end sends it."""
    values: dict[str, Any] = {
        "ISBN": ["80-251-0225-4"],
        "nazev": "Umění programování v UNIXu",
        "podnazev": "",
        "vazba": "brož.",
        "cena": "590 Kč",
        "castDil": "",
        "nazevCasti": "",
        "nakladatelVydavatel": "Computer Press",
        "datumVydani": "2004",
        "poradiVydani": "1. vyd.",
        "zpracovatelZaznamu": "Computer Press",
        "format": "",
        "url": "",
        "mistoVydani": "Brno",
        "ISBNSouboruPublikaci": [],
        "autori": [Author("Eric S.", "Raymond")],
        "originaly": [],
        "internal_url": "http://edeposit.example/file/1",
    }
    values.update(changes)
    return EPublication(**values)


def test_printed_book() -> None:
    form = export_form(publication(), signature="edeposit")
    assert form["sid"] == "edeposit"
    assert form["P0100LDR__"] == "-----nam-a22------a-4500"
    assert form["P0200FMT__"] == "BK"
    assert form["P0300BAS__a"] == "30"
    assert form["P0501010__a"] == form["P1601ISB__a"] == "80-251-0225-4"
    assert form["P0502010__b"] == "brož."
    assert form["P07012001_a"] == "Umění programování v UNIXu"
    assert form["P07022001_b"] == ""
    assert form["P1301ZAK__b"] == "Raymond, Eric S."
    assert form["P1302ZAK__c"] == form["P1303ZAK__c"] == ""
    assert form["P0901210__a"] == "Brno"
    assert form["P0902210__c"] == "Computer Press"
    assert form["P0903210__d"] == "2004"
    assert form["P0801205__a"] == "1. vyd."
    assert form["P1501IST1_a"] == "ow"
    assert form["P1502IST1_b"] == "Computer Press"
    assert form["P1801URL__u"] == "http://edeposit.example/file/1"
    assert form["P0601010__a"] == form["P0601010__b"] == ""
    assert all(isinstance(value, str) for value in form.values())


def test_online_publication_goes_to_base_49_and_needs_a_format() -> None:
    form = export_form(publication(vazba="online", format="pdf"), signature="s")
    assert (form["P0300BAS__a"], form["P1501IST1_a"]) == ("49", "ox")
    assert form["P07022001_b"] == "elektronický zdroj"
    assert form["P0503010__x"] == "pdf"
    with pytest.raises(ExportException, match="format"):
        export_form(publication(vazba="online", format=""), signature="s")


def test_map_and_cd_rom() -> None:
    maps = export_form(publication(vazba="mapa"), signature="s")
    assert (maps["P0100LDR__"], maps["P0200FMT__"]) == ("-----nem-a22------a-4500", "MP")
    assert maps["P07022001_b"] == "kartografický dokument"
    disc = export_form(publication(vazba="CD-ROM"), signature="s")
    assert (disc["P0300BAS__a"], disc["P07022001_b"]) == ("30", "elektronický zdroj")


def test_catalogue_punctuation_is_removed() -> None:
    """A record read from Aleph (ISBD punctuation kept) can be exported as it is."""
    form = export_form(RAYMOND, signature="s")
    assert form["P07012001_a"] == "Umění programování v UNIXu"
    assert form["P0502010__b"] == "brož."
    assert form["P0901210__a"] == "Brno"
    assert form["P0902210__c"] == "Computer Press"


def test_set_isbn_and_three_authors() -> None:
    authors = [Author("A", "One"), Author("B", "Two"), Author("C", "Three"), Author("D", "Four")]
    form = export_form(
        publication(ISBNSouboruPublikaci="978-80-7367-397-0", autori=authors), signature="s"
    )
    assert form["P0601010__a"] == "978-80-7367-397-0"
    assert form["P0601010__b"] == "soubor : 978-80-7367-397-0"
    assert [form["P1301ZAK__b"], form["P1302ZAK__c"], form["P1303ZAK__c"]] == [
        "One, A",
        "Two, B",
        "Three, C",
    ]


def test_lenient_shapes_of_design_3_2() -> None:
    legacy = EPublication(
        **{**publication()._asdict(), "ISBN": "0-8044-2957-x", "cena": "None", "autori": ["X, Y"]}
    )
    form = export_form(legacy, signature="s")
    assert form["P0501010__a"] == "0-8044-2957-X"
    assert form["P0504010__d"] == ""
    assert form["P1301ZAK__b"] == "X, Y"


@pytest.mark.parametrize("isbn", [[], [""], "80-251-0225-5", ["not an isbn"], ["80-251-0225-4 x"]])
def test_missing_or_invalid_isbn(isbn: Any) -> None:
    with pytest.raises(InvalidISBNException):
        export_form(publication(ISBN=isbn), signature="s")


def test_invalid_set_isbn() -> None:
    with pytest.raises(InvalidISBNException, match="set"):
        export_form(publication(ISBNSouboruPublikaci=["123"]), signature="s")


def test_missing_fields_are_all_named() -> None:
    with pytest.raises(ExportException) as caught:
        export_form(
            publication(nazev="", mistoVydani=" : ", vazba="", poradiVydani=None), signature="s"
        )
    assert not isinstance(caught.value, InvalidISBNException)
    for name in ("nazev", "mistoVydani", "vazba", "poradiVydani"):
        assert name in str(caught.value)
    assert "datumVydani" not in str(caught.value)


@pytest.mark.parametrize(
    ("headers", "body", "rejected"),
    [
        ({"Aleph-Info": "error: duplicate ISBN"}, b"<html>ok</html>", True),
        ({"aleph-info": "  ERROR"}, b"", True),
        ({"Aleph-Info": "ok"}, b"<html>ok</html>", False),
        ({}, "<p>Požadavek byl odmítnut</p>".encode(), True),
        ({}, "<p>Požadavek byl odmítnut</p>".encode("cp1250"), True),
        ({}, "<p>Požadavek byl přijat</p>".encode(), False),
    ],
)
def test_rejection_detection(headers: dict[str, str], body: bytes, rejected: bool) -> None:
    reply = Response(200, HTTPHeaderDict(headers), body)
    assert (rejection_of(reply) is not None) is rejected
