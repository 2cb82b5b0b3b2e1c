"""Fixtures for tests against the real RabbitMQ: a private vhost, a clean topology,
the Aleph emulator on a free port, the Aleph daemon as a subprocess, a raw pika peer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from edeposit.amqp import settings
from edeposit.amqp.runtime.topology import aleph_topology
from tests.services.support import DaemonFactory, Peer, daemon_log

if TYPE_CHECKING:
    from edeposit.amqp.emulator import AlephEmulator


def _rabbitmqctl(*arguments: str, attempts: int = 1) -> None:
    """``rabbitmqctl`` on the machine's broker (vhosts only); tried up to ``attempts``
    times, then the test fails with what rabbitmqctl said."""
    reason = ""
    for attempt in range(1, attempts + 1):
        try:
            subprocess.run(
                ["rabbitmqctl", "-q", *arguments],
                check=True,
                capture_output=True,
                text=True,
                timeout=60,
            )
            return
        except subprocess.CalledProcessError as error:
            reason = (error.stderr or error.stdout or "").strip() or f"exit {error.returncode}"
        except (OSError, subprocess.TimeoutExpired) as error:
            reason = str(error)
        if attempt < attempts:
            time.sleep(attempt)  # 1 s, 2 s, … for the broker to settle
    pytest.fail(
        f"rabbitmqctl {' '.join(arguments)} failed ({attempts} attempt(s)): {reason}\n"
        "is RabbitMQ running? scripts/ensure-broker starts it"
    )


@pytest.fixture(scope="session")
def vhost() -> Iterator[str]:
    """A vhost of this test run alone, deleted afterwards."""
    name = f"edeposit-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    _rabbitmqctl("add_vhost", name)
    _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    yield name
    _rabbitmqctl("delete_vhost", name, attempts=4)  # connections may still be closing


@pytest.fixture
def broker_env(vhost: str, tmp_path: Path) -> dict[str, str]:
    """Environment overrides pointing settings (here and in subprocesses) at the test vhost."""
    overrides = {
        "RABBITMQ_ALEPH_VIRTUALHOST": vhost,
        "ALEPH_DAEMON_PIDFILE": str(tmp_path / "alephdaemon.pid"),
        "ALEPH_DAEMON_LOGFILE": str(tmp_path / "alephdaemon.log"),
        "ALEPH_RATE_LIMIT": "0",
        "ALEPH_DAEMON_SHUTDOWN_TIMEOUT": "20",
    }
    os.environ.update(overrides)
    settings.reload()
    return overrides


@pytest.fixture
def peer(broker_env: dict[str, str]) -> Iterator[Peer]:
    """A raw client on a freshly declared, empty topology in the test vhost."""
    client = Peer()
    cfg = client.settings
    for queue in (cfg.RABBITMQ_ALEPH_DAEMON_QUEUE, cfg.RABBITMQ_ALEPH_PLONE_QUEUE):
        client.channel.queue_delete(queue)  # drops leftover messages and extra bindings
    aleph_topology(cfg).declare(client.channel)
    yield client
    client.close()


@pytest.fixture
def emulator() -> Iterator[AlephEmulator]:
    from edeposit.amqp.emulator import AlephEmulator  # noqa: PLC0415 - only where needed

    with AlephEmulator() as running:
        yield running


@pytest.fixture
def start_daemon(
    peer: Peer, emulator: AlephEmulator, broker_env: dict[str, str], tmp_path: Path
) -> Iterator[DaemonFactory]:
    """Start ``alephdaemon --foreground`` subprocesses against the emulator; stopped after."""
    started: list[subprocess.Popen[bytes]] = []

    def start(wait: bool = True, **extra_env: str) -> subprocess.Popen[bytes]:
        index = len(started)
        environment = {
            **os.environ,
            **broker_env,
            "ALEPH_URL": emulator.url,
            "ALEPH_EXPORT_URL": emulator.export_url,
            "ALEPH_DAEMON_PIDFILE": str(tmp_path / f"alephdaemon-{index}.pid"),
            **extra_env,
        }
        log = (tmp_path / f"alephdaemon-{index}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "edeposit.amqp.alephdaemon", "--foreground"],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        started.append(process)
        if wait:
            queue = peer.settings.RABBITMQ_ALEPH_DAEMON_QUEUE
            deadline = time.monotonic() + 20
            while peer.consumers(queue) < len([p for p in started if p.poll() is None]):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("daemon did not start consuming:\n" + daemon_log(tmp_path, index))
                time.sleep(0.05)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=25)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
