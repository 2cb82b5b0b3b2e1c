"""Corpus loading: every format, the real fixtures, duplicates and system numbers."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pymarc
import pytest
from lxml import etree

from edeposit.amqp.emulator import AlephEmulator
from edeposit.amqp.emulator.corpus import SourceRecord, expand_paths, read_corpus, system_number
from edeposit.amqp.emulator.iso2709 import read_iso2709
from edeposit.amqp.emulator.record import Field, pack, unpack
from tests.emulator.helpers import X

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def _fixture_records(folder: Path) -> list[tuple[Path, str]]:
    """(file, 001) of every record in the shared fixtures."""
    found = []
    for path in sorted(folder.rglob("*.xml")):
        tree = etree.parse(str(path), _PARSER)
        for value in tree.xpath(
            "//*[local-name()='fixfield' and @id='001']/text()"
            " | //*[local-name()='controlfield' and @tag='001']/text()"
            " | //*[local-name()='varfield' and @id='001']/*[local-name()='subfield'][1]/text()"
        ):
            found.append((path, str(value)))
    return found


def test_every_fixture_record_is_served(real: X, aleph_fixtures: Path) -> None:
    records = _fixture_records(aleph_fixtures)
    assert len(records) >= 15
    for path, control in records:
        numbers = real.doc_numbers(f"icz={control}")
        assert len(numbers) == 1, (path, control)
        source = etree.parse(str(path), _PARSER)
        slim = bool(source.xpath("//*[local-name()='controlfield']"))
        served = (
            real.root(op="ill_get_doc", library="NKC01", doc_number=numbers[0])
            if slim
            else real.root(op="find_doc", base="nkc", doc_num=numbers[0])
        )
        # Every field and subfield value of the source is served in its dialect.
        expected = {
            str(v)
            for v in source.xpath("//*[local-name()='subfield']/text()")
            if not str(v).startswith("http://aleph.nkp.cz/F/") or not slim
        }
        served_values = {str(v) for v in served.xpath("//*[local-name()='subfield']/text()")}
        assert expected <= served_values, (path, sorted(expected - served_values)[:3])


def test_the_same_record_in_two_files_is_served_once(real: X) -> None:
    assert real.hits("icz=cpk20051492461") == 1
    assert real.emulator.index is not None
    assert real.emulator.index.record_count == len(
        {control for _, control in _fixture_records(Path(real.emulator.corpus[0]))}
    )


def test_system_numbers_come_from_the_reply_998_or_001(real: X) -> None:
    assert real.doc_numbers("icz=x953100678") == ["003513107"]  # <doc_number> of the reply
    assert real.doc_numbers("icz=cpk19990652691") == ["000652691"]  # 998 link
    assert real.doc_numbers("icz=nkc20081810391") == ["001810391"]  # 001's last seven digits


def test_system_number_rules() -> None:
    def source(*fields: Field, doc_number: int | None = None) -> SourceRecord:
        return SourceRecord(tuple(fields), "marc", doc_number)

    link = Field("998", subfields=(("a", "http://x/F/?func=direct&doc_number=000000042&x=1"),))
    assert system_number(source(Field("001", "nkc20150003024", control=True), link)) == 42
    assert system_number(source(Field("001", "nkc20150003024", control=True))) == 3024
    assert system_number(source(Field("001", "   00000002 ", control=True))) == 2
    assert system_number(source(Field("001", "2016123456789", control=True))) == 123456789
    assert system_number(source(Field("001", "abc", control=True))) is None
    assert system_number(source(doc_number=7)) == 7


def _book(control: str, isbn: str, title: str) -> pymarc.Record:
    record = pymarc.Record(force_utf8=True)
    record.add_field(pymarc.Field(tag="001", data=control))
    record.add_field(
        pymarc.Field(
            tag="020",
            indicators=pymarc.Indicators(" ", " "),
            subfields=[pymarc.Subfield("a", isbn)],
        ),
        pymarc.Field(
            tag="245",
            indicators=pymarc.Indicators("1", "0"),
            subfields=[pymarc.Subfield("a", title)],
        ),
    )
    return record


def test_formats_iso2709_marcxml_any_namespace_and_bare_oai(
    tmp_path: Path, http: httpx.Client
) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "books.mrc").write_bytes(
        _book("iso0000001", "80-251-0225-4", "Žluťoučký kůň").as_marc()
        + _book("iso0000002", "0-19-852663-6", "Second book").as_marc()
    )
    (folder / "collection.xml").write_bytes(
        b'<collection xmlns="http://www.loc.gov/MARC21/slim">'
        + pymarc.record_to_xml(_book("xml0000001", "1-56619-909-3", "Standard namespace"))
        + b"</collection>"
    )
    (folder / "bare.xml").write_text(
        '<oai_marc><fixfield id="001">oai0000001</fixfield>'
        '<varfield id="245" i1="1" i2="0"><subfield label="a">Bare OAI</subfield></varfield>'
        "</oai_marc>",
        encoding="utf-8",
    )
    (folder / "notes.txt").write_text("not a corpus file", encoding="utf-8")
    with AlephEmulator([folder], index_dir=tmp_path / "index") as emulator:
        x = X(emulator, http)
        assert emulator.index is not None
        assert emulator.index.record_count == 4
        assert x.titles("wtl=zlutoucky") == ["Žluťoučký kůň"]
        assert x.titles("sbn=9780198526636") == ["Second book"]
        assert x.titles("wtl=standard") == ["Standard namespace"]
        assert x.titles("icz=oai0000001") == ["Bare OAI"]


def test_iso2709_reader_matches_pymarc_and_skips_damage() -> None:
    book = _book("c1", "80-251-0225-4 (brož.) :", "Umění")
    stream = io.BytesIO(book.as_marc() + b"00099garbage\x1d" + book.as_marc())
    records = list(read_iso2709(stream))
    assert len(records) == 2
    fields = records[0]
    assert fields[0].tag == "LDR"
    assert [f.tag for f in fields[1:]] == ["001", "020", "245"]
    assert fields[2].subfields == (("a", "80-251-0225-4 (brož.) :"),)
    assert fields[3].ind1 == "1"


def test_pack_round_trips() -> None:
    fields = (
        Field("LDR", "-----nam-a22------a-4500", control=True),
        Field("BAS", "", " ", " ", (("a", "01"),)),
        Field("245", "", "1", "0", (("a", "Title /"), ("c", ""), ("b", "x&y"))),
    )
    assert unpack(pack(fields)) == fields
    assert unpack("") == ()


def test_missing_corpus_paths_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        expand_paths([tmp_path / "nope"])
    with pytest.raises(FileNotFoundError):
        AlephEmulator([tmp_path / "nope"], index_dir=tmp_path).start()


def test_unreadable_xml_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "broken.xml").write_text("<record><leader>x</leader", encoding="utf-8")
    (tmp_path / "entity.xml").write_text(
        '<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        '<record><controlfield tag="001">&e;</controlfield></record>',
        encoding="utf-8",
    )
    records = list(read_corpus(expand_paths([tmp_path])))
    assert all("root:" not in f.value for r in records for f in r.fields)


def test_folders_below_a_dotted_path_are_read_but_hidden_entries_skipped(tmp_path: Path) -> None:
    # Installed packages live in paths like .venv/lib/…: only names inside the folder count.
    folder = tmp_path / ".venv" / "corpus"
    (folder / ".cache").mkdir(parents=True)
    for name in ("book.xml", ".hidden.xml", ".cache/index.xml"):
        (folder / name).write_text("<collection/>")
    assert [path.name for path in expand_paths([folder])] == ["book.xml"]


def test_the_installed_sample_corpus_is_indexed() -> None:
    with AlephEmulator() as emulator:
        assert emulator.index.record_count >= 10
