"""A small HTTP/1.1 server connection: keep-alive requests in, one write per response out.

The standard library's ``BaseHTTPRequestHandler`` parses every header block with the
e-mail parser and writes headers and body separately; at a thousand requests a second
that overhead, not the catalogue work, set the latency. This handler reads only what
X-Services clients send (a request line, headers, a ``Content-Length`` body) and answers
in a single ``sendall``. Anything else gets the proper 4xx/5xx status and the
connection is closed.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
from dataclasses import dataclass
from http import HTTPStatus

from edeposit.amqp.errors import EdepositAMQPError

__all__ = ["HTTPConnectionHandler", "HTTPRequest", "RequestRefused"]

log = logging.getLogger(__name__)

#: Longest request line or header line read, in bytes.
MAX_LINE = 65536
#: Most header lines in one request.
MAX_HEADERS = 100
#: Largest request body read, in bytes.
MAX_BODY = 1 << 20
#: What the ``Server`` header says (the real X-Server's value).
SERVER = "ALEPH/5.20"
_TEXT = {"Content-Type": "text/plain"}


@dataclass(frozen=True, slots=True)
class HTTPRequest:
    """One request: method, target (path and query), headers by lower-case name, body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


class RequestRefused(EdepositAMQPError):  # noqa: N818 - a refusal with a status, not a failure
    """A request that cannot be read; answered with ``status`` and the connection closed."""

    def __init__(self, status: HTTPStatus) -> None:
        super().__init__(status.phrase)
        self.status = status


class HTTPConnectionHandler(socketserver.StreamRequestHandler):
    """Serves the requests of one connection until it closes or times out.

    Subclasses implement :meth:`respond` and answer with :meth:`send`.
    """

    #: Seconds an idle keep-alive connection is kept open.
    timeout = 30.0
    # A reply is one write, but a client's small request right after would otherwise
    # wait for a delayed ACK (~40 ms) under Nagle's algorithm.
    disable_nagle_algorithm = True
    close_connection = False

    def handle(self) -> None:
        while not self.close_connection:
            try:
                request = self._read_request()
            except RequestRefused as refusal:
                self.close_connection = True
                self.send(refusal.status, _TEXT, refusal.status.phrase.encode())
                return
            except (TimeoutError, ConnectionError, OSError):
                return
            if request is None:
                return
            self.respond(request)

    def respond(self, request: HTTPRequest) -> None:
        """Answers one request (with :meth:`send`)."""
        raise NotImplementedError

    def _line(self) -> bytes:
        line = self.rfile.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise RequestRefused(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
        return line

    def _read_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS + 1):
            header = self._line()
            if header in (b"\r\n", b"\n", b""):
                return headers
            name, colon, value = header.decode("latin-1").partition(":")
            if not colon or not name.strip() or name != name.strip():
                raise RequestRefused(HTTPStatus.BAD_REQUEST)
            headers.setdefault(name.lower(), value.strip())
        raise RequestRefused(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)

    def _read_request(self) -> HTTPRequest | None:
        line = self._line()
        while line in (b"\r\n", b"\n"):  # tolerated before a request (RFC 9112 §2.2)
            line = self._line()
        if not line:
            return None
        parts = line.decode("latin-1").split()
        if len(parts) != 3:
            raise RequestRefused(HTTPStatus.BAD_REQUEST)
        method, target, version = parts
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            raise RequestRefused(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED)
        headers = self._read_headers()
        connection = headers.get("connection", "").lower()
        if version == "HTTP/1.0":
            self.close_connection = "keep-alive" not in connection
        else:
            self.close_connection = "close" in connection
        if "transfer-encoding" in headers:
            raise RequestRefused(HTTPStatus.LENGTH_REQUIRED)
        length_text = headers.get("content-length", "0") or "0"
        if not length_text.isascii() or not length_text.isdigit():
            raise RequestRefused(HTTPStatus.BAD_REQUEST)
        if int(length_text) > MAX_BODY:
            raise RequestRefused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        body = self.rfile.read(int(length_text)) if int(length_text) else b""
        if len(body) < int(length_text):
            return None  # the client went away mid-body
        return HTTPRequest(method, target, headers, body)

    def send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        """Writes a whole response; ``Server``, ``Content-Length`` and ``Connection`` are added."""
        phrase = HTTPStatus(status).phrase
        lines = [f"HTTP/1.1 {status} {phrase}", f"Server: {SERVER}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            self.connection.sendall(head + body)
        except OSError:
            self.close_connection = True
            log.debug("client %s gone before the reply was sent", self.client_address)

    def drop(self) -> None:
        """Closes the connection at once, without a reply."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
