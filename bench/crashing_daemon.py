"""An Aleph daemon that dies (``os._exit``) on any request that mentions ``CRASH``.

The test hook of the poison-message scenario: it stands for a request that kills the
process handling it (a native crash, the OOM killer). Run it like the real daemon:
``python bench/crashing_daemon.py`` with the same settings in the environment.
"""

from __future__ import annotations

import os
import sys

from edeposit.amqp import settings
from edeposit.amqp.catalogue.service import AlephService
from edeposit.amqp.daemon.service import AlephDaemon
from edeposit.amqp.wire.message import Message

MARKER = "CRASH"


class CrashingService(AlephService):
    def handle(self, request: object) -> Message:
        if MARKER in repr(request):
            os._exit(70)
        return super().handle(request)


if __name__ == "__main__":
    current = settings.get()
    sys.exit(AlephDaemon(settings=current, service=CrashingService(current)).run_foreground())
