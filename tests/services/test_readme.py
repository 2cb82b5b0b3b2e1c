"""What the README tells a newcomer to type, typed: the recipe for running the pieces by
hand on a private vhost, and the exit-code table, each code of each command provoked by
a real subprocess."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services.support import DaemonFactory, Peer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
#: Where the console scripts of this installation are.
SCRIPTS = Path(sys.executable).parent
#: Console script → the module it runs as.
MODULES = {
    "alephdaemon": "edeposit.amqp.alephdaemon",
    "aleph": "edeposit.amqp.cli",
    "amqp_tool": "edeposit.amqp.amqp_tool",
    "aleph-emulator": "edeposit.amqp.emulator",
    "edeposit-demo": "edeposit.amqp.demo",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the recipe ------------------------------------------------------------------------


def recipe() -> list[str]:
    """The commands of the README's section "By hand, on a private vhost"."""
    section = README.split("### By hand, on a private vhost", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


@pytest.fixture
def own_vhost() -> Iterator[str]:
    """A name for the recipe's vhost, which the recipe creates; deleted afterwards."""
    name = f"edeposit-recipe-{uuid.uuid4().hex[:8]}"
    yield name
    subprocess.run(
        ["rabbitmqctl", "-q", "delete_vhost", name], capture_output=True, timeout=60, check=False
    )


def test_the_recipe_runs_as_written(own_vhost: str) -> None:
    """Every line, run as it stands: only the vhost's name and the port are this run's
    own, and the commands come from this installation (what ``activate`` would do)."""
    port = str(free_port())
    environment = {**os.environ, "PATH": f"{SCRIPTS}{os.pathsep}{os.environ['PATH']}"}
    background: list[subprocess.Popen[str]] = []
    printed: dict[str, str] = {}
    try:
        for line in recipe():
            words = shlex.split(line.replace("aleph-mine", own_vhost).replace("8999", port), True)
            if words[:2] == [".", ".venv/bin/activate"]:
                continue
            if words[0] == "sudo":  # the tests run as a user who may administer the broker
                words = words[1:]
            if words[0] == "export":
                name, _, value = words[1].partition("=")
                environment[name] = value
            elif words[-1] == "&":
                assert words[0] in MODULES, line
                started = subprocess.Popen(
                    words[:-1], env=environment, stdout=subprocess.PIPE, text=True
                )
                background.append(started)
                assert started.stdout is not None
                said = started.stdout.readline()
                assert said == f"aleph-emulator listening on http://127.0.0.1:{port}\n", said
            elif words == ["kill", "%1"]:
                background[0].send_signal(signal.SIGTERM)
                assert background[0].wait(30) == 0
            else:
                assert words[0] in {*MODULES, "rabbitmqctl"}, line
                done = subprocess.run(
                    words, env=environment, capture_output=True, text=True, timeout=90, check=False
                )
                assert done.returncode == 0, f"{line}\n{done.stdout}{done.stderr}"
                printed[" ".join(words[:2])] = done.stdout
    finally:
        subprocess.run(
            [SCRIPTS / "alephdaemon", "stop"],
            env=environment,
            capture_output=True,
            timeout=90,
            check=False,
        )
        for process in background:
            if process.poll() is None:
                process.kill()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()
    assert f"aleph url:  http://127.0.0.1:{port} (export form " in printed["alephdaemon status"]
    assert printed["aleph search"].splitlines()[-1] == "(1 record)"
    assert "Umění programování v UNIXu" in printed["aleph search"]
    assert printed["alephdaemon stop"].startswith("stopped (pid")


def test_the_recipe_warns_that_the_default_catalogue_counts_calls() -> None:
    text = " ".join(README.split("### By hand, on a private vhost", 1)[1].split())
    assert "Without `ALEPH_URL` the daemon asks the national catalogue" in text
    assert "whose licence counts every call" in text
    first_screen = README.split("---", 1)[0]
    assert re.findall(r"^scripts/\w+", first_screen, re.MULTILINE) == [
        "scripts/demo",
        "scripts/test",
    ]


# --- the exit-code table ---------------------------------------------------------------


def exit_table() -> dict[str, set[int]]:
    """The codes the README's table lists for each command (the row ``all`` for each)."""
    section = README.split("Exit codes:", 1)[1].split("\n\n", 2)[1]
    table: dict[str, set[int]] = {}
    everyone: set[int] = set()
    for row in section.splitlines()[2:]:
        name, codes = (cell.strip() for cell in row.strip("|").split("|", 1))
        listed = {int(code) for code in re.findall(r"(?:^|, )(\d+) ", codes)}
        if name == "all":
            everyone |= listed
        else:
            table[name.strip("`")] = listed
    return {name: codes | everyone for name, codes in table.items()}


def test_the_table_has_a_row_for_every_command() -> None:
    table = exit_table()
    assert set(table) == set(MODULES)
    assert table["aleph"] == {0, 1, 2, 3, 4, 5, 78, 141}
    for command, codes in table.items():
        assert 141 in codes, command


def run(command: str, *arguments: str, **env: str) -> int:
    """``command``'s exit code (``stdin`` empty, output kept away)."""
    return subprocess.run(
        [sys.executable, "-m", MODULES[command], *arguments],
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        check=False,
    ).returncode


def closed_output(command: str, *arguments: str, **env: str) -> int:
    """``command``'s exit code when its output is closed before it writes (``| head -0``)."""
    process = subprocess.Popen(
        [sys.executable, "-m", MODULES[command], *arguments],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    process.stdout.close()
    return process.wait(120)


class Provoked:
    """The exit codes one command gave, by the code the README says it gives."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.seen: dict[int, int] = {}

    def __setitem__(self, expected: int, code: int) -> None:
        self.seen[expected] = code

    def check(self) -> None:
        listed = exit_table()[self.command]
        assert set(self.seen) == listed, f"{self.command}: provoke each listed code"
        wrong = {expected: code for expected, code in self.seen.items() if code != expected}
        assert wrong == {}, f"{self.command}: README code → exit code given"


NO_BROKER = {"RABBITMQ_PORT": "5999", "RABBITMQ_CONNECT_TIMEOUT": "2"}


def test_alephdaemon_exits_as_the_table_says(
    broker_env: dict[str, str], peer: Peer, tmp_path: Path
) -> None:
    codes = Provoked("alephdaemon")
    stuck = {**NO_BROKER, "ALEPH_DAEMON_PIDFILE": str(tmp_path / "stuck.pid")}
    codes[3] = run("alephdaemon", "status")
    codes[2] = run("alephdaemon", "sideways")
    codes[78] = run("alephdaemon", "status", RABBITMQ_PORT="x")
    codes[141] = closed_output("alephdaemon", "status")
    try:
        codes[0] = run("alephdaemon", "start", ALEPH_URL="http://127.0.0.1:1")
        codes[1] = run("alephdaemon", "start")  # already running
        codes[4] = run("alephdaemon", "start", ALEPH_DAEMON_START_TIMEOUT="2", **stuck)
    finally:
        assert run("alephdaemon", "stop") == 0
        assert run("alephdaemon", "stop", **stuck) == 0
    codes.check()


def test_aleph_exits_as_the_table_says(
    start_daemon: DaemonFactory, broker_env: dict[str, str], tmp_path: Path
) -> None:
    codes = Provoked("aleph")
    codes[2] = run("aleph", "validate", "--timeout", "-1", "80-251-0225-4")
    assert run("aleph", "export", str(tmp_path / "missing.json")) == 2  # unreadable file
    codes[78] = run("aleph", "validate", "1", RABBITMQ_USER_PASSWORD="wrong")
    codes[5] = run("aleph", "validate", "1", **NO_BROKER)
    codes[3] = run("aleph", "count", "--isbn", "80-251-0225-4", "--timeout", "1")  # no daemon
    start_daemon()
    codes[0] = run("aleph", "validate", "80-251-0225-4")
    codes[1] = run("aleph", "validate", "80-251-0225-5")
    codes[4] = run("aleph", "search", "--doc", "999999998")
    codes[141] = closed_output("aleph", "search", "--isbn", "80-251-0225-4", "--json")
    codes.check()


def test_amqp_tool_exits_as_the_table_says(broker_env: dict[str, str]) -> None:
    codes = Provoked("amqp_tool")
    codes[0] = run("amqp_tool", "--list")
    codes[1] = run("amqp_tool", "--create", **NO_BROKER)
    codes[2] = run("amqp_tool")
    assert run("amqp_tool", "--put", "/nonexistent/request.json") == 2  # unreadable file
    codes[78] = run("amqp_tool", "--create", RABBITMQ_ALEPH_VIRTUALHOST="edeposit-no-such-vhost")
    codes[141] = closed_output("amqp_tool", "--list")
    codes.check()


def test_aleph_emulator_exits_as_the_table_says(tmp_path: Path) -> None:
    codes = Provoked("aleph-emulator")
    index = ["--index-dir", str(tmp_path)]
    codes[2] = run("aleph-emulator", "--port", "99999")
    codes[141] = closed_output("aleph-emulator", *index)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        codes[1] = run("aleph-emulator", "--port", str(taken.getsockname()[1]), *index)
    running = subprocess.Popen(
        [sys.executable, "-m", MODULES["aleph-emulator"], *index],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert running.stdout is not None
    assert running.stdout.readline().startswith("aleph-emulator listening on")
    running.send_signal(signal.SIGTERM)
    codes[0] = running.wait(30)
    running.stdout.close()
    codes.check()


def test_edeposit_demo_exits_as_the_table_says(broker_env: dict[str, str]) -> None:
    codes = Provoked("edeposit-demo")
    codes[2] = run("edeposit-demo", "--sideways")
    codes[78] = run("edeposit-demo", RABBITMQ_USER_PASSWORD="wrong")
    codes[1] = run("edeposit-demo", **NO_BROKER)
    codes[141] = closed_output("edeposit-demo", **NO_BROKER)
    codes[0] = run("edeposit-demo")
    codes.check()
