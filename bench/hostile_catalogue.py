"""An HTTP server that answers X-Services calls with hostile replies, one kind at a time.

Kinds: an external entity pointing at a local file, an entity-expansion bomb, a reply of
``huge_mb`` megabytes, bytes that are not the UTF-8 they claim to be. It stands for a
compromised or broken catalogue; the daemon must refuse each with a clear error, read
no file and keep its memory.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

__all__ = ["KINDS", "HostileCatalogue"]

DECLARATION = b'<?xml version = "1.0" encoding = "UTF-8"?>\n'
SECRET_FILE = "/etc/passwd"  # noqa: S105 - a file the entity tries to read, not a secret

BOMB = (
    DECLARATION
    + b"""<!DOCTYPE find [
<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
<!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
]>
<find>
<set_number>&f;</set_number>
<no_records>000000001</no_records>
<no_entries>000000001</no_entries>
</find>
"""
)

EXTERNAL_ENTITY = (
    DECLARATION
    + f"""<!DOCTYPE find [<!ENTITY secret SYSTEM "file://{SECRET_FILE}">]>
<find>
<set_number>&secret;</set_number>
<no_records>000000001</no_records>
<no_entries>000000001</no_entries>
</find>
""".encode()
)

BAD_ENCODING = DECLARATION + (
    b"<find>\n<set_number>\xff\xfe\xc3\x28</set_number>\n<no_records>000000001</no_records>\n"
    b"<no_entries>000000001</no_entries>\n</find>\n "
)

KINDS = ("external-entity", "entity-bomb", "huge", "bad-encoding")


class _Handler(BaseHTTPRequestHandler):
    server: HostileCatalogue.Server

    def do_GET(self) -> None:
        kind = self.server.kind
        self.server.requests += 1
        if kind == "huge":
            self._huge(self.server.huge_mb)
            return
        body = {"external-entity": EXTERNAL_ENTITY, "entity-bomb": BOMB}.get(kind, BAD_ENCODING)
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _huge(self, megabytes: int) -> None:
        chunk = b'<subfield label="a">' + b"z" * 1000 + b"</subfield>\n"
        count = megabytes * 1024 * 1024 // len(chunk)
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Transfer-Encoding", "chunked")  # no length announced up front
        self.end_headers()
        try:
            self._chunk(DECLARATION + b"<find>\n<error>")
            for _ in range(count):
                self._chunk(chunk)
            self._chunk(b"</error>\n</find>\n")
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading, as it should

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def log_message(self, format: str, *args: object) -> None:
        return


class HostileCatalogue:
    """``with HostileCatalogue() as catalogue:`` serves ``catalogue.kind`` replies."""

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        kind = KINDS[0]
        huge_mb = 100
        requests = 0

    def __init__(self, huge_mb: int = 100) -> None:
        self.server = HostileCatalogue.Server(("127.0.0.1", 0), _Handler)
        self.server.huge_mb = huge_mb
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def kind(self) -> str:
        return self.server.kind

    @kind.setter
    def kind(self, value: str) -> None:
        self.server.kind = value

    def __enter__(self) -> HostileCatalogue:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)
