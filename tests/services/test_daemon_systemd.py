"""The daemon under systemd: notify socket (READY, WATCHDOG, STOPPING), and ``status`` from
a shell finding the service's pidfile in the system runtime folder."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edeposit.amqp import settings
from edeposit.amqp.daemon.service import AlephDaemon
from edeposit.amqp.runtime import runner
from tests.services.support import DaemonFactory, Peer


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    yield path, sock
    sock.close()


def receive(sock: socket.socket, wanted: str, timeout: float = 20.0) -> list[str]:
    """Messages up to and including the first that contains ``wanted``."""
    received: list[str] = []
    deadline = time.monotonic() + timeout
    while not any(wanted in message for message in received):
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            received.append(sock.recv(4096).decode())
        except TimeoutError:
            pytest.fail(f"no {wanted!r} from the daemon; got {received}")
    return received


def test_ready_once_consuming_then_watchdog_then_stopping(
    start_daemon: DaemonFactory, peer: Peer, notify_socket: tuple[str, socket.socket]
) -> None:
    path, sock = notify_socket
    daemon = start_daemon(wait=False, NOTIFY_SOCKET=path, WATCHDOG_USEC="400000")
    ready = receive(sock, "READY=1")[-1]
    assert f"MAINPID={daemon.pid}" in ready and "STATUS=consuming daemon" in ready
    queue = peer.settings.RABBITMQ_ALEPH_DAEMON_QUEUE
    deadline = time.monotonic() + 2
    while peer.consumers(queue) < 1:
        assert time.monotonic() < deadline, "READY=1 came before the daemon consumed"
        time.sleep(0.02)
    started = time.monotonic()
    pings = [m for m in receive(sock, "WATCHDOG=1") + receive(sock, "WATCHDOG=1") if "WATCH" in m]
    assert len(pings) >= 2 and time.monotonic() - started < 2
    daemon.send_signal(signal.SIGTERM)
    assert any("STOPPING=1" in message for message in receive(sock, "STOPPING=1"))
    assert daemon.wait(30) == 0


def test_status_finds_the_service_in_the_system_runtime_folder(
    start_daemon: DaemonFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The unit sets ALEPH_DAEMON_PIDFILE for the service only; a shell without it asks."""
    system_run = tmp_path / "run" / "edeposit"
    start_daemon(ALEPH_DAEMON_PIDFILE=str(system_run / "alephdaemon.pid"))
    monkeypatch.delenv("ALEPH_DAEMON_PIDFILE")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "shell-state"))
    shell = AlephDaemon(settings=settings.reload())
    assert shell.pid_path == tmp_path / "shell-state" / "edeposit" / "alephdaemon.pid"

    assert shell.status() == 3, "without the system folder it cannot know"
    assert "not running" in capsys.readouterr().out

    assert shell.system_runtime_dirs == runner.SYSTEM_RUNTIME_DIRS
    monkeypatch.setattr(shell, "system_runtime_dirs", (system_run,))
    deadline = time.monotonic() + 10
    while shell.status() != 0:
        assert time.monotonic() < deadline, capsys.readouterr().out
        time.sleep(0.2)
    shown = capsys.readouterr().out.split("running (pid")[-1]
    assert f"pidfile {system_run / 'alephdaemon.pid'}): serving" in shown


def test_pidfile_defaults_to_systemds_runtime_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNTIME_DIRECTORY", str(tmp_path / "run"))
    daemon = AlephDaemon(settings=settings.reload())
    assert daemon.pid_path == tmp_path / "run" / "alephdaemon.pid"
    assert daemon.state_path == tmp_path / "run" / "alephdaemon.state.json"
    monkeypatch.delenv("RUNTIME_DIRECTORY")
    assert os.environ.get("ALEPH_DAEMON_PIDFILE") is None
