"""The emulator's HTTP server: X-Services at ``/X``, the export form, and a control API.

A threading HTTP/1.1 server (keep-alive; a thread per connection) whose handlers share
one :class:`Backend`. Routes:

* ``GET|POST /X`` — X-Services (:mod:`.xservices`), faults applied;
* ``POST /aleph-cgi/e-deposit`` — the export form (:mod:`.export_form`), faults applied;
* ``GET /F/?func=file&file_name=base-list`` — the OPAC page listing the logical bases;
* ``POST|DELETE|GET /_emulator/faults`` and ``GET /_emulator/stats`` — control for tests
  that run the emulator as a subprocess (never faulted). The stats count the catalogue
  calls (X requests and export posts) in total and over the last
  :data:`RATE_WINDOW` seconds, so a benchmark measures its load where a licence would.

Stopping closes idle keep-alive connections and wakes requests waiting in a fault, so
``stop`` returns promptly and leaves no thread or socket behind.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import socketserver
import threading
import time
from collections import deque
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from edeposit.amqp.emulator.export_form import Verdict, check_form, record_of, verdict_page
from edeposit.amqp.emulator.faults import Fault, FaultPlan, Faults
from edeposit.amqp.emulator.http_protocol import HTTPConnectionHandler, HTTPRequest
from edeposit.amqp.emulator.rendering import escape
from edeposit.amqp.emulator.xservices import XServices

__all__ = ["EXPORT_PATH", "Backend", "EmulatorServer"]

log = logging.getLogger(__name__)

EXPORT_PATH = "/aleph-cgi/e-deposit"
CONTROL_PREFIX = "/_emulator/"
#: Seconds over which ``calls_per_second`` is averaged.
RATE_WINDOW = 10.0
_X_HEADERS: dict[str, str] = {
    "Content-Type": "text/xml",
    "Pragma": "no-cache",
    "Cache-Control": "no-cache, no-store, must-revalidate",
    "Expires": "Sat, 01 Jan 2000 01:00:00 GMT",
}
_FORBIDDEN_PAGE = (
    b"<html><head><title>403 Forbidden</title></head>\n"
    b"<body><h1>Error 403 Forbidden</h1><p>You are not allowed to use this service.</p>"
    b"</body></html>\n"
)
_MAINTENANCE_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Maintenance</title></head>\n"
    b"<body><h1>The catalogue is being maintained</h1><p>Please try again later.</p>"
    b"</body></html>\n"
)


class Backend:
    """State shared by every request: the X-Services, faults, exports and counters."""

    def __init__(self, xservices: XServices, plan: FaultPlan, *, legacy_export: bool) -> None:
        self.xservices = xservices
        self.plan = plan
        self.legacy_export = legacy_export
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._exports: list[dict[str, str]] = []
        self._request_count = 0
        self._export_count = 0
        self._started = time.monotonic()
        self._recent: deque[float] = deque()  # when each call of the last RATE_WINDOW came

    @property
    def request_count(self) -> int:
        """X requests received so far (faulted ones included)."""
        with self._lock:
            return self._request_count

    def count_request(self, *, export: bool = False) -> None:
        """Counts one X request (or, with ``export``, one post of the export form)."""
        now = time.monotonic()
        with self._lock:
            if export:
                self._export_count += 1
            else:
                self._request_count += 1
            self._recent.append(now)
            self._forget(now)

    def _forget(self, now: float) -> None:
        while self._recent and self._recent[0] < now - RATE_WINDOW:
            self._recent.popleft()

    def call_stats(self) -> dict[str, float]:
        """Catalogue calls: X requests, export posts, both, and the recent rate."""
        now = time.monotonic()
        with self._lock:
            self._forget(now)
            window = min(RATE_WINDOW, now - self._started) or 1.0
            return {
                "request_count": self._request_count,
                "export_count": self._export_count,
                "call_count": self._request_count + self._export_count,
                "calls_per_second": round(len(self._recent) / window, 3),
                "uptime": round(now - self._started, 3),
            }

    @property
    def exports(self) -> list[dict[str, str]]:
        """Accepted export forms, oldest first (a copy)."""
        with self._lock:
            return [dict(form) for form in self._exports]

    def accept_export(self, form: dict[str, str]) -> None:
        """Keeps an accepted form and makes its publication searchable."""
        self.xservices.index.add(record_of(form))
        with self._lock:
            self._exports.append(form)

    def stats(self) -> dict[str, Any]:
        """What the control endpoint reports."""
        return {
            **self.call_stats(),
            "exports": self.exports,
            "faults": self.plan.faults.to_mapping(),
            "records": self.xservices.index.record_count,
        }


class EmulatorServer(socketserver.ThreadingTCPServer):
    """The listening server; tracks open connections so that stopping can close them."""

    allow_reuse_address = True
    daemon_threads = True
    block_on_close = True

    def __init__(self, address: tuple[str, int], backend: Backend) -> None:
        self.backend = backend
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket, *, is_open: bool) -> None:
        """Records that a connection opened or closed."""
        with self._open_lock:
            if is_open:
                self._open.add(connection)
            else:
                self._open.discard(connection)

    def close_connections(self) -> None:
        """Shuts every open connection down, waking the threads that read them."""
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Logs a failed connection (a client gone mid-reply) instead of printing it."""
        log.debug("connection from %s failed", client_address, exc_info=True)


