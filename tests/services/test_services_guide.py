"""docs/services.md, run as it stands: the guide's service, written to a file from the
guide's own code block and run as a process with a ``pika.URLParameters`` on the test
vhost, asked by the guide's client through Direct Reply-to and by a raw client through
an exclusive reply queue; its ``start``, ``status`` (its own paths, nothing of Aleph's)
and ``stop`` (a drain that settles everything)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest

from edeposit.amqp import settings
from edeposit.amqp.runtime.pidfile import locked_pid
from tests.services.support import connection_names
from tests.waiting import wait_for

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "services.md"
#: The queue the guide's service consumes.
QUEUE = "uppercase"


def guide_programs() -> dict[str, str]:
    """The guide's Python blocks that are whole programs, by the file name their first
    line gives (``\"\"\"uppercase.py: …``)."""
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    programs = {}
    for block in blocks:
        named = re.match(r'"""(\w+\.py): ', block)
        if named:
            programs[named.group(1)] = block
    return programs


class Guide:
    """The guide's programs in a folder of their own, run with the test broker's URL."""

    def __init__(self, folder: Path, vhost: str) -> None:
        self.folder = folder
        for name, code in guide_programs().items():
            (folder / name).write_text(code, encoding="utf-8")
        cfg = settings.get()
        self.url = (
            f"amqp://{cfg.RABBITMQ_USER_NAME}:{cfg.RABBITMQ_USER_PASSWORD}@"
            f"{cfg.RABBITMQ_HOST}:{cfg.RABBITMQ_PORT}/{urllib.parse.quote(vhost, safe='')}"
        )
        self.state = folder / "state"
        self.environment = {**os.environ, "AMQP_URL": self.url, "XDG_STATE_HOME": str(self.state)}
        self.environment.pop("RUNTIME_DIRECTORY", None)

    def run(self, program: str, *arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, program, *arguments],
            cwd=self.folder,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    @property
    def log(self) -> str:
        path = self.state / "edeposit" / f"{QUEUE}.log"
        return path.read_text(encoding="utf-8") if path.exists() else "(no log)"


@pytest.fixture
def guide(tmp_path: Path, vhost: str) -> Iterator[Guide]:
    programs = Guide(tmp_path, vhost)
    assert set(guide_programs()) == {"uppercase.py", "ask.py"}
    yield programs
    programs.run("uppercase.py", "stop")
    with pika.BlockingConnection(pika.URLParameters(programs.url)) as connection:
        connection.channel().queue_delete(QUEUE)


def test_the_guides_example_is_about_thirty_lines() -> None:
    assert 25 <= len(guide_programs()["uppercase.py"].splitlines()) <= 35


def test_the_guides_service_starts_answers_reports_and_drains(guide: Guide, vhost: str) -> None:
    pidfile = guide.state / "edeposit" / f"{QUEUE}.pid"
    before = guide.run("uppercase.py", "status")
    assert before.returncode == 3
    assert before.stdout == f"not running (pidfile {pidfile}; also looked in /run/{QUEUE})\n"

    started = guide.run("uppercase.py", "start")
    assert started.returncode == 0, started.stderr + guide.log
    assert started.stdout.startswith("started (pid ")
    pid = int(pidfile.read_text(encoding="ascii"))

    asked = guide.run("ask.py", "hello", "world")
    assert (asked.returncode, asked.stdout) == (0, "HELLO WORLD\n"), asked.stderr + guide.log

    with pika.BlockingConnection(pika.URLParameters(guide.url)) as connection:
        channel = connection.channel()
        answers = channel.queue_declare("", exclusive=True).method.queue

        def ask(count: int, first: int = 0) -> None:
            for index in range(first, first + count):
                channel.basic_publish(
                    "",
                    QUEUE,
                    f"request {index}".encode(),
                    pika.BasicProperties(reply_to=answers, correlation_id=f"c-{index}"),
                )

        def collect(count: int, timeout: float) -> list[tuple[pika.BasicProperties, bytes]]:
            received = []
            deadline = time.monotonic() + timeout
            while len(received) < count and time.monotonic() < deadline:
                method, properties, body = channel.basic_get(answers, auto_ack=True)
                if method is None:
                    connection.sleep(0.02)
                else:
                    received.append((properties, body))
            return received

        ask(20)
        received = collect(20, timeout=20)
        assert sorted(body for _, body in received) == sorted(
            f"REQUEST {index}".encode() for index in range(20)
        )
        for properties, body in received:
            assert properties.correlation_id == f"c-{int(body.split()[1])}"
            assert properties.delivery_mode == 2, "persistent, to a queue"
            assert properties.content_type == "text/plain; charset=utf-8"
        names = connection_names(vhost)
        assert any(name.startswith(f"{QUEUE}@") and name.endswith(f":{pid}") for name in names)

        def reports_its_work() -> bool:
            shown = guide.run("uppercase.py", "status")
            return shown.returncode == 0 and "acked 21" in shown.stdout

        assert wait_for(reports_its_work, timeout=10), guide.run("uppercase.py", "status").stdout
        status = guide.run("uppercase.py", "status").stdout
        assert status.startswith(f"running (pid {pid}, pidfile {pidfile}): serving\n")
        assert f"  consuming:  {QUEUE}\n" in status
        assert f"/{vhost}, connected since" in status
        assert "aleph" not in status.lower() and "/run/edeposit" not in status

        # SIGTERM while it works: what it took is answered, the rest waits in the queue
        # for the next start, which answers it.
        ask(1000, first=100)
        os.kill(pid, signal.SIGTERM)
        assert wait_for(lambda: locked_pid(pidfile) is None, timeout=20), guide.log
        left = channel.queue_declare(QUEUE, passive=True).method.message_count
        answered = channel.queue_declare(answers, passive=True).method.message_count
        assert answered + left == 1000, "none lost, none answered twice"
        drained = r"drained in \d+\.\d s: every message taken was settled \(0 unsettled\)"
        assert re.search(drained, guide.log), guide.log
        assert guide.run("uppercase.py", "status").returncode == 3

        restarted = guide.run("uppercase.py", "start")
        assert restarted.returncode == 0, restarted.stderr + guide.log
        assert wait_for(
            lambda: channel.queue_declare(answers, passive=True).method.message_count == 1000,
            timeout=30,
        )
        assert channel.queue_declare(QUEUE, passive=True).method.message_count == 0
        pid = int(pidfile.read_text(encoding="ascii"))
        stopped = guide.run("uppercase.py", "stop")
        assert (stopped.returncode, stopped.stdout) == (0, f"stopped (pid {pid})\n")
        assert channel.queue_declare(answers, passive=True).method.message_count == 1000
    assert guide.run("uppercase.py", "status").returncode == 3
