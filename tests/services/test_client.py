"""``AlephClient`` and the ``aleph`` command against a running daemon and the emulator."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading

import pytest

from edeposit.amqp import aleph
from edeposit.amqp.client import AlephClient, CallTimeoutError, RemoteError
from edeposit.amqp.emulator import AlephEmulator
from tests.services.support import DaemonFactory, Peer, close_vhost_connections
from tests.waiting import wait_for

RAYMOND = aleph.ISBNQuery("80-251-0225-4")


def test_the_four_calls(start_daemon: DaemonFactory, emulator: AlephEmulator) -> None:
    start_daemon()
    with AlephClient(timeout=20) as client:
        [record] = client.search(RAYMOND)
        assert record.epublication.nazev == "Umění programování v UNIXu"
        assert client.count(aleph.AuthorQuery("Raymond")) >= 1
        assert client.validate_isbn("80-251-0225-4") is True
        assert client.validate_isbn(aleph.ISBNQuery("80-251-0225-5")) is False
        publication = aleph.EPublication.empty(
            ISBN=["80-251-0225-4"],
            nazev="Test",
            vazba="brož.",
            mistoVydani="Brno",
            nakladatelVydavatel="Computer Press",
            datumVydani="2004",
            poradiVydani="1. vyd.",
            zpracovatelZaznamu="BOA001",
        )
        assert client.export(publication) == "80-251-0225-4"


def test_remote_error_carries_name_message_and_traceback(start_daemon: DaemonFactory) -> None:
    start_daemon()
    with AlephClient(timeout=20) as client, pytest.raises(RemoteError) as caught:
        client.search(aleph.DocumentQuery(999999998))
    assert caught.value.exception_name == "DocumentNotFoundException"
    assert caught.value.message
    assert "Traceback" in caught.value.traceback


def test_many_calls_in_flight_on_one_connection(start_daemon: DaemonFactory) -> None:
    start_daemon()
    queries = [RAYMOND, aleph.AuthorQuery("Raymond"), aleph.ICZQuery("cpk20051492461")]
    with AlephClient(timeout=30) as client:
        calls = [client.submit(aleph.CountRequest(queries[i % 3])) for i in range(150)]
        assert all(call.result().num_of_records >= 1 for call in calls)
        results: list[int] = []
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                results.extend(client.count(RAYMOND) for _ in range(15))
            except BaseException as error:  # noqa: BLE001 - collected and asserted below
                errors.append(error)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors
        assert results == [1] * 120


def test_timeout_raises_and_the_late_answer_is_dropped(
    start_daemon: DaemonFactory,
    emulator: AlephEmulator,
    peer: Peer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    start_daemon()
    caplog.set_level(logging.INFO, logger="edeposit.amqp.client")
    with AlephClient(timeout=20) as client:
        emulator.set_faults(latency=3.0)
        # The catalogue holds the answer 3 s: raising proves the call gave up at its
        # deadline, before the answer came.
        with pytest.raises(CallTimeoutError) as expired:
            client.count(RAYMOND, timeout=0.4)
        late_uuid = str(expired.value).rsplit("UUID ", 1)[1].rstrip(")")
        emulator.clear_faults()
        # The next call gets its own answer, not the late one of the expired call.
        assert client.validate_isbn("80-251-0225-4") is True
        assert wait_for(
            lambda: any(
                "dropped" in record.getMessage() and late_uuid in record.getMessage()
                for record in caplog.records
            ),
            timeout=30,
        ), "the late answer never arrived"
        assert client.search(aleph.ICZQuery("cpk20051492461"))[0].docNumber == 1492461
    assert peer.queue_size(peer.settings.RABBITMQ_ALEPH_PLONE_QUEUE) == 0, (
        "client answers must not land in the shared answer queue"
    )


def test_aleph_command_prints_a_table(
    start_daemon: DaemonFactory, broker_env: dict[str, str]
) -> None:
    start_daemon()
    completed = subprocess.run(
        [sys.executable, "-m", "edeposit.amqp.cli", "search", "--isbn", "80-251-0225-4"],
        env={**os.environ, **broker_env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0].split()[:2] == ["doc", "number"]
    assert any(
        "001492461" in line and "Umění programování v UNIXu" in line and "Raymond, Eric S." in line
        for line in lines
    )
    assert lines[-1] == "(1 record)"


@pytest.mark.parametrize("generation", ["2014", "2015", "2016"])
def test_the_client_reads_every_generation(
    start_daemon: DaemonFactory, broker_env: dict[str, str], generation: str
) -> None:
    """The sample corpus's Raymond: 998 permalink, FMT BK (DESIGN §3.3)."""
    start_daemon(ALEPH_WIRE_GENERATION=generation)
    permalink = "http://aleph.nkp.cz/F/?func=direct&doc_number=001492461&local_base=NKC01"
    with AlephClient(timeout=20) as client:
        [record] = client.search(RAYMOND)
    publication = record.epublication
    assert (publication.internal_url, publication.internal_urls) == (permalink, [permalink])
    assert record.semantic_info == aleph.SemanticInfo(contentOfFMT="BK")  # sent, or read
    # Only the 2015 and 2016 forms carry the record's 001.
    assert publication.id_number == ("" if generation == "2014" else "cpk20051492461")
    assert record.parsed_info is publication  # a book, whatever the form
    command = [sys.executable, "-m", "edeposit.amqp.cli", "search", "--isbn", "80-251-0225-4"]
    for shown in ("2014", "2015", "2016"):
        completed = subprocess.run(
            [*command, "--json", "--generation", shown],
            env={**os.environ, **broker_env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        [printed] = json.loads(completed.stdout)
        assert ("semantic_info" in printed) is (shown != "2014")
        url = printed["parsed_info" if shown == "2016" else "epublication"]["internal_url"]
        assert url == (permalink if shown == "2014" else [permalink])


def test_calls_survive_a_broker_connection_failure(
    start_daemon: DaemonFactory, broker_env: dict[str, str]
) -> None:
    start_daemon()
    with AlephClient(timeout=30) as client:
        assert client.count(RAYMOND) == 1
        assert close_vhost_connections(broker_env["RABBITMQ_ALEPH_VIRTUALHOST"]) >= 2
        # Published while both sides reconnect: retried until the broker takes it.
        assert client.count(RAYMOND) == 1
        assert client.connection.connections >= 2
