"""The e-deposit export form: acceptance, every rejection reason, the legacy verdict."""

from __future__ import annotations

import html
from pathlib import Path

import httpx
import pytest

from edeposit.amqp.emulator import AlephEmulator
from edeposit.amqp.emulator.export_form import REJECTION_TEXT, REQUIRED
from tests.emulator.helpers import X


def _form(**changes: str) -> dict[str, str]:
    """A form as the e-deposit client sends it (ALEPH-XSERVICES.md §10)."""
    form = {
        "sid": "edeposit",
        "P0100LDR__": "-----nam-a22------a-4500",
        "P0200FMT__": "BK",
        "P0300BAS__a": "30",
        "P0501010__a": "978-80-7367-397-0",
        "P0502010__b": "brož.",
        "P0503010__x": "",
        "P0504010__d": "Kč 250,00",
        "P0601010__a": "",
        "P0601010__b": "",
        "P07012001_a": "Zkušební publikace",
        "P07022001_b": "",
        "P07032001_e": "podnázev",
        "P07042001_h": "",
        "P07052001_i": "",
        "P1301ZAK__b": "Novák, Jan",
        "P1302ZAK__c": "Dvořák, Petr",
        "P1303ZAK__c": "",
        "P10012252_a": "",
        "P10022252_v": "",
        "P110185640u": "",
        "P0901210__a": "Praha",
        "P0902210__c": "Nakladatel",
        "P0903210__d": "2024",
        "P1401PJM__a": "",
        "P0801205__a": "1. vydání",
        "P1501IST1_a": "ow",
        "P1502IST1_b": "ABA001",
        "P1601ISB__a": "978-80-7367-397-0",
        "P1801URL__u": "",
    }
    form.update(changes)
    return form


def _post(http: httpx.Client, emulator: AlephEmulator, form: dict[str, str]) -> httpx.Response:
    return http.post(emulator.export_url, data=form, headers={"Referer": "http://edeposit/"})


def test_an_accepted_publication_is_kept_and_searchable(
    emulator: AlephEmulator, http: httpx.Client
) -> None:
    response = _post(http, emulator, _form())
    assert response.status_code == 200
    assert "aleph-info" not in response.headers
    assert REJECTION_TEXT not in response.text
    assert response.headers["content-type"].startswith("text/html")
    assert emulator.exports[-1]["P0501010__a"] == "978-80-7367-397-0"
    assert emulator.exports[-1]["P07012001_a"] == "Zkušební publikace"
    x = X(emulator, http)
    assert x.titles("sbn=80-7367-397-5") == ["Zkušební publikace"]  # the ISBN-10 form
    assert x.titles("wau=dvorak") == ["Zkušební publikace"]
    numbers = x.doc_numbers("sbn=978-80-7367-397-0")
    slim = x.root(op="ill_get_doc", library="NKC01", doc_number=numbers[0])
    assert "Zkušební publikace" in slim.xpath("string(.)")
    stats = http.get(emulator.url + "/_emulator/stats").json()
    assert stats["exports"][-1]["P0501010__a"] == "978-80-7367-397-0"


def test_exports_keep_their_order(emulator: AlephEmulator, http: httpx.Client) -> None:
    for isbn in ("80-251-0225-4", "978-80-7367-397-0"):
        _post(http, emulator, _form(P0501010__a=isbn))
    assert [form["P0501010__a"] for form in emulator.exports] == [
        "80-251-0225-4",
        "978-80-7367-397-0",
    ]


_REASONS = [
    ({"sid": ""}, "missing sender signature"),
    ({"P0501010__a": ""}, "missing ISBN"),
    ({"P0501010__a": "80-251-0225-5"}, "invalid ISBN '80-251-0225-5'"),
    ({"P0501010__a": "ISBN 123"}, "invalid ISBN"),
    ({"P0601010__a": "123"}, "invalid ISBN of the set"),
    ({"P0502010__b": "online", "P0503010__x": ""}, "missing format of the online publication"),
    *[({name: ""}, f"missing {meaning} ({name})") for name, meaning in REQUIRED.items()],
]


@pytest.mark.parametrize(("changes", "reason"), _REASONS)
def test_each_rejection_reason(
    emulator: AlephEmulator, http: httpx.Client, changes: dict[str, str], reason: str
) -> None:
    response = _post(http, emulator, _form(**changes))
    assert response.status_code == 200
    assert response.headers["aleph-info"].startswith("error")
    assert reason.encode("ascii", "replace").decode() in response.headers["aleph-info"]
    assert reason in html.unescape(response.text)
    assert REJECTION_TEXT not in response.text
    assert emulator.exports == []


def test_every_reason_is_reported_at_once(emulator: AlephEmulator, http: httpx.Client) -> None:
    info = _post(http, emulator, _form(sid="", P07012001_a="")).headers["aleph-info"]
    assert "sid" in info
    assert "title" in info


def test_an_online_publication_with_its_format_is_accepted(
    emulator: AlephEmulator, http: httpx.Client
) -> None:
    response = _post(http, emulator, _form(P0502010__b="online", P0503010__x="pdf"))
    assert "aleph-info" not in response.headers
    assert len(emulator.exports) == 1


def test_multipart_forms_are_rejected(emulator: AlephEmulator, http: httpx.Client) -> None:
    response = http.post(emulator.export_url, files={"sid": (None, "edeposit")})
    assert response.headers["aleph-info"].startswith("error")


def test_legacy_mode_says_it_in_the_page(index_dir: Path, http: httpx.Client) -> None:
    with AlephEmulator(index_dir=index_dir, legacy_export=True) as emulator:
        rejected = _post(http, emulator, _form(P0501010__a="80-251-0225-5"))
        assert "aleph-info" not in rejected.headers
        assert REJECTION_TEXT in rejected.text
        accepted = _post(http, emulator, _form())
        assert REJECTION_TEXT not in accepted.text
        assert len(emulator.exports) == 1
