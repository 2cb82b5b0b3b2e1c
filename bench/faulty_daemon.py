"""An Aleph daemon with a fault on demand, chosen by a marker in the request's title.

The test hook of the hostile scenarios: each marker stands for a bug or a bad day the
daemon must survive without losing a request. Run it like the real daemon
(``python bench/faulty_daemon.py`` with the same settings in the environment); a search
``TitleQuery("<MARKER>")`` triggers:

* ``HANG``: the catalogue work hangs far past ``ALEPH_DAEMON_SETTLE_TIMEOUT`` (released
  twice by the settle watchdog, then answered with a final error);
* ``RAISE``: the handler itself raises (outside the catalogue work, which answers its
  own errors), so the service gives the request up;
* ``IOCRASH``: an exception is thrown into the connection's I/O loop, as a bug there
  would: the daemon must end with a failure exit code (and the request be redelivered).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from pika.spec import Basic, BasicProperties

from edeposit.amqp import settings
from edeposit.amqp.catalogue.service import AlephService
from edeposit.amqp.daemon.service import AlephDaemon
from edeposit.amqp.wire.message import Message

MARKERS = ("HANG", "RAISE", "IOCRASH")


class FaultyService(AlephService):
    def handle(self, request: object) -> Message:
        if "HANG" in repr(request):
            time.sleep(600)
        return super().handle(request)


class FaultyDaemon(AlephDaemon):
    def onMessageReceived(  # noqa: N802 - the contract's name
        self, method_frame: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> bool:
        if b"RAISE" in body:
            raise RuntimeError("a bug in the handler")
        if b"IOCRASH" in body and self.connection is not None:
            connection: Any = self.connection._connection
            connection.ioloop.add_callback_threadsafe(_explode)
            time.sleep(5)  # the I/O thread dies meanwhile; the answer never goes out
        return super().onMessageReceived(method_frame, properties, body)


def _explode() -> None:
    raise RuntimeError("a bug on the I/O thread")


if __name__ == "__main__":
    current = settings.get()
    daemon = FaultyDaemon(settings=current, service=FaultyService(current))
    sys.exit(daemon.run_foreground())
