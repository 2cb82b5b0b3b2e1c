"""Every command's --version and --help, without a broker; who failed, in words."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edeposit.amqp import __version__
from edeposit.amqp.errors import RemoteError
from edeposit.amqp.runtime.console import quiet_broken_pipe

#: Console script → the module it runs as (``python -m``).
COMMANDS = {
    "alephdaemon": "edeposit.amqp.alephdaemon",
    "amqp_tool": "edeposit.amqp.amqp_tool",
    "aleph": "edeposit.amqp.cli",
    "aleph-emulator": "edeposit.amqp.emulator",
    "edeposit-demo": "edeposit.amqp.demo",
}
#: Nothing listens here: a command that tried the broker would fail.
NO_BROKER = {"RABBITMQ_PORT": "1", "RABBITMQ_CONNECT_TIMEOUT": "1"}


def run(module: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *arguments],
        env={**os.environ, **NO_BROKER},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(("command", "module"), COMMANDS.items())
def test_version(command: str, module: str) -> None:
    shown = run(module, "--version")
    assert (shown.returncode, shown.stdout) == (0, f"{command} {__version__}\n")


@pytest.mark.parametrize(("command", "module"), COMMANDS.items())
def test_help_runs_nothing(command: str, module: str) -> None:
    shown = run(module, "--help")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f"usage: {command}")
    assert shown.stderr == ""


def test_the_aleph_command_runs_by_its_own_name_too() -> None:
    shown = run("edeposit.amqp.aleph", "--version")
    assert (shown.returncode, shown.stdout) == (0, f"aleph {__version__}\n")
    shown = run("edeposit.amqp.aleph", "validate", "80-251-0225-3", "--timeout", "1")
    assert shown.returncode == 5, shown.stderr  # it tried the broker: the real command ran
    assert shown.stderr.startswith("aleph: ")


@pytest.mark.parametrize("module", ["edeposit.amqp.cli", "edeposit.amqp.alephdaemon"])
def test_help_lists_exit_codes(module: str) -> None:
    text = run(module, "--help").stdout
    assert "exit codes:" in text and "78" in text


def test_subcommand_help_lists_exit_codes_and_timeout() -> None:
    text = run("edeposit.amqp.cli", "validate", "--help").stdout
    assert "--timeout" in text and "no daemon answered" in text


@pytest.mark.parametrize(
    ("name", "origin"),
    [
        ("DocumentNotFoundException", "catalogue"),
        ("InvalidAlephBaseException", "catalogue"),
        ("ExportRejectedException", "catalogue"),
        ("AlephTimeoutError", "catalogue-unreachable"),
        ("AlephUnavailableError", "catalogue-unreachable"),
        ("InvalidISBNException", "daemon"),
        ("DeserializationError", "daemon"),
        ("PoisonMessageError", "daemon"),
        ("KeyError", "daemon"),
    ],
)
def test_remote_error_says_who_failed(name: str, origin: str) -> None:
    assert RemoteError(name, "text").origin == origin


def test_quiet_broken_pipe(capfd: pytest.CaptureFixture[str]) -> None:
    """(capfd: the wrapper points fd 1 at /dev/null; the fixture gives it back.)"""

    @quiet_broken_pipe
    def command() -> int:
        raise BrokenPipeError(32, "Broken pipe")

    assert command() == 141

    @quiet_broken_pipe
    def fine() -> int:
        return 3

    assert fine() == 3


def test_readme_says_which_module_each_command_runs_as() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| `")]
    for command, module in COMMANDS.items():
        assert any(f"`{command}" in row and f"`{module}`" in row for row in rows), command
