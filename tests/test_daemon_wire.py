"""The Aleph daemon reads and writes messages with its own settings, not the process's."""

from __future__ import annotations

import json
import os

import pytest
from pika.spec import BasicProperties

from edeposit.amqp import aleph, settings
from edeposit.amqp.catalogue.service import AlephService
from edeposit.amqp.config import Settings
from edeposit.amqp.daemon.service import AlephDaemon
from edeposit.amqp.serializers import deserialize

WITHOUT_BASE = (
    b'{"query": {"ISBN": "80-251-0225-4", "__nt_name": "ISBNQuery"}, "__nt_name": "CountRequest"}'
)
WITHOUT_LIBRARY = (
    b'{"query": {"doc_id": 1492461, "__nt_name": "DocumentQuery"}, "__nt_name": "SearchRequest"}'
)


class RecordingService:
    """Stands for the catalogue service: notes each request, answers with a count."""

    def __init__(self) -> None:
        self.requests: list[object] = []

    def handle(self, request: object) -> aleph.CountResult:
        self.requests.append(request)
        return aleph.CountResult(1)


def answered(daemon: AlephDaemon, body: bytes) -> object:
    """The request the daemon's service was asked, after checking the answer's body."""
    payload, properties = daemon.answer(body, "uuid-1", BasicProperties(headers={"UUID": "uuid-1"}))
    assert properties.content_type == "application/json", payload
    assert json.loads(payload) == {"num_of_records": 1, "__nt_name": "CountResult"}
    assert isinstance(daemon.service, RecordingService)
    return daemon.service.requests[-1]


@pytest.fixture
def process_defaults_elsewhere() -> None:
    """Process settings whose defaults differ from both the contract's and the daemon's."""
    os.environ["ALEPH_DEFAULT_BASE"] = "process-base"
    os.environ["ALEPH_DEFAULT_LIBRARY"] = "PROCESS01"
    settings.reload()


@pytest.mark.usefixtures("process_defaults_elsewhere")
def test_a_daemon_completes_a_query_from_its_own_settings() -> None:
    own = Settings().replace(ALEPH_DEFAULT_BASE="ckc", ALEPH_DEFAULT_LIBRARY="NKC02")
    daemon = AlephDaemon(settings=own, service=RecordingService())
    assert answered(daemon, WITHOUT_BASE) == aleph.CountRequest(
        aleph.ISBNQuery("80-251-0225-4", "ckc")
    )
    assert answered(daemon, WITHOUT_LIBRARY) == aleph.SearchRequest(
        aleph.DocumentQuery(1492461, "NKC02")
    )
    # The contract's module-level function goes by the process settings.
    assert deserialize(WITHOUT_BASE).query.base == "process-base"
    assert deserialize(WITHOUT_LIBRARY).query.library == "PROCESS01"


@pytest.mark.usefixtures("process_defaults_elsewhere")
def test_a_daemon_keeps_what_the_client_sent() -> None:
    daemon = AlephDaemon(
        settings=Settings().replace(ALEPH_DEFAULT_BASE="ckc"), service=RecordingService()
    )
    body = WITHOUT_BASE.replace(b'"ISBNQuery"', b'"ISBNQuery", "base": "nkc"')
    assert answered(daemon, body) == aleph.CountRequest(aleph.ISBNQuery("80-251-0225-4", "nkc"))


def test_settings_give_their_wire_options() -> None:
    options = Settings().replace(ALEPH_DEFAULT_BASE="ckc").wire_options()
    assert dict(options.defaults) == {"base": "ckc", "library": "NKC01"}
    assert options.generation == "2014"
    assert Settings().replace(ALEPH_WIRE_GENERATION="2015").wire_options().generation == "2015"


class SearchingService:
    """Stands for the catalogue service: finds one record, whatever the request."""

    RECORD = aleph.AlephRecord(
        "nkc",
        "NKC01",
        3035,
        '<oai_marc><fixfield id="FMT">BK</fixfield></oai_marc>',
        aleph.EPublication.empty(nazev="Pasivní domy 2013", urls=["http://a/", "http://b/"]),
    )

    def handle(self, request: object) -> aleph.SearchResult:
        return aleph.SearchResult([self.RECORD])


@pytest.mark.parametrize(("process", "own"), [("2015", "2014"), ("2014", "2015")])
def test_a_daemon_writes_the_form_of_its_own_settings(process: str, own: str) -> None:
    os.environ["ALEPH_WIRE_GENERATION"] = process
    settings.reload()
    daemon = AlephDaemon(
        settings=Settings().replace(ALEPH_WIRE_GENERATION=own), service=SearchingService()
    )
    body = b'{"query": {"ISBN": "1", "__nt_name": "ISBNQuery"}, "__nt_name": "SearchRequest"}'
    payload, _ = daemon.answer(body, "uuid-1", BasicProperties(headers={"UUID": "uuid-1"}))
    (record,) = json.loads(payload)["records"]
    if own == "2015":
        assert record["semantic_info"]["contentOfFMT"] == "BK"
        assert record["epublication"]["url"] == ["http://a/", "http://b/"]
    else:
        assert "semantic_info" not in record
        assert record["epublication"]["url"] == "http://a/"


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"5", "int"),
        (b'"SearchRequest"', "str"),
        (b"null", "NoneType"),
        (b'{"num_of_records": 1, "__nt_name": "CountResult"}', "CountResult"),
    ],
)
def test_json_that_is_no_request_is_refused_as_a_message_error(body: bytes, kind: str) -> None:
    """Valid JSON that is not a request is the sender's mistake, answered with an error of
    the contract's tree that names what came, before anything is asked of the catalogue
    (the settings point at no catalogue at all)."""
    own = Settings().replace(ALEPH_URL="http://127.0.0.1:1", ALEPH_EXPORT_URL="http://127.0.0.1:1")
    daemon = AlephDaemon(settings=own, service=AlephService(own))
    payload, properties = daemon.answer(body, "uuid-1", BasicProperties(headers={"UUID": "uuid-1"}))
    assert properties.headers is not None
    assert properties.headers["exception_name"] == "MessageError"
    assert payload.decode() == (
        f"cannot answer a message of type {kind}; requests are SearchRequest, CountRequest, "
        "ISBNValidationRequest, ExportRequest"
    )
