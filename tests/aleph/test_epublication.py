"""MARC → EPublication on the real NKP records, read straight from the fixture files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from edeposit.amqp.aleph import Author, DocumentNotFoundException, EPublication
from edeposit.amqp.marc.mapping import split_isbn
from edeposit.amqp.marc.record import find_record_element, read_record
from edeposit.amqp.marc.safe_xml import parse_xml
from tests.wire_samples import RAYMOND

FixtureFile = Callable[[str], Path]


def convert(path: Path) -> EPublication:
    return EPublication.from_xml(path.read_bytes())


def record_files(folder: Path) -> list[Path]:
    """Every fixture file that holds a MARC record (not the bare find replies)."""
    return [path for path in sorted(folder.rglob("*.xml")) if b"field" in path.read_bytes()]


def test_golden_values_from_oai_marc(raymond_oai: Path) -> None:
    assert convert(raymond_oai) == RAYMOND


def test_golden_values_from_marc_xml(raymond_marcxml: Path) -> None:
    assert convert(raymond_marcxml) == RAYMOND


def test_every_fixture_record_converts_without_nulls(aleph_fixtures: Path) -> None:
    files = record_files(aleph_fixtures)
    assert len(files) >= 15
    for path in files:
        publication = convert(path)
        for name, value in publication._asdict().items():
            assert value is not None, (path.name, name)
            assert isinstance(value, list | str), (path.name, name)


@pytest.mark.parametrize(
    "namespace",
    ["http://www.loc.gov/MARC21/slim/", "http://www.loc.gov/MARC21/slim", "urn:other", None],
)
def test_marc_xml_under_any_namespace(raymond_marcxml: Path, namespace: str | None) -> None:
    text = raymond_marcxml.read_text(encoding="utf-8")
    declaration = 'xmlns="http://www.loc.gov/MARC21/slim/"'
    text = text.replace(declaration, f'xmlns="{namespace}"' if namespace else "")
    assert EPublication.from_xml(text.encode()) == RAYMOND


@pytest.mark.parametrize("dialect", ["oai", "marcxml"])
def test_field_order_is_never_assumed(
    raymond_oai: Path, raymond_marcxml: Path, dialect: str
) -> None:
    path = raymond_oai if dialect == "oai" else raymond_marcxml
    holder = find_record_element(parse_xml(path.read_bytes()))
    assert holder is not None
    children = list(holder)
    for child in children:
        holder.remove(child)
    for child in reversed(children):  # leader and control fields last, 100 after 765…
        holder.append(child)
    assert EPublication.from_marc(read_record(holder)) == RAYMOND


def test_three_020_fields(fixture_file: FixtureFile) -> None:
    publication = convert(fixture_file("may_ardistan_3x020"))
    assert publication.ISBN == ["80-7174-091-8", "80-7174-129-9", "80-7174-173-6"]
    assert publication.vazba == "(sv. 1 : váz.) :"
    assert publication.cena == "Kč 182,00"
    assert publication.originaly == ["Ardistan und Dschinnistan."]  # from 240 $a
    assert publication.autori == [Author("Karl", "May", "")]  # 700 ill and trl are not authors
    assert publication.datumVydani == "1998-1999"


def test_cancelled_isbns_in_020z_are_not_isbns(fixture_file: FixtureFile) -> None:
    publication = convert(fixture_file("deti_otroku_020z"))
    assert publication.ISBN == ["978-80-260-0791-3"]
    assert publication.vazba == "(v knize neuvedeno : brož.)"
    assert publication.cena == "Kč 99,00"
    assert publication.zpracovatelZaznamu == "KMG001"


def test_translation_via_765_and_no_100(fixture_file: FixtureFile) -> None:
    publication = convert(fixture_file("drupal_translation_no100"))
    assert publication.originaly == ["Drupal 7 module development"]
    assert publication.autori == [Author("Matt", "Butcher", "")]
    assert publication.nazev == "Drupal :"
    assert publication.podnazev == "programování modulů /"


def test_forename_quirk_and_co_author(fixture_file: FixtureFile) -> None:
    publication = convert(fixture_file("hejny_kurina"))
    assert publication.autori == [Author("Milan", "Hejný", ""), Author("František", "Kuřina", "")]
    assert publication.ISBN == ["978-80-7367-397-0"]
    assert publication.vazba == "(brož.)"
    assert publication.poradiVydani == "2., aktualiz. vyd."


def test_repeated_publisher_subfields_are_joined(fixture_file: FixtureFile) -> None:
    publication = convert(fixture_file("vladci_strachu"))
    assert publication.nakladatelVydavatel == "United Fans : Klub Julese Vernea,"
    assert publication.vazba == "(Klub Julese Vernea : brož.) :"
    assert publication.cena == "Kč 69,00"


def test_rda_qualifiers_set_isbn_and_parts(fixture_file: FixtureFile) -> None:
    publication = convert(fixture_file("zavate_doby"))
    assert publication.ISBN == ["978-80-260-9077-9", "978-80-260-9076-2"]
    assert publication.ISBNSouboruPublikaci == ["978-80-260-9076-2"]
    assert publication.vazba == "(online : pdf)"
    assert publication.castDil == "Svazek II.,"
    assert publication.nazevCasti == "Atlantis, Říše Inků ..."
    assert publication.url.startswith("http://edeposit-test.nkp.cz/producents/")
    assert publication.zpracovatelZaznamu == ""


def test_editor_only_gives_no_authors(fixture_file: FixtureFile) -> None:
    publication = convert(fixture_file("pasivni_domy"))
    assert publication.autori == []
    assert publication.ISBN == ["978-80-904739-3-5"]
    assert publication.vazba == "(online : pdf)"


@pytest.mark.parametrize(
    ("part", "date", "place", "publisher"),
    [
        ("periodical_cps20150003391", "2015-", "Zámecká Lhota :", "Vydavatelství Stáza,"),
        ("echa_eserial", "[2014?]-", "Praha :", "Institut pro studium literatury,"),
        ("periodical_issn", "2002-", "Praha :", "JASTOG.CZ,"),
        ("periodical_with_no_entry", "1953-1992", None, "Academia,"),
    ],
)
def test_serials(
    fixture_file: FixtureFile, part: str, date: str, place: str | None, publisher: str
) -> None:
    publication = convert(fixture_file(part))
    assert publication.ISBN == []
    assert publication.datumVydani == date  # 264 where 260 is absent (RDA)
    if place is not None:
        assert publication.mistoVydani == place
    assert publication.nakladatelVydavatel == publisher
    assert publication.nazev


def test_deleted_record_is_not_found(raymond_oai: Path) -> None:
    root = parse_xml(raymond_oai.read_bytes())
    holder = find_record_element(root)
    assert holder is not None
    deleted = etree.SubElement(holder, "varfield", id="DEL", i1=" ", i2=" ")
    etree.SubElement(deleted, "subfield", label="a").text = "Y"
    with pytest.raises(DocumentNotFoundException, match="cpk20051492461"):
        EPublication.from_marc(read_record(root))


def test_record_view_reads_leader_controls_and_blank_indicators(raymond_oai: Path) -> None:
    record = read_record(parse_xml(raymond_oai.read_bytes()))
    assert record.leader == "-----cam-a22------a-4500"
    assert record.controls["001"] == "cpk20051492461"
    assert record.controls["FMT"] == "BK"
    (field,) = record.fields_of("765")
    assert (field.ind1, field.ind2) == ("0", " ")
    assert record.values("080", "a") == ["004.451.9Unix", "004.451", "004.42", "(035)"]
    assert not record.is_deleted


def test_empty_oai_indicators_read_as_blank() -> None:
    root = parse_xml(b'<oai_marc><varfield id="245" i1="" i2=""><subfield label="a">T</subfield>'
                     b"</varfield></oai_marc>")  # fmt: skip
    (field,) = read_record(root).fields_of("245")
    assert (field.ind1, field.ind2) == (" ", " ")


def test_element_without_record_is_an_error() -> None:
    with pytest.raises(ValueError, match="holds no OAI-MARC or MARC 21 record"):
        read_record(parse_xml(b"<find><set_number>1</set_number></find>"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("80-251-0225-4 (brož.) :", ("80-251-0225-4", "(brož.) :")),
        ("978-80-260-9077-9", ("978-80-260-9077-9", "")),
        ("0-8044-2957-x :", ("0-8044-2957-x", ":")),
        ("ISBN 80-251-0225-4", ("80-251-0225-4", "")),
        ("(brož.)", ("", "")),
        ("", ("", "")),
    ],
)
def test_split_isbn(text: str, expected: tuple[str, str]) -> None:
    assert split_isbn(text) == expected


_TAGS = st.sampled_from(["020", "040", "100", "240", "245", "250", "260", "264", "300", "700"])
_CODES = st.sampled_from(list("abcdnpqtuz4"))
_VALUES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cn")), min_size=0, max_size=20
)
_FIELDS = st.lists(
    st.tuples(_TAGS, st.sampled_from(["", " ", "0", "1"]), st.lists(st.tuples(_CODES, _VALUES))),
    max_size=12,
)


def slim_record(fields: list[tuple[str, str, list[tuple[str, str]]]]) -> bytes:
    parts = ['<record xmlns="http://www.loc.gov/MARC21/slim"><leader>-----nam-a22</leader>']
    for tag, indicator, subfields in fields:
        parts.append(f'<datafield tag="{tag}" ind1="{indicator}" ind2="{indicator}">')
        parts += [
            f'<subfield code="{code}">{escape(value)}</subfield>' for code, value in subfields
        ]
        parts.append("</datafield>")
    parts.append("</record>")
    return "".join(parts).encode()


@given(_FIELDS)
def test_any_record_maps_to_clean_values(
    fields: list[tuple[str, str, list[tuple[str, str]]]],
) -> None:
    publication = EPublication.from_xml(slim_record(fields))
    for name, value in publication._asdict().items():
        assert isinstance(value, list | str), name
        if isinstance(value, str):
            assert value == value.strip(), name
    wanted = {
        split_isbn(value)[0]
        for tag, _, subs in fields
        if tag == "020"
        for code, value in subs
        if code == "a"
    }
    assert set(publication.ISBN) <= wanted
    assert all(isinstance(author, Author) for author in publication.autori)
