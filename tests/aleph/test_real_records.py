"""Every real record in ``fixtures/aleph``, mapped and written in both generations (§3.3).

The golden values are in :mod:`tests.aleph.golden_records`, each with the rule that
gives it. Here: the mapping gives them from the files, from the emulator's replies in
either dialect, and the codec writes them as each generation's clients read them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edeposit.amqp.aleph import (
    AlephRecord,
    DocumentQuery,
    EPublication,
    ICZQuery,
    SearchResult,
    SemanticInfo,
)
from edeposit.amqp.catalogue.service import AlephService
from edeposit.amqp.emulator import AlephEmulator
from edeposit.amqp.marc.record import read_record
from edeposit.amqp.marc.safe_xml import parse_xml
from edeposit.amqp.serializers import TYPE_KEY
from edeposit.amqp.wire.codec import WireOptions, decode, encode
from tests.aleph.golden_records import GOLDEN
from tests.conftest import ALEPH_FIXTURES
from tests.wire_samples import (
    EPUBLICATION_2015_FIELDS,
    EPUBLICATION_FIELDS,
    SEMANTIC_INFO_FIELDS,
    read_back,
)

from .conftest import service_settings

#: DESIGN §3.3: what each generation's clients read of a record.
RECORD_KEYS = {
    "2014": {"base", "library", "docNumber", "xml", "epublication"},
    "2015": {"base", "library", "docNumber", "xml", "epublication", "semantic_info"},
}
PUBLICATION_KEYS = {"2014": set(EPUBLICATION_FIELDS), "2015": set(EPUBLICATION_2015_FIELDS)}


def record_files() -> list[Path]:
    """Every fixture file that holds a MARC record (not the bare find replies)."""
    if not ALEPH_FIXTURES.is_dir():
        return []
    return [path for path in sorted(ALEPH_FIXTURES.rglob("*.xml")) if b"field" in path.read_bytes()]


def golden_key(path: Path) -> str:
    (key,) = [key for key in GOLDEN if key in path.name]
    return key


RECORD_FILES = record_files()


@pytest.fixture
def record_file(request: pytest.FixtureRequest, aleph_fixtures: Path) -> Path:
    """Each record file; without the fixtures folder, ``aleph_fixtures`` says where it goes."""
    path: Path = request.param
    return path


def _each_record_file() -> Any:
    return pytest.mark.parametrize(
        "record_file",
        RECORD_FILES or [None],
        ids=lambda path: path.name if path else "no-fixtures",
        indirect=True,
    )


def test_every_record_has_golden_values(aleph_fixtures: Path) -> None:
    assert len(RECORD_FILES) == 16
    assert sorted(golden_key(path) for path in RECORD_FILES) == sorted(GOLDEN)


@_each_record_file()
def test_publication_of_each_record(record_file: Path) -> None:
    publication, _ = GOLDEN[golden_key(record_file)]
    assert EPublication.from_xml(record_file.read_bytes()) == publication
    assert EPublication.from_xml(record_file.read_text(encoding="utf-8")) == publication


@_each_record_file()
def test_semantic_info_of_each_record(record_file: Path) -> None:
    _, semantic_info = GOLDEN[golden_key(record_file)]
    assert SemanticInfo.from_xml(record_file.read_bytes()) == semantic_info


def _no_nulls(value: Any, path: str = "$") -> Iterator[str]:
    if value is None:
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _no_nulls(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _no_nulls(item, f"{path}[{index}]")


@pytest.mark.parametrize("generation", ["2014", "2015"])
@_each_record_file()
def test_each_record_on_the_wire(record_file: Path, generation: str) -> None:
    """Exactly the keys of §3.3, no null, ``docNumber`` an integer, ``xml`` a string."""
    publication, semantic_info = GOLDEN[golden_key(record_file)]
    xml = record_file.read_text(encoding="utf-8")
    record = AlephRecord("nkc", "NKC01", 42, xml, EPublication.from_xml(xml))
    assert record.semantic_info == semantic_info  # read from its xml, as the original did
    data = encode(SearchResult([record]), WireOptions(generation=generation))
    (written,) = json.loads(data)["records"]
    assert list(_no_nulls(written)) == []
    assert set(written) == {*RECORD_KEYS[generation], TYPE_KEY}
    assert type(written["docNumber"]) is int
    assert written["xml"] == xml
    body = written["epublication"]
    assert set(body) == {*PUBLICATION_KEYS[generation], TYPE_KEY}
    for author in body["autori"]:
        assert set(author) == {"firstName", "lastName", "title", TYPE_KEY}
    if generation == "2014":
        assert (body["url"], body["internal_url"]) == (publication.url, publication.internal_url)
    else:
        assert (body["url"], body["internal_url"]) == (
            publication.urls,
            publication.internal_urls,
        )
        assert body["invalid_ISBN"] == publication.invalid_ISBN
        assert (body["id_number"], body["anotace"]) == (publication.id_number, publication.anotace)
        assert set(written["semantic_info"]) == {*SEMANTIC_INFO_FIELDS, TYPE_KEY}
        assert written["semantic_info"] == {
            **semantic_info._asdict(),
            TYPE_KEY: "SemanticInfo",
        }
    for name in EPUBLICATION_FIELDS:
        if name not in ("url", "internal_url", "autori"):
            assert body[name] == getattr(publication, name), name
    assert decode(data) == SearchResult([read_back(record, generation)])


# --- through the emulator: each record served in both dialects ---------------------------


@pytest.fixture(scope="module")
def service(aleph_fixtures: Path) -> Iterator[AlephService]:
    with (
        AlephEmulator(corpus=[aleph_fixtures]) as emulator,
        AlephService(service_settings(emulator)) as running,
    ):
        yield running


def _served_goldens() -> dict[str, dict[str, tuple[Path, str]]]:
    """Per ``001``: the fixture file (and golden key) the emulator serves in each dialect.

    A record in both dialects' files is served from each; one in a single file is
    rendered from it in the other dialect too.
    """
    served: dict[str, dict[str, tuple[Path, str]]] = {}
    for path in RECORD_FILES:
        if path.name.startswith("kbdk"):  # danMARC2: its 001 is not a control field
            continue
        identifier = read_record(parse_xml(path.read_bytes())).controls["001"]
        dialect = "marcxml" if "/marcxml/" in path.as_posix() else "oai"
        served.setdefault(identifier, {})[dialect] = (path, golden_key(path))
    return served


def test_every_record_through_http_in_both_dialects(service: AlephService) -> None:
    served = _served_goldens()
    assert len(served) == 14
    for identifier, files in served.items():
        (found,) = service.search(ICZQuery(identifier))  # present: OAI-MARC
        (direct,) = service.search(DocumentQuery(found.docNumber))  # ill_get_doc: MARC XML
        path, key = files.get("oai") or files["marcxml"]
        assert found.epublication == GOLDEN[key][0], identifier
        assert found.semantic_info == GOLDEN[key][1], identifier
        path, key = files.get("marcxml") or files["oai"]
        expected = GOLDEN[key][0]
        if "marcxml" not in files:
            # ill_get_doc leaves out the 998 permalink and NKP's local fields (URL, IST…)
            source = read_record(parse_xml(path.read_bytes()))
            dropped = {*source.values("998", "a"), *source.values("URL", "u")}
            kept = [url for url in expected.internal_urls if url not in dropped]
            expected = expected._replace(internal_urls=kept)
        assert direct.epublication == expected, identifier
        assert direct.semantic_info == SemanticInfo(), identifier  # no FMT, no local field
