"""The rules of DESIGN §3.3 for a continuing resource, one by one, on records written here.

The real records (tests/aleph/golden_periodicals.py) have few ISSNs and one imprint
each; these small OAI-MARC records hold what they lack: cancelled and wrongly checked
ISSNs, a linking ISSN, several ``260``/``264`` fields, acquisition's ``sk`` sign.
"""

from __future__ import annotations

import pytest

from edeposit.amqp.aleph import AlephRecord, EPeriodical, EPeriodicalSemanticInfo
from edeposit.amqp.errors import DocumentNotFoundException, InvalidISSNError
from edeposit.amqp.marc.issn import checked_issn, is_valid_issn, issn_of


def _field(tag: str, subfields: list[tuple[str, str]], i1: str = " ", i2: str = " ") -> str:
    inner = "".join(f'<subfield label="{code}">{value}</subfield>' for code, value in subfields)
    return f'<varfield id="{tag}" i1="{i1}" i2="{i2}">{inner}</varfield>'


def _record(*fields: str, fmt: str = "SE") -> str:
    return (
        f'<oai_marc><fixfield id="FMT">{fmt}</fixfield>'
        f'<fixfield id="001">cps20990000001</fixfield>{"".join(fields)}</oai_marc>'
    )


def test_issns_valid_invalid_and_linking() -> None:
    xml = _record(
        _field(
            "022",
            [
                ("a", "1213-8215 (tištěná verze)"),  # cut at the first space
                ("z", "1213-8216"),  # cancelled
                ("l", "1213-8215"),  # ISSN-L
            ],
        ),
        _field("022", [("a", "0042-4545"), ("y", "0042-454X")]),  # bad check digit; incorrect
        _field("022", [("a", "1213-8216")]),  # also given as $z: not valid
        _field("022", [("a", "0069-228x")]),  # a lower-case X is a valid check digit
    )
    periodical = EPeriodical.from_xml(xml)
    assert periodical.ISSN == ["1213-8215", "0069-228x"]
    # $z, then $y, then the $a values whose check digit fails; no repeats
    assert periodical.invalid_ISSNs == ["1213-8216", "0042-454X", "0042-4545"]
    assert periodical.ISSNSouboruPublikaci == ["1213-8215"]


def test_imprint_from_blank_260_and_every_264_joined() -> None:
    xml = _record(
        _field("260", [("a", "Praha :"), ("b", "Academia,"), ("c", "[1990]-")]),
        _field("260", [("3", "1995-"), ("a", "Brno :"), ("b", "Host")], i1="3"),  # later
        _field("264", [("a", "Praha :"), ("b", "Academia ;"), ("c", "2001-")], i2="1"),
        _field("264", [("a", "Brno -"), ("b", "{Host}"), ("c", "©2003")], i2="4"),
    )
    periodical = EPeriodical.from_xml(xml)
    # 260 _ _ first, then each 264, cleaned, the repeats dropped in that order
    assert periodical.mistoVydani == "Praha, Brno"
    assert periodical.nakladatelVydavatel == "Academia, {Host}"  # braces stay
    assert periodical.datumVydani == "1990, 2001-, 2003"  # dates keep a "-" after a digit


def test_titles_links_annotation_number() -> None:
    xml = _record(
        _field("245", [("a", "Zpravodaj :"), ("b", "[měsíčník obce] /"), ("c", "obec")]),
        _field("520", [("a", "Zprávy z obce.")]),
        _field("856", [("u", "http://obec.example/")], i1="4", i2="2"),
        _field("856", [("u", "http://edeposit.example/file.pdf")], i1="4", i2="0"),
        _field("998", [("a", "http://aleph.example/doc")]),
        _field("URL", [("u", "http://edeposit.example/uuid")]),
    )
    periodical = EPeriodical.from_xml(xml)
    assert (periodical.nazev, periodical.podnazev) == ("Zpravodaj", "měsíčník obce")
    assert periodical.anotace == "Zprávy z obce."
    assert periodical.id_number == "cps20990000001"
    assert periodical.url == ["http://obec.example/"]
    assert periodical.internal_url == [
        "http://edeposit.example/file.pdf",
        "http://aleph.example/doc",
        "http://edeposit.example/uuid",
    ]


def test_acquisition_from_hld_stz_and_the_sk_sign() -> None:
    xml = _record(
        _field("HLD", [("a", "x")]),
        _field("STZ", [("a", "du20151120"), ("b", "mazi")]),
        _field("IST", [("a", "sk 20151111"), ("b", "pepe")], i1="1"),  # spaces removed
        _field("IST", [("a", "jp20151112"), ("b", "kola")], i1="1"),  # a cataloguer's: none
        _field("BAS", [("a", "90")]),
        _field("PJM", [("a", "Seriálový záznam viz cps20150003391")]),
    )
    assert EPeriodicalSemanticInfo.from_xml(xml) == EPeriodicalSemanticInfo(
        hasAcquisitionFields=True,
        acquisitionFields=["du20151120", "mazi", "sk20151111", "pepe"],
        isClosed=True,
        isSummaryRecord=True,
        contentOfFMT="SE",
        parsedSummaryRecordSysNumber="cps20150003391",
        summaryRecordSysNumber="Seriálový záznam viz cps20150003391",
    )
    # the sign alone marks a serial acquired, without HLD
    signed = _record(_field("IST", [("a", "sk20151111"), ("b", "pepe")], i1="1"))
    assert EPeriodicalSemanticInfo.from_xml(signed).hasAcquisitionFields is True


def test_a_record_is_a_continuing_resource_by_its_fmt_alone() -> None:
    issn = _field("022", [("a", "1213-8215")])
    serial = AlephRecord("nkc", "NKC01", 1, _record(issn))
    book = AlephRecord("nkc", "NKC01", 1, _record(issn, fmt="BK"))
    assert isinstance(serial.parsed_info, EPeriodical)
    assert serial.parsed_info.ISSN == ["1213-8215"]
    assert isinstance(serial.parsed_semantic_info, EPeriodicalSemanticInfo)
    assert book.periodical is None and book.periodical_semantic_info is None
    assert book.parsed_info is book.epublication
    assert book.parsed_semantic_info is book.semantic_info


def test_a_deleted_record() -> None:
    xml = _record(_field("DEL", [("a", "Y")]), _field("245", [("a", "Zrušeno")]))
    with pytest.raises(DocumentNotFoundException):
        EPeriodical.from_xml(xml)
    # a record built from its XML alone has empty values, as for any unreadable record
    assert AlephRecord("nkc", "NKC01", 1, xml).parsed_info == EPeriodical.empty()


@pytest.mark.parametrize(
    ("text", "issn"),
    [
        ("1213-8215", "1213-8215"),
        ("12138215", "1213-8215"),
        ("0069-228x", "0069-228X"),
        (" 0042-4544 ", "0042-4544"),
    ],
)
def test_checked_issn(text: str, issn: str) -> None:
    assert checked_issn(text) == issn
    assert is_valid_issn(text)


@pytest.mark.parametrize("text", ["1213-8216", "1213-821", "12138215X", "ISSN 1213-8215", ""])
def test_checked_issn_refuses(text: str) -> None:
    with pytest.raises(InvalidISSNError, match="is not a valid ISSN"):
        checked_issn(text)
    assert not is_valid_issn(text)


def test_issn_of_a_022_value() -> None:
    assert issn_of(" 1213-8215 (tištěná verze)") == "1213-8215"
    assert issn_of("") == ""
