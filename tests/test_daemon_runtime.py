"""The daemon's reporting machinery without a broker: the start report, systemd's notify
socket, the state file ``status`` reads, connection failure reasons, log records."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pika.exceptions
import pytest
from pika.adapters.utils.connection_workflow import (
    AMQPConnectionWorkflowFailed,
    AMQPConnectorSocketConnectError,
)
from prometheus_client import generate_latest

from edeposit.amqp.daemon.metrics import CatalogueMetrics, DaemonMetrics, outcome_of
from edeposit.amqp.errors import (
    AlephTimeoutError,
    DeserializationError,
    DocumentNotFoundException,
    InvalidISBNException,
)
from edeposit.amqp.runtime import logs
from edeposit.amqp.runtime.diagnosis import reason_of
from edeposit.amqp.runtime.notify import Notifier, parse_report, sd_notify
from edeposit.amqp.runtime.state import assess, read_state, state_path, write_state
from edeposit.amqp.runtime.watch import ConnectionWatch


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(2)
    yield sock
    sock.close()


def messages(sock: socket.socket) -> list[str]:
    received = []
    sock.settimeout(0.2)
    try:
        while True:
            received.append(sock.recv(4096).decode())
    except TimeoutError:
        return received


# --- the start report and systemd -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ok 123", (0, 123, "")),
        ("error 78 login refused", (78, None, "login refused")),
        ("", (1, None, "")),
        ("garbage", (1, None, "garbage")),
    ],
)
def test_start_reports(text: str, expected: tuple[int, int | None, str]) -> None:
    assert parse_report(text) == expected


def test_the_start_pipe_hears_ready_once() -> None:
    read_end, write_end = os.pipe()
    notifier = Notifier(write_end, environ={})
    notifier.ready("consuming")
    notifier.failed("too late", 78)  # after ready: nothing more on the pipe
    assert os.read(read_end, 100) == f"ok {os.getpid()}".encode()
    assert os.read(read_end, 100) == b"", "the pipe is closed once reported"
    os.close(read_end)


def test_the_start_pipe_hears_a_failure() -> None:
    read_end, write_end = os.pipe()
    Notifier(write_end, environ={}).failed("vhost 'x' refused", 78)
    assert parse_report(os.read(read_end, 200).decode()) == (78, None, "vhost 'x' refused")
    os.close(read_end)


def test_systemd_hears_ready_status_and_stopping(
    notify_socket: socket.socket, tmp_path: Path
) -> None:
    notifier = Notifier(environ={"NOTIFY_SOCKET": str(tmp_path / "notify")})
    notifier.ready("consuming daemon")
    notifier.status("consuming daemon")  # unchanged: not sent again
    notifier.status("not connected")
    notifier.stopping()
    sent = messages(notify_socket)
    assert sent[0] == f"READY=1\nMAINPID={os.getpid()}\nSTATUS=consuming daemon"
    assert sent[1:] == ["STATUS=not connected", sent[2]]
    assert sent[2].startswith("STOPPING=1")


def test_watchdog_pings_at_half_the_interval(notify_socket: socket.socket, tmp_path: Path) -> None:
    environ = {"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "200000"}
    notifier = Notifier(environ=environ)
    assert notifier.watchdog_period == pytest.approx(0.1)
    deadline = time.monotonic() + 0.45
    while time.monotonic() < deadline:
        notifier.watchdog()
        time.sleep(0.01)
    pings = messages(notify_socket)
    assert set(pings) == {"WATCHDOG=1"}
    assert 4 <= len(pings) <= 6


def test_watchdog_of_another_pid_is_not_ours() -> None:
    environ = {"NOTIFY_SOCKET": "/nonexistent", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}
    assert Notifier(environ=environ).watchdog_period is None


def test_abstract_notify_socket() -> None:
    name = f"edeposit-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        assert sd_notify("READY=1", {"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(100) == b"READY=1"


def test_without_systemd_nothing_is_sent() -> None:
    assert sd_notify("READY=1", {}) is False


# --- the state file -------------------------------------------------------------------


def test_state_file_beside_the_pidfile(tmp_path: Path) -> None:
    assert state_path(tmp_path / "alephdaemon.pid") == tmp_path / "alephdaemon.state.json"


def test_state_is_replaced_atomically_and_readable_by_all(tmp_path: Path) -> None:
    path = tmp_path / "alephdaemon.state.json"
    old = os.umask(0o077)
    try:
        write_state(path, {"pid": 1, "serving": True})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    state = read_state(path)
    assert state is not None and state["pid"] == 1 and state["updated"] <= time.time()
    assert [p.name for p in tmp_path.iterdir()] == [path.name], "no temporary file left"
    path.write_text("{half")
    assert read_state(path) is None


def serving_state(**changes: object) -> dict[str, object]:
    state: dict[str, object] = {
        "pid": 42,
        "serving": True,
        "updated": time.time(),
        "node": "amqp://127.0.0.1:5672/aleph",
        "connected": True,
        "since": time.time(),
        "consuming": ["daemon"],
        "in_flight": 3,
        "counters": {"received": 5},
        "started": time.time(),
    }
    state.update(changes)
    return state


def test_a_serving_daemon_is_healthy() -> None:
    healthy, text = assess(serving_state(), 42)
    assert healthy
    assert text.startswith("serving\n")
    assert "amqp://127.0.0.1:5672/aleph, connected since" in text
    assert "in flight:  3" in text and "received 5" in text


def test_status_shows_the_services_own_details() -> None:
    details = {"catalogue": "5 calls/s", "cache": "3 answers kept for 10 s"}
    healthy, text = assess(serving_state(details=details), 42)
    assert healthy
    assert "\n  catalogue:  5 calls/s\n  cache:      3 answers kept for 10 s" in text


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"serving": False, "activity": "not connected: refused"}, "not connected: refused"),
        ({"updated": time.time() - 60}, "stopped renewing its state"),
        ({"pid": 7}, "the state file is of pid 7"),
    ],
)
def test_what_is_not_serving(changes: dict[str, object], problem: str) -> None:
    healthy, text = assess(serving_state(**changes), 42)
    assert not healthy
    assert text.startswith("NOT serving: ") and problem in text


def test_watch_knows_a_stuck_loop_from_a_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    watch = ConnectionWatch()
    assert watch.io_healthy()
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + 30)
    assert not watch.io_healthy()
    watch.pausing(10)  # announced pause between attempts: not stuck
    assert watch.io_healthy()
    watch.failed("refused")
    watch.became_ready()
    watch.became_ready()
    assert watch.reconnects == 1 and watch.ready


# --- reasons and log records -----------------------------------------------------------


def test_connection_failure_reason_is_never_empty() -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    failed = pika.exceptions.AMQPConnectionError(
        AMQPConnectionWorkflowFailed([AMQPConnectorSocketConnectError(refused)])
    )
    assert str(failed.args[0]) == ""
    assert reason_of(failed) == "ConnectionRefusedError: [Errno 111] Connection refused"
    assert reason_of(pika.exceptions.StreamLostError()) == "StreamLostError"


def capture(fmt: str, level: str = "INFO") -> io.StringIO:
    stream = io.StringIO()
    handler = logs.configure_logging(level, fmt)
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    return stream


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    root.handlers[:], _ = saved[0], root.setLevel(saved[1])


def test_json_lines_carry_the_request() -> None:
    stream = capture("json")
    log = logging.getLogger("edeposit.amqp.catalogue.transport")
    log.info("outside")
    with logs.request_context("u-1"):
        logs.set_request_kind("SearchRequest")
        log.warning("Aleph find failed; retry %d of %d", 1, 3)
    log.info("done", extra={"uuid": "u-1", "kind": "SearchRequest", "duration_ms": 12.5})
    outside, retry, done = (json.loads(line) for line in stream.getvalue().splitlines())
    assert set(outside) >= {"ts", "level", "logger", "message"} and "uuid" not in outside
    assert retry["uuid"] == "u-1" and retry["kind"] == "SearchRequest"
    assert retry["message"] == "Aleph find failed; retry 1 of 3"
    assert retry["level"] == "WARNING" and retry["logger"] == "edeposit.amqp.catalogue.transport"
    assert done["duration_ms"] == 12.5


def test_text_lines_name_the_request() -> None:
    stream = capture("text")
    with logs.request_context("u-2", "CountRequest"):
        logging.getLogger("x").warning("retry")
    assert "WARNING x [MainThread] UUID 'u-2' CountRequest: retry" in stream.getvalue()


@pytest.mark.parametrize(("level", "kept"), [("INFO", False), ("DEBUG", True)])
def test_pika_connection_chatter_is_folded(level: str, kept: bool) -> None:
    stream = capture("text", level)
    logging.getLogger("pika.adapters.utils.connection_workflow").error("TCP attempt failed")
    base = logging.getLogger("pika.adapters.base_connection")
    base.error("Full-stack connection workflow failed: %s", "x")
    logging.getLogger("pika.channel").error("something else")
    text = stream.getvalue()
    assert ("TCP attempt failed" in text) is kept
    assert "ERROR pika.channel" in text
    assert "ERROR pika.adapters" not in text


# --- metrics ------------------------------------------------------------------------


def test_each_daemon_has_its_own_registry() -> None:
    first = DaemonMetrics(in_flight=lambda: 2, watch=lambda: None)
    second = DaemonMetrics(in_flight=lambda: 0, watch=lambda: None)
    first.request_done("SearchRequest", "result", 0.02)
    first.counted("dropped_without_uuid")
    first.counted("results")  # not a drop
    CatalogueMetrics(first).call_finished("find", "ok", 0.01)
    text = generate_latest(first.registry).decode()
    assert 'edeposit_requests_total{kind="SearchRequest",outcome="result"} 1.0' in text
    assert 'edeposit_dropped_total{reason="without_uuid"} 1.0' in text
    assert 'edeposit_catalogue_calls_total{op="find",outcome="ok"} 1.0' in text
    assert "edeposit_requests_in_flight 2.0" in text
    assert "edeposit_broker_connected 0.0" in text
    assert "edeposit_requests_total{" not in generate_latest(second.registry).decode()


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (None, "result"),
        (DocumentNotFoundException("gone"), "refused"),
        (DeserializationError("bad"), "refused"),
        (InvalidISBNException("x"), "refused"),
        (AlephTimeoutError("slow"), "failed"),
        (RuntimeError("bug"), "failed"),
    ],
)
def test_outcomes(error: BaseException | None, outcome: str) -> None:
    assert outcome_of(error) == outcome


def test_only_the_daemon_knows_prometheus() -> None:
    """The catalogue reports to an observer; runtime and catalogue never import Prometheus."""
    root = Path(__file__).resolve().parents[1] / "src" / "edeposit" / "amqp"
    for folder in ("catalogue", "runtime", "aleph", "wire", "marc"):
        for path in (root / folder).glob("*.py"):
            assert "prometheus" not in path.read_text(), path
