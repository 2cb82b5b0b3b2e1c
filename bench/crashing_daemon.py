"""An Aleph daemon that dies (``os._exit``) on any request whose body holds ``CRASH``.

The test hook of the poison-message scenario: it stands for a request that kills the
process handling it (a native crash, the OOM killer). Run it like the real daemon:
``python bench/crashing_daemon.py`` with the same settings in the environment.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from pika.spec import BasicProperties

from edeposit.amqp.daemon.answers import Answer
from edeposit.amqp.daemon.service import AlephDaemon

MARKER = b"CRASH"


class CrashingDaemon(AlephDaemon):
    def answer(self, body: bytes, uuid: Any, properties: BasicProperties) -> Answer:
        if MARKER in body:
            os._exit(70)
        return super().answer(body, uuid, properties)


if __name__ == "__main__":
    sys.exit(CrashingDaemon().run_foreground())