def _form(text: str) -> dict[str, str]:
    """Form or query parameters, names lower-cased, the first value of each name kept."""
    params: dict[str, str] = {}
    for name, value in parse_qsl(text, keep_blank_values=True, errors="replace"):
        params.setdefault(name.strip().lower(), value)
    return params


class _Handler(HTTPConnectionHandler):
    server: EmulatorServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, is_open=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, is_open=False)

    def _send_json(self, status: int, payload: object) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self.send(status, {"Content-Type": "application/json"}, body)

    def _send_html(self, status: int, title: str) -> None:
        page = f"<html><head><title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>"
        self.send(status, {"Content-Type": "text/html"}, (page + "</body></html>\n").encode())

    def respond(self, request: HTTPRequest) -> None:
        method = request.method
        try:
            url = urlsplit(request.target)
            path = url.path.rstrip("/") or "/"
            if path.startswith(CONTROL_PREFIX.rstrip("/")):
                self._control(method, path, request.body)
            elif path.lower() == "/x" and method in ("GET", "POST"):
                params = _form(url.query)
                if method == "POST":
                    for name, value in _form(request.body.decode("utf-8", "replace")).items():
                        params.setdefault(name, value)
                self._x_services(params)
            elif path == EXPORT_PATH and method == "POST":
                self._export(request)
            elif path.upper() == "/F" and method == "GET":
                self._base_list(_form(url.query))
            elif path in ("/X", EXPORT_PATH, "/F"):
                self._send_html(405, "405 Method Not Allowed")
            elif method not in ("GET", "POST", "DELETE"):
                self._send_html(501, "501 Not Implemented")
            else:
                self._send_html(404, "404 Not Found")
        except Exception:
            log.exception("request %s %s failed", method, request.target)
            self.close_connection = True
            self._send_html(500, "500 Internal Server Error")

    def _fault(self, *, counts_session: bool) -> Fault | None:
        """Waits out latency and hangs; the fault to apply, or None when the server stops."""
        backend = self.server.backend
        delay = backend.plan.delay()
        if delay and backend.stopping.wait(delay):
            self.close_connection = True
            return None
        fault = backend.plan.choose(counts_session)
        if fault is Fault.DROP:
            log.info("fault: dropping the connection")
            self.drop()
            return None
        if fault is Fault.FORBIDDEN:
            log.info("fault: 403 Forbidden page")
            self.send(403, {"Content-Type": "text/html"}, _FORBIDDEN_PAGE)
            return None
        if fault is Fault.MAINTENANCE:
            log.info("fault: maintenance page")
            self.send(200, {"Content-Type": "text/html"}, _MAINTENANCE_PAGE)
            return None
        return fault

    # -- routes -----------------------------------------------------------------------

    def _x_services(self, params: dict[str, str]) -> None:
        backend = self.server.backend
        backend.count_request()
        fault = self._fault(counts_session=True)
        if fault is None:
            return
        if fault is Fault.LICENCE:
            log.info("fault: licence limit reached")
            body = backend.xservices.licence_error(params)
        else:
            body = backend.xservices.answer(params)
        if fault is Fault.MALFORMED:
            log.info("fault: malformed XML")
            body = body[: len(body) // 2]
        self.send(200, _X_HEADERS, body)

    def _export(self, request: HTTPRequest) -> None:
        backend = self.server.backend
        backend.count_request(export=True)
        if self._fault(counts_session=False) is None:
            return
        content_type = request.headers.get("content-type", "application/x-www-form-urlencoded")
        form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        if "multipart/" in content_type.lower():
            verdict = Verdict(("the form must be sent as application/x-www-form-urlencoded",))
        else:
            verdict = check_form(form)
        if verdict.accepted:
            backend.accept_export(form)
            log.info("export accepted: ISBN %s", form.get("P0501010__a"))
        else:
            log.info("export rejected: %s", "; ".join(verdict.reasons))
        status, headers, page = verdict_page(verdict, legacy=backend.legacy_export)
        self.send(status, headers, page)

    def _base_list(self, params: dict[str, str]) -> None:
        if params.get("func") != "file" or params.get("file_name") != "base-list":
            self._send_html(404, "404 Not Found")
            return
        links = "\n".join(
            f'<li><a href="/F/?func=find-b-0&amp;local_base={base}">{base.upper()}</a></li>'
            for base in sorted(self.server.backend.xservices.bases)
        )
        page = f"<html><head><title>Báze</title></head><body><ul>\n{links}\n</ul></body></html>\n"
        self.send(200, {"Content-Type": "text/html; charset=utf-8"}, page.encode())

    def _control(self, method: str, path: str, body: bytes) -> None:
        backend = self.server.backend
        if path == "/_emulator/stats" and method == "GET":
            self._send_json(200, backend.stats())
        elif path == "/_emulator/faults" and method == "GET":
            self._send_json(200, backend.plan.faults.to_mapping())
        elif path == "/_emulator/faults" and method == "DELETE":
            backend.plan.faults = Faults()
            self._send_json(200, backend.plan.faults.to_mapping())
        elif path == "/_emulator/faults" and method == "POST":
            try:
                values = json.loads(body or b"{}")
                if not isinstance(values, dict):
                    raise ValueError("the body must be a JSON object")
                backend.plan.faults = Faults.from_mapping(values)
            except ValueError as error:  # JSONDecodeError is a ValueError
                self._send_json(400, {"error": str(error)})
                return
            self._send_json(200, backend.plan.faults.to_mapping())
        else:
            self._send_json(404, {"error": f"no control endpoint {method} {path}"})
