"""Fixtures of the Aleph client tests: the real records, the golden values, local servers."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from edeposit.amqp.config import Settings
from edeposit.amqp.emulator import AlephEmulator

RAYMOND_ISBN = "80-251-0225-4"
RAYMOND_SYSNO = 1492461


def service_settings(emulator: AlephEmulator, **changes: object) -> Settings:
    """Settings for a service of ``emulator``: no rate limit, quick retries and timeouts."""
    values: dict[str, object] = {
        "ALEPH_URL": emulator.url,
        "ALEPH_EXPORT_URL": emulator.export_url,
        "ALEPH_RATE_LIMIT": 0.0,
        "ALEPH_RETRIES": 2,
        "ALEPH_RETRY_BACKOFF": 0.01,
        "ALEPH_TIMEOUT": 2.0,
    }
    values.update(changes)
    return Settings().replace(**values)


@pytest.fixture(scope="session")
def raymond_oai(aleph_fixtures: Path) -> Path:
    """The Raymond record as NKP's find_doc reply (OAI-MARC)."""
    return aleph_fixtures / "responses" / "nkp_find_doc_unix_raymond_cpk20051492461.xml"


@pytest.fixture(scope="session")
def raymond_marcxml(aleph_fixtures: Path) -> Path:
    """The Raymond record as NKP's ill_get_doc record (MARC 21 slim, slash namespace)."""
    name = "nkp_marcxml_unix_raymond_translation_765_cpk20051492461.xml"
    return aleph_fixtures / "records" / "marcxml" / name


@pytest.fixture(scope="session")
def fixture_file(aleph_fixtures: Path) -> Callable[[str], Path]:
    """The one fixture file whose name contains ``part``."""

    def find(part: str) -> Path:
        matches = [path for path in aleph_fixtures.rglob("*.xml") if part in path.name]
        assert len(matches) == 1, f"{part!r} names {matches}"
        return matches[0]

    return find


@dataclass
class CannedReply:
    """What the crafted server answers: status, headers and body bytes."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/xml"})


@dataclass
class CraftedServer:
    """A real HTTP server on 127.0.0.1: answers from :attr:`queue` while it lasts, then
    every request with :attr:`reply`; :attr:`requests` records what came in."""

    url: str
    reply: CannedReply
    requests: list[tuple[str, str, dict[str, str], bytes]]
    queue: list[CannedReply] = field(default_factory=list)
    #: The client's port of every request: one port means one reused connection.
    peers: list[int] = field(default_factory=list)


class _QuietServer(http.server.ThreadingHTTPServer):
    """Clients that hang up early (a refused oversized reply) are expected here."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass


@pytest.fixture
def crafted_server() -> Iterator[CraftedServer]:
    """A stdlib HTTP server in a thread that serves crafted bytes (hostile or broken replies)."""
    state = CraftedServer("", CannedReply(), [])

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            state.requests.append((self.command, self.path, dict(self.headers), body))
            state.peers.append(self.client_address[1])
            reply = state.queue.pop(0) if state.queue else state.reply
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = _QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="crafted", daemon=True
    )
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def unused_port() -> int:
    """A local TCP port nobody listens on (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
