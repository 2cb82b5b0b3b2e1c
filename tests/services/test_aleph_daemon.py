"""The Aleph daemon as a subprocess, through the real broker, against the emulator."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pika
import pytest

from edeposit.amqp import aleph, alephdaemon, settings
from edeposit.amqp.emulator import AlephEmulator
from edeposit.amqp.serializers import deserialize, serialize
from tests.services.support import DaemonFactory, Peer, daemon_log

RAYMOND_ISBN = "80-251-0225-4"
RAYMOND_DOC = 1492461

QUERIES = [
    aleph.ISBNQuery(RAYMOND_ISBN),
    aleph.AuthorQuery("Raymond"),
    aleph.PublisherQuery("Computer Press"),
    aleph.TitleQuery("Umění programování v UNIXu"),
    aleph.GenericQuery("nkc", "Raymond", False, "wau"),
    aleph.DocumentQuery(RAYMOND_DOC),
    aleph.ICZQuery("cpk20051492461"),
]


def _answer(peer: Peer, body: bytes | str, request_uuid: str, **publish: Any) -> tuple[Any, Any]:
    peer.publish(body, {"UUID": request_uuid}, **publish)
    messages = peer.receive(1)
    assert messages, "no answer"
    _, properties, answer = messages[0]
    assert properties.headers["UUID"] == request_uuid
    return properties, answer


def _result(properties: pika.BasicProperties, body: bytes) -> Any:
    headers = properties.headers or {}
    assert "exception" not in headers, headers.get("traceback")
    assert properties.content_type == "application/json"
    assert properties.delivery_mode == 2
    return deserialize(body)


def test_documentation_example_gets_its_answer(start_daemon: DaemonFactory, peer: Peer) -> None:
    start_daemon()
    # The original documentation's example, verbatim apart from imports.
    connection = pika.BlockingConnection(alephdaemon.getConnectionParameters())
    channel = connection.channel()
    json_data = serialize(aleph.SearchRequest(aleph.ISBNQuery("80-251-0225-4")))
    properties = pika.BasicProperties(
        content_type="application/json", delivery_mode=1, headers={"UUID": str(uuid.uuid4())}
    )
    channel.basic_publish(
        exchange=settings.RABBITMQ_ALEPH_EXCHANGE,
        routing_key=settings.RABBITMQ_ALEPH_DAEMON_KEY,
        properties=properties,
        body=json_data,
    )
    connection.close()

    [(method, answer_properties, body)] = peer.receive(1)
    assert method.routing_key == settings.RABBITMQ_ALEPH_PLONE_KEY
    assert answer_properties.headers["UUID"] == properties.headers["UUID"]
    assert answer_properties.app_id.startswith("alephdaemon@")  # which daemon answered
    result = _result(answer_properties, body)
    assert isinstance(result, aleph.SearchResult)
    [record] = result.records
    assert record.docNumber == RAYMOND_DOC
    assert record.epublication.ISBN == [RAYMOND_ISBN]
    assert record.epublication.nazev == "Umění programování v UNIXu"
    assert record.epublication.autori == [aleph.Author("Eric S.", "Raymond", "")]


@pytest.mark.parametrize("query", QUERIES, ids=lambda query: type(query).__name__)
def test_search_and_count_for_every_query(
    start_daemon: DaemonFactory, peer: Peer, query: aleph.Query
) -> None:
    start_daemon()
    _, body = _answer(peer, serialize(aleph.SearchRequest(query)), "search")
    records = deserialize(body).records
    assert RAYMOND_DOC in [record.docNumber for record in records]
    properties, body = _answer(peer, serialize(aleph.CountRequest(query)), "count")
    count = _result(properties, body)
    assert isinstance(count, aleph.CountResult)
    assert count.num_of_records >= 1
    if isinstance(query, aleph.ISBNQuery | aleph.DocumentQuery | aleph.ICZQuery):
        assert count.num_of_records == len(records) == 1


#: Validation requests and their answers' is_valid.
VALIDATIONS = [
    (aleph.ISBNValidationRequest(RAYMOND_ISBN), True),
    (aleph.ISBNValidationRequest(aleph.ISBNQuery(RAYMOND_ISBN)), True),
    (aleph.ISBNValidationRequest("80-251-0225-5"), False),
]
#: A publication the emulator's export form accepts.
EXPORTED = aleph.EPublication.empty(
    ISBN=["978-80-7367-397-0"],
    nazev="Dítě a matematika",
    vazba="online",
    format="pdf",
    mistoVydani="Praha",
    nakladatelVydavatel="Portál",
    datumVydani="2024",
    poradiVydani="1. vydání",
    zpracovatelZaznamu="Ing. Tester",
    autori=[aleph.Author("Milan", "Hejný")],
)


def test_validation_and_export(
    start_daemon: DaemonFactory, peer: Peer, emulator: AlephEmulator
) -> None:
    start_daemon()
    for request, expected in VALIDATIONS:
        properties, body = _answer(peer, serialize(request), "validate", exchange="validate")
        assert _result(properties, body) == aleph.ISBNValidationResult(expected)

    properties, body = _answer(
        peer, serialize(aleph.ExportRequest(EXPORTED)), "export", exchange="export"
    )
    assert _result(properties, body) == aleph.ExportResult("978-80-7367-397-0")
    assert any("978-80-7367-397-0" in json.dumps(form) for form in emulator.exports)


def test_json_uuid_is_echoed_unchanged(start_daemon: DaemonFactory, peer: Peer) -> None:
    start_daemon()
    odd_uuids = [
        json.dumps({"session": "abc", "items": [1, 2, 3], "name": "Dítě"}),
        "  spaces and ünïcødé  ",
        "",
    ]
    request = serialize(aleph.CountRequest(aleph.ISBNQuery(RAYMOND_ISBN)))
    for odd in odd_uuids:
        peer.publish(request, {"UUID": odd})
    answers = peer.receive(len(odd_uuids))
    assert sorted(properties.headers["UUID"] for _, properties, _ in answers) == sorted(odd_uuids)


BAD_BODIES = [
    b"",
    b"not json",
    b"\xff\xfe\x00garbage",
    b'{"__nt_name": "Popen", "args": ["rm", "-rf", "/"]}',
    b'{"query": {"ISBN": 5, "__nt_name": "ISBNQuery"}, "__nt_name": "SearchRequest"}',
    b'{"num_of_records": 3, "__nt_name": "CountResult"}',
    b"[" * 5000,
    b'"just a string"',
]


def test_malformed_bodies_get_error_replies_and_the_daemon_lives(
    start_daemon: DaemonFactory, peer: Peer
) -> None:
    daemon = start_daemon()
    for index, body in enumerate(BAD_BODIES):
        peer.publish(body, {"UUID": f"bad-{index}"})
    answers = {
        props.headers["UUID"]: (props, body) for _, props, body in peer.receive(len(BAD_BODIES))
    }
    assert len(answers) == len(BAD_BODIES)
    for index in range(len(BAD_BODIES)):
        properties, body = answers[f"bad-{index}"]
        headers = properties.headers
        assert properties.content_type == "application/text"
        assert properties.delivery_mode == 2
        assert {"UUID", "exception", "exception_name", "exception_type", "traceback"} <= set(
            headers
        )
        assert body.decode() == headers["exception"]
        assert headers["exception_name"] in ("DeserializationError", "MessageError")
        assert headers["exception_name"] in headers["exception_type"]
    assert "Popen" in answers["bad-3"][1].decode()
    assert "ISBNQuery.ISBN" in answers["bad-4"][1].decode()
    assert daemon.poll() is None
    properties, body = _answer(
        peer, serialize(aleph.CountRequest(aleph.ISBNQuery(RAYMOND_ISBN))), "ok"
    )
    assert _result(properties, body) == aleph.CountResult(1)


def test_catalogue_errors_carry_the_contract_names(start_daemon: DaemonFactory, peer: Peer) -> None:
    start_daemon()
    properties, body = _answer(
        peer, serialize(aleph.SearchRequest(aleph.DocumentQuery(999999998))), "missing"
    )
    assert properties.headers["exception_name"] == "DocumentNotFoundException"
    assert body.decode() == properties.headers["exception"]
    properties, _ = _answer(
        peer, serialize(aleph.SearchRequest(aleph.GenericQuery("nkc", "x", False, "zzz"))), "field"
    )
    assert properties.headers["exception_name"] == "InvalidAlephFieldException"


def test_message_without_uuid_is_dropped_and_the_daemon_lives(
    start_daemon: DaemonFactory, peer: Peer
) -> None:
    daemon = start_daemon()
    request = serialize(aleph.CountRequest(aleph.ISBNQuery(RAYMOND_ISBN)))
    peer.publish(request, None)
    peer.publish(request, {"other": "header"})
    peer.publish(b"garbage", {})
    assert peer.receive(1, timeout=1.5) == []
    assert peer.queue_size(peer.settings.RABBITMQ_ALEPH_DAEMON_QUEUE) == 0
    assert daemon.poll() is None
    properties, body = _answer(peer, request, "after")
    assert _result(properties, body) == aleph.CountResult(1)


def test_dotted_routing_key_is_answered_on_its_result_key(
    start_daemon: DaemonFactory, peer: Peer
) -> None:
    start_daemon()
    cfg = peer.settings
    answers = peer.channel.queue_declare("", exclusive=True).method.queue
    peer.channel.queue_bind(cfg.RABBITMQ_ALEPH_DAEMON_QUEUE, "count", "plone.web.request")
    peer.channel.queue_bind(answers, cfg.RABBITMQ_ALEPH_EXCHANGE, "plone.web.result")
    peer.publish(
        serialize(aleph.CountRequest(aleph.ISBNQuery(RAYMOND_ISBN))),
        {"UUID": "dotted"},
        exchange="count",
        routing_key="plone.web.request",
    )
    [(method, properties, body)] = peer.receive(1, queue=answers)
    assert method.routing_key == "plone.web.result"
    assert properties.headers["UUID"] == "dotted"
    assert _result(properties, body) == aleph.CountResult(1)
    assert peer.queue_size(cfg.RABBITMQ_ALEPH_PLONE_QUEUE) == 0


def test_reply_to_gets_the_answer_with_correlation_id(
    start_daemon: DaemonFactory, peer: Peer
) -> None:
    start_daemon()
    inbox = peer.channel.queue_declare("", exclusive=True).method.queue
    request = serialize(aleph.CountRequest(aleph.ISBNQuery(RAYMOND_ISBN)))
    peer.publish(request, {"UUID": "rpc"}, reply_to=inbox, correlation_id="corr-1")
    [(_, direct, body)] = peer.receive(1, queue=inbox)
    assert direct.correlation_id == "corr-1"
    assert direct.headers["UUID"] == "rpc"
    assert _result(direct, body) == aleph.CountResult(1)
    [(_, shared, _)] = peer.receive(1)  # and the usual answer queue still gets it
    assert shared.headers["UUID"] == "rpc"


def test_sigterm_answers_requests_in_flight(
    start_daemon: DaemonFactory, peer: Peer, emulator: AlephEmulator, tmp_path: Path
) -> None:
    daemon = start_daemon()
    emulator.set_faults(latency=0.6)
    request = serialize(aleph.CountRequest(aleph.ISBNQuery(RAYMOND_ISBN)))
    sent = [f"inflight-{index}" for index in range(8)]
    for request_uuid in sent:
        peer.publish(request, {"UUID": request_uuid})
    time.sleep(0.3)  # delivered and waiting on the slow catalogue
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=20) == 0, daemon_log(tmp_path)
    answered = [props.headers["UUID"] for _, props, _ in peer.receive(len(sent), timeout=5)]
    left = peer.queue_size(peer.settings.RABBITMQ_ALEPH_DAEMON_QUEUE)
    assert len(answered) + left == len(sent), "a request was lost"
    assert len(set(answered)) == len(answered), "a request was answered twice"
    assert answered, "requests in flight were not answered before exit"
    log = daemon_log(tmp_path)
    assert "stopping" in log


def test_requests_left_after_stop_wait_for_the_next_daemon(
    start_daemon: DaemonFactory, peer: Peer, emulator: AlephEmulator
) -> None:
    first = start_daemon(ALEPH_DAEMON_WORKERS="2")
    emulator.set_faults(latency=0.4)
    request = serialize(aleph.CountRequest(aleph.ISBNQuery(RAYMOND_ISBN)))
    sent = {f"queued-{index}" for index in range(10)}
    for request_uuid in sorted(sent):
        peer.publish(request, {"UUID": request_uuid})
    time.sleep(0.2)
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=20) == 0
    emulator.clear_faults()
    start_daemon()
    answered = [props.headers["UUID"] for _, props, _ in peer.receive(len(sent), timeout=20)]
    assert sorted(answered) == sorted(sent)


def test_daemon_refuses_a_wrong_password_clearly(
    start_daemon: DaemonFactory, tmp_path: Path
) -> None:
    daemon = start_daemon(wait=False, RABBITMQ_USER_PASSWORD="wrong-secret")
    assert daemon.wait(timeout=20) != 0
    log = daemon_log(tmp_path)
    assert "refused" in log and "RABBITMQ_USER_PASSWORD" in log
    assert "wrong-secret" not in log


def test_status_command_reports_broker_reachability(broker_env: dict[str, str]) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "edeposit.amqp.alephdaemon", "status"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode == 3, completed.stdout
    assert "not running" in completed.stdout
