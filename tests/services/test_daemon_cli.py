"""``alephdaemon start|stop|restart|status`` as users run them: detached, with a pidfile."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edeposit.amqp import aleph
from edeposit.amqp.emulator import AlephEmulator
from edeposit.amqp.serializers import deserialize, serialize
from tests.services.support import Peer


@pytest.fixture
def daemon_env(
    broker_env: dict[str, str], emulator: AlephEmulator, peer: Peer
) -> Iterator[dict[str, str]]:
    env = {**os.environ, **broker_env, "ALEPH_URL": emulator.url}
    yield env
    subprocess.run(  # never leave a detached daemon behind
        [sys.executable, "-m", "edeposit.amqp.alephdaemon", "stop"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )


def alephdaemon(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edeposit.amqp.alephdaemon", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def pid_of(env: dict[str, str]) -> int:
    return int(Path(env["ALEPH_DAEMON_PIDFILE"]).read_text().strip())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


def test_start_status_stop_restart(daemon_env: dict[str, str], peer: Peer) -> None:
    started = alephdaemon(daemon_env, "start")
    assert started.returncode == 0, started.stdout + started.stderr
    assert "started (pid" in started.stdout
    pid = pid_of(daemon_env)
    assert alive(pid)

    again = alephdaemon(daemon_env, "start")
    assert again.returncode == 1
    assert "already running" in again.stdout

    status = alephdaemon(daemon_env, "status")
    assert status.returncode == 0
    assert f"running (pid {pid})" in status.stdout and "reachable" in status.stdout

    peer.publish(serialize(aleph.CountRequest(aleph.ISBNQuery("80-251-0225-4"))), {"UUID": "cli"})
    [(_, properties, body)] = peer.receive(1)
    assert properties.headers["UUID"] == "cli"
    assert deserialize(body) == aleph.CountResult(1)

    restarted = alephdaemon(daemon_env, "restart")
    assert restarted.returncode == 0, restarted.stdout
    new_pid = pid_of(daemon_env)
    assert new_pid != pid and not alive(pid) and alive(new_pid)

    stopped = alephdaemon(daemon_env, "stop")
    assert stopped.returncode == 0
    assert f"stopped (pid {new_pid})" in stopped.stdout
    assert not alive(new_pid), "stop returns only when the process is gone"
    assert not Path(daemon_env["ALEPH_DAEMON_PIDFILE"]).exists()

    status = alephdaemon(daemon_env, "status")
    assert status.returncode == 3
    nothing = alephdaemon(daemon_env, "stop")
    assert nothing.returncode == 0
    assert "not running" in nothing.stdout

    log = Path(daemon_env["ALEPH_DAEMON_LOGFILE"]).read_text()
    assert "started as daemon" in log and "ready" in log


def test_stale_pidfile_is_recovered(daemon_env: dict[str, str]) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    pidfile = Path(daemon_env["ALEPH_DAEMON_PIDFILE"])
    pidfile.write_text(f"{dead.pid}\n")
    assert alephdaemon(daemon_env, "status").returncode == 3
    started = alephdaemon(daemon_env, "start")
    assert started.returncode == 0, started.stdout
    assert pid_of(daemon_env) != dead.pid
    assert alephdaemon(daemon_env, "stop").returncode == 0


def test_status_says_when_the_broker_is_unreachable(daemon_env: dict[str, str]) -> None:
    assert alephdaemon(daemon_env, "start").returncode == 0
    deadline = time.monotonic() + 10
    while "reachable" not in alephdaemon(daemon_env, "status").stdout:
        assert time.monotonic() < deadline
    broken = {**daemon_env, "RABBITMQ_PORT": "1"}
    status = alephdaemon(broken, "status")
    assert status.returncode == 4
    assert "unreachable" in status.stdout


def test_foreground_refuses_a_second_instance(daemon_env: dict[str, str]) -> None:
    assert alephdaemon(daemon_env, "start").returncode == 0
    second = alephdaemon(daemon_env, "--foreground")
    assert second.returncode == 1
    assert "already running" in second.stderr
