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
from edeposit.amqp.marc.isbn import is_valid_isbn
from edeposit.amqp.marc.mapping import split_isbn
from edeposit.amqp.marc.punctuation import ISBD_PUNCTUATION, clean
from edeposit.amqp.marc.record import find_record_element, read_record
from edeposit.amqp.marc.safe_xml import parse_xml
from tests.wire_samples import RAYMOND, RAYMOND_MARCXML

FixtureFile = Callable[[str], Path]


def convert(path: Path) -> EPublication:
    return EPublication.from_xml(path.read_bytes())


def record_files(folder: Path) -> list[Path]:
    """Every fixture file that holds a MARC record (not the bare find replies)."""
    return [path for path in sorted(folder.rglob("*.xml")) if b"field" in path.read_bytes()]


def test_golden_values_from_oai_marc(raymond_oai: Path) -> None:
    assert convert(raymond_oai) == RAYMOND


def test_golden_values_from_marc_xml(raymond_marcxml: Path) -> None:
    # The same record; ill_get_doc's copy has NKP's 901 $f and no 998 permalink.
    assert convert(raymond_marcxml) == RAYMOND_MARCXML


def test_the_contract_reference_values(raymond_oai: Path, raymond_marcxml: Path) -> None:
    """DESIGN §3.3's reference for cpk20051492461, in both of Aleph's dialects."""
    for publication in (convert(raymond_oai), convert(raymond_marcxml)):
        assert publication.ISBN == ["80-251-0225-4"]
        assert publication.nazev == "Umění programování v UNIXu"
        assert publication.vazba == "brož."
        assert publication.cena == "Kč 590,00"
        assert publication.mistoVydani == "Brno"
        assert publication.nakladatelVydavatel == "Computer Press"
        assert publication.datumVydani == "2004"
        assert publication.zpracovatelZaznamu == "BOA001"
        assert publication.format == "23 cm"
        assert publication.autori == [Author("Eric S.", "Raymond", "")]
        assert publication.originaly == ["Art of UNIX programming"]
    assert convert(raymond_oai).poradiVydani == "Vyd. 1."  # no 901: 250 $a
    assert convert(raymond_marcxml).poradiVydani == "1. vyd."  # its 901 $f


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
    assert EPublication.from_xml(text.encode()) == RAYMOND_MARCXML


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
    expected = RAYMOND if dialect == "oai" else RAYMOND_MARCXML
    assert EPublication.from_marc(read_record(holder)) == expected


# Each real record's values, field by field: tests/aleph/test_real_records.py.


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
        if isinstance(value, str) and name not in ("url", "internal_url"):
            assert value == clean(value), name  # no ISBD punctuation left at its ends
            assert not value or value[-1] not in ISBD_PUNCTUATION or value[-1] in ")]}>", name
    heads = [
        split_isbn(value)[0]
        for tag, _, subs in fields
        if tag == "020"
        for code, value in subs
        if code in "az"
    ]
    assert set(publication.ISBN) <= set(heads)
    assert all(is_valid_isbn(isbn) for isbn in publication.ISBN)
    assert not set(publication.ISBN) & set(publication.invalid_ISBN)
    assert publication.ISBNSouboruPublikaci == []
    assert all(isinstance(author, Author) for author in publication.autori)
