"""Each fault mode, switched on through the Python API and through the control endpoint."""

from __future__ import annotations

import time

import httpx
import pytest
from lxml import etree

from edeposit.amqp.emulator import AlephEmulator, Faults
from edeposit.amqp.emulator.corpus import default_corpus
from tests.emulator.helpers import X, parse
from tests.waiting import returns_within

FIND = {"op": "find", "base": "nkc", "request": "sbn=80-251-0225-4"}


def test_faults_are_off_by_default(emulator: AlephEmulator) -> None:
    assert emulator.faults == Faults()


def test_latency(x: X, emulator: AlephEmulator) -> None:
    emulator.set_faults(latency=0.3)
    began = time.perf_counter()
    assert x.get(**FIND).status_code == 200
    assert time.perf_counter() - began >= 0.3
    emulator.set_faults(latency=60.0)
    emulator.clear_faults()
    # Cleared: the reply comes, long before the 60 s the latency would have taken.
    assert returns_within(20, lambda: x.get(**FIND)).status_code == 200


def test_latency_jitter_varies_the_delay(x: X, emulator: AlephEmulator) -> None:
    emulator.set_faults(latency=0.05, latency_jitter=0.2)
    delays = []
    for _ in range(6):
        began = time.perf_counter()
        x.get(**FIND)
        delays.append(time.perf_counter() - began)
    assert min(delays) >= 0.05
    assert max(delays) - min(delays) > 0.01


def test_dropped_connections(x: X, emulator: AlephEmulator) -> None:
    emulator.set_faults(drop_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        x.get(**FIND)
    emulator.clear_faults()
    assert x.get(**FIND).status_code == 200


def test_forbidden_html_page(x: X, emulator: AlephEmulator) -> None:
    emulator.set_faults(forbidden_rate=1.0)
    response = x.get(**FIND)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Error 403 Forbidden</h1>" in response.text


def test_malformed_xml(x: X, emulator: AlephEmulator) -> None:
    emulator.set_faults(malformed_rate=1.0)
    response = x.get(**FIND)
    assert response.status_code == 200
    with pytest.raises(etree.XMLSyntaxError):
        parse(response.content)


def test_partial_rates_mix_good_and_bad_replies(x: X, emulator: AlephEmulator) -> None:
    emulator.set_faults(forbidden_rate=0.5)
    statuses = {x.get(**FIND).status_code for _ in range(40)}
    assert statuses == {200, 403}


def test_hang_makes_clients_time_out_and_stop_stays_prompt(emulator: AlephEmulator) -> None:
    emulator.set_faults(hang_seconds=30)
    with httpx.Client(timeout=0.5) as client, pytest.raises(httpx.ReadTimeout):
        client.get(emulator.url + "/X", params=FIND)
    returns_within(20, emulator.stop)  # not held by the request hanging for 30 s


def test_licence_limit_in_a_window(x: X, emulator: AlephEmulator) -> None:
    emulator.set_faults(licence_limit=3, licence_window=0.6)
    roots = [x.root(**FIND) for _ in range(5)]
    assert [root.findtext("error") for root in roots[:3]] == [None, None, None]
    for root in roots[3:]:
        assert root.tag == "find"
        assert "License limit exceeded" in root.findtext("error")
    time.sleep(0.7)
    assert x.root(**FIND).findtext("error") is None


def test_request_count_counts_every_x_request(x: X, emulator: AlephEmulator) -> None:
    before = emulator.request_count
    emulator.set_faults(forbidden_rate=1.0)
    for _ in range(3):
        x.get(**FIND)
    x.client.get(emulator.url + "/_emulator/stats")  # control calls are not X requests
    assert emulator.request_count == before + 3


def test_faults_apply_to_the_export_form(emulator: AlephEmulator, http: httpx.Client) -> None:
    emulator.set_faults(forbidden_rate=1.0)
    assert http.post(emulator.export_url, data={"sid": "x"}).status_code == 403


def test_initial_faults_and_invalid_values(index_dir: object) -> None:
    with pytest.raises(ValueError, match="drop_rate"):
        Faults(drop_rate=2)
    with pytest.raises(ValueError, match="latency"):
        Faults(latency=-1)
    with pytest.raises(ValueError, match="unknown fault settings: nope"):
        Faults.from_mapping({"nope": 1})
    with pytest.raises(ValueError, match="wrong type"):
        Faults.from_mapping({"latency": "slow"})


def test_control_endpoint(emulator: AlephEmulator, http: httpx.Client) -> None:
    control = emulator.url + "/_emulator/faults"
    reply = http.post(control, json={"forbidden_rate": 1.0, "licence_limit": 5})
    assert reply.status_code == 200
    assert reply.json()["forbidden_rate"] == 1.0
    assert emulator.faults == Faults(forbidden_rate=1.0, licence_limit=5)
    assert http.get(emulator.url + "/X", params=FIND).status_code == 403
    assert http.get(control).json()["licence_limit"] == 5
    assert http.delete(control).status_code == 200
    assert emulator.faults == Faults()
    assert http.get(emulator.url + "/X", params=FIND).status_code == 200
    assert http.post(control, content=b"{not json").status_code == 400
    assert http.post(control, json=[1]).status_code == 400
    bad = http.post(control, json={"drop_rate": 3})
    assert bad.status_code == 400
    assert "drop_rate" in bad.json()["error"]
    stats = http.get(emulator.url + "/_emulator/stats").json()
    assert stats["request_count"] == emulator.request_count == 2
    assert stats["exports"] == []
    assert stats["records"] == len(list(default_corpus()[0].glob("*.xml")))  # the samples
    assert http.get(emulator.url + "/_emulator/nothing").status_code == 404


def test_stats_count_catalogue_calls_and_their_rate(x: X, emulator: AlephEmulator) -> None:
    before = emulator.call_stats
    for _ in range(3):
        x.get(**FIND)
    httpx.post(emulator.export_url, data={"P0501010__a": "not a whole form"})
    stats = httpx.get(emulator.url + "/_emulator/stats").json()
    assert stats["request_count"] == before["request_count"] + 3
    assert stats["export_count"] == before["export_count"] + 1  # refused, still a call
    assert stats["call_count"] == before["call_count"] + 4
    assert stats["calls_per_second"] > 0
    assert emulator.call_stats["call_count"] == stats["call_count"]
