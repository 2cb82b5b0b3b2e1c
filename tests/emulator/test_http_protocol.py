"""The HTTP/1.1 layer over raw sockets: keep-alive, pipelining and malformed requests."""

from __future__ import annotations

import socket

import pytest

from edeposit.amqp.emulator import AlephEmulator

FIND = b"GET /X?op=find&base=nkc&request=sbn%3D80-251-0225-4 HTTP/1.1\r\nHost: x\r\n\r\n"


def _exchange(emulator: AlephEmulator, data: bytes) -> bytes:
    """Sends ``data`` and reads until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=5) as connection:
        connection.sendall(data)
        connection.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_pipelined_requests_are_answered_in_order(sample_emulator: AlephEmulator) -> None:
    reply = _exchange(sample_emulator, FIND + FIND.replace(b"find&", b"nope&"))
    assert reply.count(b"HTTP/1.1 200 OK\r\n") == 2
    assert reply.index(b"<find>") < reply.index(b"<login>")
    assert b"Server: ALEPH/5.20\r\n" in reply


def test_http_1_0_closes_after_the_reply(sample_emulator: AlephEmulator) -> None:
    with socket.create_connection(("127.0.0.1", sample_emulator.port), timeout=5) as connection:
        connection.sendall(FIND.replace(b"HTTP/1.1", b"HTTP/1.0"))
        reply = b""
        while chunk := connection.recv(65536):  # ends because the server closes
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Connection: close\r\n" in reply
    assert reply.endswith(b"</find>\n ")


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        (b"GARBAGE\r\n\r\n", b"400 Bad Request"),
        (b"GET /X HTTP/2.0\r\n\r\n", b"505 HTTP Version Not Supported"),
        (
            b"POST /X HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"411 Length Required",
        ),
        (b"POST /X HTTP/1.1\r\nContent-Length: abc\r\n\r\n", b"400 Bad Request"),
        (b"GET /X HTTP/1.1\r\nBad Header\r\n\r\n", b"400 Bad Request"),
        (b"GET /X HTTP/1.1\r\n" + b"A: b\r\n" * 101 + b"\r\n", b"431 Request Header Fields"),
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", b"431 Request Header Fields"),
        (b"PUT /nothing HTTP/1.1\r\n\r\n", b"501 Not Implemented"),
    ],
)
def test_malformed_requests_get_a_status_and_the_server_lives_on(
    sample_emulator: AlephEmulator, request_: bytes, status: bytes
) -> None:
    reply = _exchange(sample_emulator, request_)
    assert reply.startswith(b"HTTP/1.1 " + status)
    assert b"200 OK" in _exchange(sample_emulator, FIND)


def test_a_client_leaving_mid_body_does_no_harm(sample_emulator: AlephEmulator) -> None:
    assert _exchange(sample_emulator, b"POST /X HTTP/1.1\r\nContent-Length: 100\r\n\r\nop=") == b""
    assert b"200 OK" in _exchange(sample_emulator, FIND)
