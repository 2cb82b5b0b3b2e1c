"""scripts/ensure-broker on machines it cannot change: without RabbitMQ it installs
rabbitmq-server as root with apt-get, and anywhere else prints the one command to run;
it grants ``guest`` the demo's vhost only, never the production vhost ``aleph``.

The machine's broker cannot be uninstalled or stopped here, so these runs put the
commands the script calls (apt-get, dpkg-query, rabbitmqctl, …) on a PATH of their own:
real tools where they only read, stand-ins that log their arguments where they would
change the machine. A non-root user is a real one (``nobody``, through setpriv).
The run against the machine's real broker is at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bench.brokers import free_port

ROOT = Path(__file__).resolve().parents[1]
#: Real tools the scripts use that change nothing on the machine.
READ_ONLY_TOOLS = ("bash", "dirname", "basename", "id", "grep", "seq", "sleep", "cat", "rm")
NOBODY = 65534


@dataclass
class Sandbox:
    """A copy of the scripts readable by any user, a PATH of chosen commands, a log."""

    scripts: Path
    bin: Path
    log: Path

    def command(self, name: str, body: str, folder: Path | None = None) -> None:
        """A stand-in for ``name`` in ``folder`` (the PATH's): logs ``name args``, runs
        ``body`` (sh)."""
        path = (folder or self.bin) / name
        path.write_text(f'#!/bin/sh\necho "{name} $*" >>{self.log}\n{body}\n')
        path.chmod(0o755)

    def run(self, *, as_nobody: bool = False, **env: str) -> subprocess.CompletedProcess[str]:
        prefix: list[str] = []
        if as_nobody and os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                pytest.skip("setpriv not installed (util-linux): cannot run as a user")
            prefix = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        return subprocess.run(
            [*prefix, str(self.scripts / "ensure-broker")],
            env={"PATH": str(self.bin), "HOME": str(self.bin), **env},
            cwd="/",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with tempfile.TemporaryDirectory(prefix="ensure-broker-") as folder:
        root = Path(folder)
        root.chmod(0o755)  # the scripts must be readable by nobody too
        scripts, bin_dir = root / "scripts", root / "bin"
        scripts.mkdir()
        bin_dir.mkdir()
        for name in ("ensure-broker", "apt-install"):
            shutil.copy2(ROOT / "scripts" / name, scripts / name)
        for tool in READ_ONLY_TOOLS:
            found = shutil.which(tool)
            assert found, tool
            (bin_dir / tool).symlink_to(found)
        log = root / "calls.log"
        log.touch()
        log.chmod(0o666)
        yield Sandbox(scripts, bin_dir, log)


def test_without_rabbitmq_a_user_is_told_the_one_command(sandbox: Sandbox) -> None:
    sandbox.command("apt-get", "exit 1")
    run = sandbox.run(as_nobody=True)
    assert run.returncode == 1, run.stdout + run.stderr
    expected = f"RabbitMQ is not installed; to install and start it, run: sudo {sandbox.scripts}"
    assert run.stderr == f"ensure-broker: {expected}/ensure-broker\n"
    assert sandbox.calls() == [], "a user cannot install"


def test_without_rabbitmq_or_apt_get_it_names_the_package(sandbox: Sandbox) -> None:
    run = sandbox.run(as_nobody=True)
    assert run.returncode == 1
    assert "install rabbitmq-server (RabbitMQ 3.10 or later) with this system's package" in (
        run.stderr
    )
    assert f"then run: sudo {sandbox.scripts}/ensure-broker" in run.stderr


def test_a_user_rabbitmqctl_refuses_is_told_to_run_it_as_root(sandbox: Sandbox) -> None:
    sandbox.command("rabbitmqctl", 'echo "Only root or rabbitmq should run rabbitmqctl"; exit 1')
    stopped = sandbox.run(as_nobody=True, RABBITMQ_NODE_PORT=str(free_port()))
    assert stopped.returncode == 1
    assert "RabbitMQ is not running (or rabbitmqctl refuses this user); run: sudo" in (
        stopped.stderr
    )
    with socket.socket() as broker:  # something listens where the broker would
        broker.bind(("127.0.0.1", 0))
        broker.listen()
        running = sandbox.run(as_nobody=True, RABBITMQ_NODE_PORT=str(broker.getsockname()[1]))
    assert running.returncode == 0, running.stderr
    assert "vhost aleph-demo is not checked (run once: sudo" in running.stderr
    assert not [call for call in sandbox.calls() if not call.startswith("rabbitmqctl -q status")]


def test_as_root_it_installs_starts_and_opens_the_demo_vhost_only(sandbox: Sandbox) -> None:
    if os.geteuid() != 0:
        pytest.skip("the installing path runs as root only")
    state = sandbox.bin.parent
    sandbox.command("dpkg-query", "exit 1")  # nothing installed
    # What installing rabbitmq-server brings: rabbitmqctl and a server that starts.
    package = state / "package"
    package.mkdir()
    started = f": >{state}/running"
    sandbox.command(
        "rabbitmqctl",
        f'case "$2" in status) test -e {state}/running;; list_vhosts) echo /;; esac',
        package,
    )
    sandbox.command("rabbitmq-server", started, package)
    copy = shutil.which("cp")
    sandbox.command(
        "apt-get",
        f'echo "DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >>{sandbox.log}\n'
        f'[ "$1" = install ] && {copy} {package}/* {sandbox.bin}/\nexit 0',
    )
    sandbox.command("systemctl", started)
    run = sandbox.run()
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[0] == (
        "ensure-broker: RabbitMQ is not installed; installing rabbitmq-server"
    )
    calls = sandbox.calls()
    assert calls[:5] == [
        "dpkg-query -W -f=${Status} rabbitmq-server",
        "apt-get update -qq",
        "DEBIAN_FRONTEND=noninteractive",
        "apt-get install -y -qq --no-install-recommends rabbitmq-server",
        "DEBIAN_FRONTEND=noninteractive",
    ]
    assert "rabbitmqctl -q add_vhost aleph-demo" in calls
    assert "rabbitmqctl -q set_permissions -p aleph-demo guest .* .* .*" in calls
    assert not [call for call in calls if "aleph " in f"{call} "], calls
    assert (
        run.stdout.splitlines()[-1] == "ensure-broker: RabbitMQ is up; the demo's vhost: aleph-demo"
    )


@pytest.mark.broker
def test_on_the_machines_broker_guest_gets_the_demo_vhost_and_nothing_else(
    sandbox: Sandbox,
) -> None:
    """The real script with the real rabbitmqctl, each call logged on its way through."""
    real = shutil.which("rabbitmqctl")
    if real is None or os.geteuid() != 0:
        pytest.skip("needs root and the machine's RabbitMQ (scripts/ensure-broker sets it up)")
    sandbox.command("rabbitmqctl", f'exec {real} "$@"')
    run = sandbox.run(PATH=f"{sandbox.bin}:{os.environ['PATH']}")
    assert run.returncode == 0, run.stdout + run.stderr
    calls = sandbox.calls()
    granted = [call for call in calls if "set_permissions" in call]
    assert granted == ["rabbitmqctl -q set_permissions -p aleph-demo guest .* .* .*"], calls
    assert not [call for call in calls if "aleph " in f"{call} "], calls
    permissions = subprocess.run(
        [real, "-q", "list_permissions", "-p", "aleph-demo"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "guest\t.*\t.*\t.*" in permissions
