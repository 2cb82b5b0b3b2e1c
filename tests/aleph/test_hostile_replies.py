"""Hostile and broken replies over real sockets: refused, retried or mapped, never trusted."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from edeposit.amqp.aleph import (
    DocumentNotFoundException,
    EPublication,
    ExportException,
    ExportRejectedException,
    InvalidAlephBaseException,
    LibraryNotFoundException,
)
from edeposit.amqp.catalogue.export import Exporter
from edeposit.amqp.catalogue.ratelimiter import RateLimiter
from edeposit.amqp.catalogue.xservices import XServicesClient
from edeposit.amqp.errors import (
    AlephConnectError,
    AlephProtocolError,
    AlephReplyError,
    AlephTimeoutError,
    AlephTransportError,
)
from tests.waiting import returns_within
from tests.wire_samples import RAYMOND

from .conftest import CannedReply, CraftedServer
from .test_hardened import BILLION_LAUGHS, external_entity

DECLARATION = b'<?xml version = "1.0" encoding = "UTF-8"?>\n'


def client_of(server: CraftedServer, **options: object) -> XServicesClient:
    settings: dict[str, object] = {
        "retries": 2,
        "backoff": 0.01,
        "timeout": 5.0,
        "limiter": RateLimiter(0),
    }
    settings.update(options)
    return XServicesClient(server.url, **settings)  # type: ignore[arg-type]


def serve(server: CraftedServer, body: bytes, status: int = 200, **headers: str) -> None:
    server.reply = CannedReply(body, status, {"Content-Type": "text/xml", **headers})


def test_find_sends_params_and_reads_the_set(crafted_server: CraftedServer) -> None:
    serve(
        crafted_server,
        DECLARATION + b"<find>\n<set_number>016513</set_number>\n"
        b"<no_records>000004998</no_records>\n<no_entries>000002500</no_entries>\n"
        b"<session-id>X</session-id>\n</find>\n ",
    )
    with client_of(crafted_server) as client:
        found = client.find("nkc", "wau=(Eric S. Raymond) & x")
    assert (found.set_number, found.no_records, found.no_entries) == ("016513", 4998, 2500)
    ((method, path, _, _),) = crafted_server.requests
    url = urlsplit(path)
    assert method == "GET"
    assert url.path == "/X"
    params = parse_qs(url.query)
    assert params == {"op": ["find"], "base": ["nkc"], "request": ["wau=(Eric S. Raymond) & x"]}


def test_connections_are_reused(crafted_server: CraftedServer) -> None:
    serve(crafted_server, b"<find><error>empty set</error></find>")
    with client_of(crafted_server) as client:
        for _ in range(5):
            assert client.find("nkc", "sbn=1").no_records == 0
    assert len(crafted_server.peers) == 5
    assert len(set(crafted_server.peers)) == 1


@pytest.mark.parametrize("hostile", ["billion laughs", "external entity"])
def test_hostile_xml_is_refused_without_retry(
    crafted_server: CraftedServer, tmp_path: Path, hostile: str
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("TOP-SECRET")
    serve(
        crafted_server, BILLION_LAUGHS if hostile == "billion laughs" else external_entity(secret)
    )
    with (
        client_of(crafted_server) as client,
        pytest.raises(AlephReplyError, match="DOCTYPE") as caught,
    ):
        client.find("nkc", "sbn=1")
    assert "TOP-SECRET" not in str(caught.value)
    assert len(crafted_server.requests) == 1


def test_oversized_reply_is_refused(crafted_server: CraftedServer) -> None:
    serve(crafted_server, b"<find>" + b"<x>1</x>" * 10_000 + b"</find>")
    with client_of(crafted_server, max_reply_bytes=10_000) as client:
        with pytest.raises(AlephReplyError, match="10000"):
            client.find("nkc", "sbn=1")
    assert len(crafted_server.requests) == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"<html><body><h1>Error 403 Forbidden</h1></body></html>", 403),
        (b"<html><body><h1>Error 403 Forbidden</h1></body></html>", 200),
        (b"<html><body><h1>Error 403 Forbidden</h1>", 200),
        (b"Service Unavailable", 503),
        (b"<find><set_number>0", 200),
    ],
)
def test_non_xml_replies_are_retried_then_a_transport_error(
    crafted_server: CraftedServer, body: bytes, status: int
) -> None:
    serve(crafted_server, body, status, **{"Content-Type": "text/html"})
    with client_of(crafted_server) as client, pytest.raises(AlephTransportError) as caught:
        client.find("nkc", "sbn=1")
    assert type(caught.value) is AlephProtocolError  # a public class that says what failed
    assert len(crafted_server.requests) == 3  # one try and two retries


def test_html_heading_is_reported(crafted_server: CraftedServer) -> None:
    serve(crafted_server, b"<html><body><h1>Error 403 Forbidden</h1></body></html>")
    with client_of(crafted_server, retries=0) as client:
        with pytest.raises(AlephTransportError, match="Error 403 Forbidden"):
            client.find("nkc", "sbn=1")


def test_wrong_root_is_a_reply_error_and_not_retried(crafted_server: CraftedServer) -> None:
    serve(crafted_server, DECLARATION + b"<present>\n<session-id>X</session-id>\n</present>\n ")
    with client_of(crafted_server) as client, pytest.raises(AlephReplyError, match="<present>"):
        client.find("nkc", "sbn=1")
    assert len(crafted_server.requests) == 1


def test_catalogue_errors_are_never_retried(crafted_server: CraftedServer) -> None:
    serve(crafted_server, DECLARATION + b"<find>\n<error>Base xyz does not exist</error>\n</find>")
    with client_of(crafted_server) as client, pytest.raises(InvalidAlephBaseException):
        client.find("xyz", "sbn=1")
    assert len(crafted_server.requests) == 1


def test_login_root_for_ill_get_doc_is_an_unknown_library(crafted_server: CraftedServer) -> None:
    serve(
        crafted_server, DECLARATION + b"<login>\n<error>Library X is not defined</error>\n</login>"
    )
    with client_of(crafted_server) as client, pytest.raises(LibraryNotFoundException):
        client.ill_get_doc(1492461, "X")
    params = parse_qs(urlsplit(crafted_server.requests[0][1]).query)
    assert params["doc_number"] == ["001492461"]


def test_ill_get_doc_error_is_document_not_found(crafted_server: CraftedServer) -> None:
    serve(
        crafted_server, DECLARATION + b"<ill-get-doc>\n<error>Doc not found</error>\n</ill-get-doc>"
    )
    with client_of(crafted_server) as client, pytest.raises(DocumentNotFoundException):
        client.ill_get_doc("1", "NKC01")


def test_unreachable_catalogue(unused_port: int) -> None:
    client = XServicesClient(
        f"http://127.0.0.1:{unused_port}", retries=2, backoff=0.01, limiter=RateLimiter(0)
    )
    with client, pytest.raises(AlephConnectError, match="Connection refused") as caught:
        returns_within(20, lambda: client.find("nkc", "sbn=1"))  # refused, not waited out
    assert caught.value.__cause__ is not None


def test_read_timeout_is_retried_then_reported(crafted_server: CraftedServer) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections, never answers
    try:
        port = listener.getsockname()[1]
        client = XServicesClient(
            f"http://127.0.0.1:{port}", retries=1, backoff=0.01, timeout=0.2, limiter=RateLimiter(0)
        )
        started = time.monotonic()
        with client, pytest.raises(AlephTimeoutError, match="Timeout"):
            returns_within(20, lambda: client.find("nkc", "sbn=1"))
        assert time.monotonic() - started >= 0.4  # two attempts of 0.2 s each
    finally:
        listener.close()


# --- export form ------------------------------------------------------------------


def exporter_of(url: str, **options: object) -> Exporter:
    settings: dict[str, object] = {
        "signature": "edeposit-test",
        "referer": "http://edeposit.test/",
        "retries": 2,
        "backoff": 0.01,
        "limiter": RateLimiter(0),
    }
    settings.update(options)
    return Exporter(url, **settings)  # type: ignore[arg-type]


def test_export_posts_the_form(crafted_server: CraftedServer) -> None:
    serve(crafted_server, b"<html>ok</html>", **{"Content-Type": "text/html"})
    with exporter_of(crafted_server.url + "/aleph-cgi/e-deposit") as exporter:
        assert exporter.export(RAYMOND) == "80-251-0225-4"
    ((method, path, headers, body),) = crafted_server.requests
    assert (method, path) == ("POST", "/aleph-cgi/e-deposit")
    assert headers["Referer"] == "http://edeposit.test/"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = parse_qs(body.decode("ascii"), keep_blank_values=True)
    assert form["sid"] == ["edeposit-test"]
    assert form["P0501010__a"] == ["80-251-0225-4"]
    assert form["P07012001_a"] == ["Umění programování v UNIXu"]


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Aleph-Info": "error: ISBN already registered"}, b"<html>ok</html>"),
        ({}, "<html><h1>Požadavek byl odmítnut</h1></html>".encode()),
    ],
)
def test_export_rejected(
    crafted_server: CraftedServer, headers: dict[str, str], body: bytes
) -> None:
    serve(crafted_server, body, **headers)
    with exporter_of(crafted_server.url) as exporter, pytest.raises(ExportRejectedException):
        exporter.export(RAYMOND)
    assert len(crafted_server.requests) == 1  # a post is never repeated


def test_export_http_error_is_not_repeated(crafted_server: CraftedServer) -> None:
    serve(crafted_server, b"oops", 500)
    with exporter_of(crafted_server.url) as exporter, pytest.raises(ExportException, match="500"):
        exporter.export(RAYMOND)
    assert len(crafted_server.requests) == 1


def test_export_checks_before_sending(crafted_server: CraftedServer) -> None:
    with exporter_of(crafted_server.url) as exporter, pytest.raises(ExportException):
        exporter.export(EPublication.empty(ISBN=["80-251-0225-4"]))
    assert crafted_server.requests == []


def test_export_unreachable_form_is_retried(unused_port: int) -> None:
    with exporter_of(f"http://127.0.0.1:{unused_port}/e-deposit") as exporter:
        with pytest.raises(ExportException, match="Connection refused"):
            exporter.export(RAYMOND)


def test_wrong_scheme_fails_at_once() -> None:
    client = XServicesClient("ftp://127.0.0.1:1", retries=3, backoff=60.0, limiter=RateLimiter(0))
    with client, pytest.raises(AlephConnectError, match="URL scheme"):
        returns_within(20, lambda: client.find("nkc", "sbn=1"))  # a retry would wait 60 s
