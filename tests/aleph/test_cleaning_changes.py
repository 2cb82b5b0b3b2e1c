"""The 2014 and 2015 forms of every fixture record change only where the corrected cleaning says.

DESIGN §3.3 corrected the characters cleaned off both ends of a text value to the set
the production system actually applied, ``/:;,- []<>()``: the hyphen joined, braces and
the backslash left. :data:`FORMS_BEFORE` holds a digest of each fixture record's 2014
and 2015 forms as the daemon wrote them before the correction (``xml`` left out, keys
sorted); :data:`CHANGED` lists every value the correction changed in them. Undoing those
changes must give the digests back, so any other change to these forms fails here.

No value of a fixture record changed: the values ending in a hyphen are dates, which
keep a hyphen after a digit by their own rule (``2015-``, ``[2014?]-`` → ``2014``), or
sit in fields no form reads (``100 $d 1963-``, ``362``, ``910``, ``043``), and no value
has a brace or a backslash at an end. The rule itself, where it changes values, is
shown below on a record written here.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from edeposit.amqp.aleph import AlephRecord, EPeriodical, EPublication
from edeposit.amqp.marc.punctuation import clean
from edeposit.amqp.wire.codec import WireOptions, encode
from tests.conftest import ALEPH_FIXTURES

#: File name → digests (the first 20 hex digits of SHA-256) of its 2014 and 2015 forms,
#: as written before the correction.
FORMS_BEFORE: dict[str, tuple[str, str]] = {
    "nkp_marcxml_deti_otroku_020z_nkc20081807432.xml":
        ("3e8a384a4f9522212ce7", "de1780644fb9874ccc89"),
    "nkp_marcxml_drupal_translation_no100_nkc20112251644.xml":
        ("948f4cd790398a35762d", "ee37bf11d744dc683f5d"),
    "nkp_marcxml_hejny_kurina_two_authors_isbn13_nkc20081810391.xml":
        ("932dab987bf780c85881", "90ab5787c655e6ebbfdf"),
    "nkp_marcxml_unix_raymond_translation_765_cpk20051492461.xml":
        ("47a87fb13b5cef58676d", "5b0b04cb61666935ad1e"),
    "nkp_marcxml_vladci_strachu_isbn10_price_cpk19950114753.xml":
        ("f95d88137b00292e4baf", "2e885a799fce99410c57"),
    "nkp_oai_marc_periodical_cps20150003391.xml":
        ("3ed3a0d03acb8e208366", "f24406876592edeb0632"),
    "nkp_oai_marc_reserialized_ebook_kviti_nkc20150003390.xml":
        ("9f207c7504054aad7314", "6b511ea767accc5e5f3c"),
    "nkp_oai_marc_reserialized_periodical_issn_cps20021122037.xml":
        ("2070a7dace3f2cd0a879", "02ff111acf46996d3e49"),
    "nkp_oai_marc_reserialized_two_020_zavate_doby_nkc20150003109.xml":
        ("1fe34096e9739194d649", "2c879ba362a86b4b478f"),
    "kbdk_present_danmarc2_003513107.xml":
        ("5d536d87a8c8fb704324", "81580561c4e4a3db17fe"),
    "nkp_find_doc_echa_eserial_nkc20150003059.xml":
        ("2a90a396fe2bc3fde78a", "086e6b0769e388097af6"),
    "nkp_find_doc_may_ardistan_3x020_240_cpk19990652691.xml":
        ("6e11f487c15797a8cdca", "5a429d027b9b4b69b9f5"),
    "nkp_find_doc_pasivni_domy_nkc20150003035.xml":
        ("adb3bba54c5719fedd24", "d940aecc44bfa0ed78ef"),
    "nkp_find_doc_unix_raymond_cpk20051492461.xml":
        ("8532ec30617407b61817", "621eb983f6048587a0dc"),
    "nkp_present_periodical_with_no_entry_error_cps19950356514.xml":
        ("f4d2737beea18e4276b5", "fd3887fccb17b7cf5bff"),
    "nkp_present_single_cze_dep_000003024.xml":
        ("ffd8adaf3cc51f4f5ebc", "3835d8d0705073bf868b"),
    "aleph_buletin.xml":
        ("bb738f21977cfdcaac50", "c866ded5f5e04280d692"),
    "aleph_epub.xml":
        ("2a90a396fe2bc3fde78a", "086e6b0769e388097af6"),
    "aleph_pasivni_domy.xml":
        ("adb3bba54c5719fedd24", "d940aecc44bfa0ed78ef"),
}  # fmt: skip

#: (file name, generation, key of the publication) → (value before, value after).
CHANGED: dict[tuple[str, str, str], tuple[str, str]] = {}


def _record_files() -> list[Path]:
    folder = ALEPH_FIXTURES.parent
    if not folder.is_dir():
        return []
    return [path for path in sorted(folder.rglob("*.xml")) if b"field" in path.read_bytes()]


RECORD_FILES = _record_files()


def _form(path: Path, generation: str) -> dict[str, Any]:
    """The record's form in ``generation`` as the daemon writes it, ``xml`` left out."""
    xml = path.read_text(encoding="utf-8")
    record = AlephRecord("nkc", "NKC01", 1, xml, EPublication.from_xml(xml))
    form: dict[str, Any] = json.loads(encode(record, WireOptions(generation=generation)))
    del form["xml"]
    return form


