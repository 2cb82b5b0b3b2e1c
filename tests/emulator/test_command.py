"""``aleph-emulator`` as a user runs it: indexing a corpus shows its progress on a terminal
(stderr, in place) and logs its totals otherwise."""

from __future__ import annotations

import io
import os
import pty
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from edeposit.amqp.emulator.progress import IndexProgress
from tests.emulator.helpers import write_generated_corpus

RECORDS = 5000


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_line_says_records_rate_share_and_time_left() -> None:
    clock, terminal = Clock(), Terminal()
    progress = IndexProgress(4 * 1024 * 1024, terminal, clock)
    progress.record_read(1000)
    assert terminal.getvalue() == "\rindexing: 1 records, 0% of 4.0 MB\x1b[K"
    clock.now += 0.2
    for _ in range(2999):
        progress.record_read(2000)
    assert terminal.getvalue().count("\r") == 1, "not redrawn within half a second"
    clock.now += 9.8  # 10 s in, a quarter read
    progress.record_read(1024 * 1024)
    *_, last = terminal.getvalue().split("\r")
    assert last == ("indexing: 3,001 records, 25% of 4.0 MB, 300 records/s, about 30 s left\x1b[K")
    clock.now += 200
    progress.record_read(2 * 1024 * 1024)
    assert terminal.getvalue().endswith(", about 3 min 30 s left\x1b[K")
    progress.writing()
    assert terminal.getvalue().endswith(
        "\rindexing: 3,002 records read; writing the search index\x1b[K"
    )
    progress.finish()
    assert terminal.getvalue().endswith("\r\x1b[K"), "erased for the log line"
    progress.finish()
    assert terminal.getvalue().count("\r\x1b[K") == 1


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_generated_corpus(tmp_path_factory.mktemp("progress") / "generated.mrc", RECORDS)


def _emulator(corpus: Path, index_dir: Path, stderr: int) -> subprocess.Popen[str]:
    command = ["--corpus", str(corpus), "--index-dir", str(index_dir)]
    return subprocess.Popen(
        [sys.executable, "-m", "edeposit.amqp.emulator", *command],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


@pytest.fixture
def stopped() -> Iterator[list[subprocess.Popen[str]]]:
    """Emulators to stop after the test, whatever happened."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(30)
        if process.stdout is not None:
            process.stdout.close()


def _listening(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    return process.stdout.readline()


def test_indexing_shows_progress_on_a_terminal(
    corpus: Path, tmp_path: Path, stopped: list[subprocess.Popen[str]]
) -> None:
    controller, terminal = pty.openpty()
    try:
        process = _emulator(corpus, tmp_path, terminal)
        stopped.append(process)
        assert _listening(process).startswith("aleph-emulator listening on http://")
        shown = b""
        while select.select([controller], [], [], 0.5)[0]:
            shown += os.read(controller, 65536)
    finally:
        os.close(terminal)
        os.close(controller)
    text = shown.decode()
    assert "\rindexing: 1 records, " in text, text
    assert "\r\x1b[K" in text, "the line is erased before the totals"
    assert f"indexed {RECORDS} records" in text.split("\r\x1b[K")[-1]


def test_indexing_logs_its_totals_off_a_terminal(
    corpus: Path, tmp_path: Path, stopped: list[subprocess.Popen[str]]
) -> None:
    process = _emulator(corpus, tmp_path, subprocess.PIPE)
    stopped.append(process)
    assert _listening(process).startswith("aleph-emulator listening on http://")
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    assert process.stderr is not None
    log = process.stderr.read()
    process.stderr.close()
    assert "\r" not in log and "\x1b" not in log, "no progress line off a terminal"
    [totals] = [line for line in log.splitlines() if "indexed" in line]
    assert f"indexed {RECORDS} records (0 duplicates, 0 merged) from 1 files (" in totals
    assert " MB) in " in totals and " records/s" in totals
