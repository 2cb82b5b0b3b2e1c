"""The public entry point: exported, documented signature, and light to import."""

from __future__ import annotations

import inspect
import subprocess
import sys

from edeposit.amqp import aleph
from edeposit.amqp.catalogue.service import ANSWERS


def test_react_to_amqp_message_is_public() -> None:
    assert "reactToAMQPMessage" in aleph.__all__
    assert list(inspect.signature(aleph.reactToAMQPMessage).parameters) == [
        "request",
        "send_back",
    ]


def test_every_request_type_has_an_answer() -> None:
    assert set(ANSWERS) == set(aleph.REQUEST_TYPES)


def test_importing_the_message_model_does_not_import_the_http_stack() -> None:
    code = (
        "import sys, edeposit.amqp.aleph, edeposit.amqp.serializers; "
        "print(sorted(m for m in ('httpx', 'lxml', 'edeposit.amqp.catalogue.service') "
        "if m in sys.modules))"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]"
