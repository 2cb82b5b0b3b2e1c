"""The daemon's HTTP endpoint: ``/metrics``, ``/healthz`` and ``/readyz``.

Off unless ``ALEPH_DAEMON_METRICS_PORT`` is set; it listens on
``ALEPH_DAEMON_METRICS_HOST`` (127.0.0.1 by default: put a proxy or the firewall in
front before opening it wider). Everything is answered from what the daemon already
knows — no request opens a broker connection or asks the catalogue:

* ``/metrics``: the daemon's registry in Prometheus' text format;
* ``/healthz``: 200 while the process and its connection's I/O loop are alive (the loop
  ticks, or pauses between connection attempts), 503 when the loop is stuck — restart;
* ``/readyz``: 200 while the daemon consumes, 503 otherwise (connecting, reconnecting,
  stopping) with the reason.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from edeposit.amqp.runtime.connection import BrokerConnection

__all__ = ["Endpoint", "io_healthy", "readiness"]

log = logging.getLogger(__name__)


def io_healthy(connection: BrokerConnection | None) -> bool:
    """``/healthz``: the connection's I/O loop ticks (or there is no connection yet)."""
    return connection is None or connection.watch.io_healthy()


def readiness(connection: BrokerConnection | None, *, draining: bool) -> tuple[bool, str]:
    """``/readyz``: consuming, or why not (stopping, connecting, the last error)."""
    if draining:
        return False, "stopping"
    if connection is None or not connection.is_ready:
        last = connection.watch.last_error if connection is not None else None
        return False, f"not connected ({last})" if last else "connecting"
    return True, ""


class Endpoint:
    """An HTTP server on its own thread (see the module docstring).

    Args:
        host, port: where to listen (port 0: any free port, see :attr:`port`).
        registry: the metrics to serve.
        healthy: whether the daemon is alive and its I/O loop healthy.
        ready: ``(ready, why not)`` of the daemon.
    """

    def __init__(
        self,
        host: str,
        port: int,
        registry: CollectorRegistry,
        healthy: Callable[[], bool],
        ready: Callable[[], tuple[bool, str]],
    ) -> None:
        self.registry = registry
        self._healthy = healthy
        self._ready = ready
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics-http", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()
        host, port = self._server.server_address[:2]
        log.info("metrics, health and readiness on http://%s:%d/", host, port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, path: str) -> tuple[HTTPStatus, str, bytes]:
        if path == "/metrics":
            return HTTPStatus.OK, CONTENT_TYPE_LATEST, generate_latest(self.registry)
        if path == "/healthz":
            if self._healthy():
                return HTTPStatus.OK, "text/plain", b"ok\n"
            return HTTPStatus.SERVICE_UNAVAILABLE, "text/plain", b"the I/O loop is stuck\n"
        if path == "/readyz":
            ready, why = self._ready()
            if ready:
                return HTTPStatus.OK, "text/plain", b"ready\n"
            return HTTPStatus.SERVICE_UNAVAILABLE, "text/plain", f"not ready: {why}\n".encode()
        return HTTPStatus.NOT_FOUND, "text/plain", b"/metrics, /healthz or /readyz\n"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, content_type, body = endpoint._answer(self.path.split("?", 1)[0])
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("%s %s", self.address_string(), format % args)

        return Handler