def _digest(form: dict[str, Any]) -> str:
    text = json.dumps(form, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def test_every_record_file_has_its_digests(aleph_fixtures: Path) -> None:
    assert sorted(path.name for path in RECORD_FILES) == sorted(FORMS_BEFORE)


@pytest.mark.parametrize("generation", ["2014", "2015"])
@pytest.mark.parametrize(
    "record_file",
    RECORD_FILES or [None],
    ids=lambda path: path.name if path else "no-fixtures",
)
def test_forms_change_only_where_the_corrected_set_says(
    record_file: Path | None, generation: str, aleph_fixtures: Path
) -> None:
    assert record_file is not None
    form = _form(record_file, generation)
    publication = form["epublication"]
    for (name, changed_generation, key), (before, after) in CHANGED.items():
        if (name, changed_generation) == (record_file.name, generation):
            assert publication[key] == after
            assert clean(after) == after != before  # the correction made it
            publication[key] = before
    assert _digest(form) == FORMS_BEFORE[record_file.name][generation == "2015"], (
        f"the {generation} form of {record_file.name} changed: {json.dumps(form)[:2000]}"
    )


def _field(tag: str, subfields: list[tuple[str, str]], i2: str = " ") -> str:
    inner = "".join(f'<subfield label="{code}">{value}</subfield>' for code, value in subfields)
    return f'<varfield id="{tag}" i1=" " i2="{i2}">{inner}</varfield>'


@pytest.mark.parametrize("fmt", ["BK", "SE"])
def test_what_the_corrected_set_changes_in_every_generation(fmt: str) -> None:
    """A hyphen at an end goes (but a date's after a digit), braces and backslashes stay."""
    xml = (
        f'<oai_marc><fixfield id="FMT">{fmt}</fixfield>'
        + _field("245", [("a", "Ročenka {2015} -"), ("b", "- sborník \\")])
        + _field("264", [("a", "Praha -"), ("b", "{Nakladatel} ;"), ("c", "2015-")], i2="1")
        + "</oai_marc>"
    )
    record = AlephRecord("nkc", "NKC01", 1, xml)
    expected = {"nazev": "Ročenka {2015}", "podnazev": "sborník \\", "mistoVydani": "Praha"}
    expected |= {"nakladatelVydavatel": "{Nakladatel}", "datumVydani": "2015-"}
    for generation, key in (
        ("2014", "epublication"),
        ("2015", "epublication"),
        ("2016", "parsed_info"),
    ):
        written = json.loads(encode(record, WireOptions(generation=generation)))[key]
        assert {name: written[name] for name in expected} == expected, generation
    assert isinstance(record.parsed_info, EPeriodical if fmt == "SE" else EPublication)
