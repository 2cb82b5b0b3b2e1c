"""``alephdaemon start|stop|restart|status`` as users run them: detached, with a pidfile."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from edeposit.amqp import aleph
from edeposit.amqp.emulator import AlephEmulator
from edeposit.amqp.serializers import deserialize, serialize
from tests.services.support import Peer, connection_names
from tests.waiting import wait_for


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
    assert status.returncode == 0, status.stdout
    assert f"running (pid {pid}," in status.stdout and ": serving" in status.stdout
    assert "consuming:  daemon" in status.stdout

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
    state = Path(daemon_env["ALEPH_DAEMON_PIDFILE"]).with_name("alephdaemon.state.json")
    assert not state.exists(), "the state file goes with the daemon"


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


def test_status_reports_the_daemons_own_state_not_a_probe(daemon_env: dict[str, str]) -> None:
    """A daemon started with a broker port nobody listens on: ``start`` says it does not
    serve; a plain ``status`` (the caller's settings are fine) still says so."""
    started = alephdaemon(
        {**daemon_env, "RABBITMQ_PORT": "5999", "ALEPH_DAEMON_START_TIMEOUT": "3"}, "start"
    )
    assert started.returncode == 4, started.stdout + started.stderr
    assert "not serving after 3 s" in started.stderr
    assert "cannot connect to amqp://127.0.0.1:5999" in started.stderr
    assert "Connection refused" in started.stderr
    status = alephdaemon(daemon_env, "status")
    assert status.returncode == 4, status.stdout
    assert "NOT serving" in status.stdout
    assert "127.0.0.1:5999" in status.stdout and "Connection refused" in status.stdout
    assert "reachable" not in status.stdout
    log = Path(daemon_env["ALEPH_DAEMON_LOGFILE"]).read_text()
    attempts = log.count("cannot connect to amqp://127.0.0.1:5999")
    assert attempts >= 2 and log.count("next attempt in") == attempts, "one line per attempt"
    assert "ERROR pika" not in log, "pika's own lines for each attempt are folded away"


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"RABBITMQ_USER_PASSWORD": "wrong"}, "login to amqp://127.0.0.1:5672"),
        ({"RABBITMQ_ALEPH_VIRTUALHOST": "edeposit-no-such-vhost"}, "rabbitmqctl add_vhost"),
        ({"RABBITMQ_PORT": "many"}, "setting RABBITMQ_PORT must be int"),
        ({"ALEPH_DAEMON_PIDFILE": "/dev/null/alephdaemon.pid"}, "cannot write /dev/null"),
        ({"RABBITMQ_ALEPH_QUEUE_TYPE": "quorum"}, "the broker refused a declaration"),
    ],
    ids=["refused-login", "missing-vhost", "bad-settings", "unwritable-pidfile", "topology"],
)
def test_a_daemon_that_cannot_start_fails_start_with_the_reason(
    daemon_env: dict[str, str], override: dict[str, str], reason: str
) -> None:
    started = alephdaemon({**daemon_env, **override}, "start")
    assert started.returncode == 78, started.stdout + started.stderr
    assert reason in started.stderr
    assert "Traceback" not in started.stderr
    assert "started (pid" not in started.stdout
    assert "daemon: daemon:" not in started.stderr
    assert alephdaemon(daemon_env, "status").returncode == 3
    log = Path(daemon_env["ALEPH_DAEMON_LOGFILE"])
    assert "daemon: daemon:" not in (log.read_text() if log.exists() else "")


def test_foreground_exits_78_for_a_refused_login(daemon_env: dict[str, str]) -> None:
    """systemd's RestartPreventExitStatus=78 then stops restarting it."""
    foreground = alephdaemon({**daemon_env, "RABBITMQ_USER_PASSWORD": "wrong"}, "--foreground")
    assert foreground.returncode == 78
    assert "login to amqp://127.0.0.1:5672" in foreground.stderr
    assert "daemon: daemon:" not in foreground.stderr


def test_command_line_overrides_settings(daemon_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "amqp.json"
    pidfile = tmp_path / "elsewhere" / "alephdaemon.pid"
    config.write_text(json.dumps({"ALEPH_DAEMON_PIDFILE": str(pidfile)}))
    env = {key: value for key, value in daemon_env.items() if key != "ALEPH_DAEMON_PIDFILE"}
    started = alephdaemon(env, "--config", str(config), "--workers", "3", "start")
    assert started.returncode == 0, started.stderr
    assert pidfile.exists()
    status = alephdaemon(env, "status", "--config", str(config))
    assert status.returncode == 0 and str(pidfile) in status.stdout
    assert "3 workers" in Path(daemon_env["ALEPH_DAEMON_LOGFILE"]).read_text()
    assert alephdaemon(env, "--config", str(config), "stop").returncode == 0
    wrong = alephdaemon(env, "--log-level", "LOUD", "status")
    assert wrong.returncode == 78 and "LOG_LEVEL" in wrong.stderr
    version = alephdaemon(env, "--version")
    assert version.returncode == 0 and version.stdout.startswith("alephdaemon ")


def test_foreground_refuses_a_second_instance(daemon_env: dict[str, str]) -> None:
    assert alephdaemon(daemon_env, "start").returncode == 0
    second = alephdaemon(daemon_env, "--foreground")
    assert second.returncode == 1
    assert "already running" in second.stderr


def test_status_says_which_catalogue_and_wire_form(
    daemon_env: dict[str, str], emulator: AlephEmulator
) -> None:
    started = alephdaemon(
        {**daemon_env, "ALEPH_WIRE_GENERATION": "2015", "ALEPH_EXPORT_URL": emulator.export_url},
        "start",
    )
    assert started.returncode == 0, started.stderr
    status = alephdaemon(daemon_env, "status")  # the caller's settings do not matter
    assert status.returncode == 0, status.stdout
    assert f"\n  aleph url:  {emulator.url} (export form {emulator.export_url})\n" in status.stdout
    assert "\n  wire form:  generation 2015 (ALEPH_WIRE_GENERATION)\n" in status.stdout


def _shows(vhost: str, name: str) -> bool:
    return name in connection_names(vhost)


def test_every_connection_names_its_owner(daemon_env: dict[str, str]) -> None:
    """The broker's own view (``rabbitmqctl list_connections client_properties``) tells
    which command, host and process holds each connection: a detached daemon by its own
    pid (not the one of the ``start`` that forked it), the commands by theirs."""
    vhost = daemon_env["RABBITMQ_ALEPH_VIRTUALHOST"]
    host = socket.gethostname()
    waiting = []
    for command in (
        ["edeposit.amqp.cli", "count", "--isbn", "80-251-0225-4", "--timeout", "60"],
        ["edeposit.amqp.amqp_tool", "--get", "--timeout", "60"],
    ):
        waiting.append(
            subprocess.Popen(
                [sys.executable, "-m", *command],
                env=daemon_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    try:
        aleph, tool = waiting
        assert wait_for(lambda: _shows(vhost, f"aleph@{host}:{aleph.pid}"), 30)
        assert wait_for(lambda: _shows(vhost, f"amqp_tool@{host}:{tool.pid}"), 30)
    finally:
        for process in waiting:
            process.kill()
            process.wait()
    assert alephdaemon(daemon_env, "start").returncode == 0
    daemon = f"alephdaemon@{host}:{pid_of(daemon_env)}"
    assert wait_for(lambda: _shows(vhost, daemon), 30), connection_names(vhost)
    names = connection_names(vhost)
    assert all(re.fullmatch(rf"[\w.-]+@{re.escape(host)}:\d+", name) for name in names), names
