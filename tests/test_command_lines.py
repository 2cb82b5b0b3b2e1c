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


@pytest.mark.parametrize(
    ("module", "arguments", "told"),
    [
        ("edeposit.amqp.cli", ["--timeout", "-1", "count", "--isbn", "1"], "positive number"),
        ("edeposit.amqp.cli", ["validate", "1", "--timeout", "-5"], "positive number"),
        ("edeposit.amqp.cli", ["validate", "1", "--timeout", "0"], "positive number"),
        ("edeposit.amqp.cli", ["validate", "1", "--timeout", "nan"], "positive number"),
        ("edeposit.amqp.cli", ["validate", "1", "--timeout", "soon"], "not a number of seconds"),
        ("edeposit.amqp.cli", ["validate"], "one of the arguments isbn --isbn is required"),
        ("edeposit.amqp.cli", ["validate", "1", "--isbn", "2"], "not allowed with argument"),
        ("edeposit.amqp.amqp_tool", ["--get", "--timeout", "-1"], "zero or more seconds"),
        (
            "edeposit.amqp.amqp_tool",
            ["--put", "/nonexistent/request.json"],
            "argument --put: cannot read /nonexistent/request.json: No such file or directory",
        ),
        ("edeposit.amqp.amqp_tool", ["--put", ""], "expected a file name, or '-'"),
        ("edeposit.amqp.emulator", ["--port", "99999"], "a port is 0 (any free one) to 65535"),
        ("edeposit.amqp.emulator", ["--port", "-1"], "a port is 0 (any free one) to 65535"),
        ("edeposit.amqp.emulator", ["--port", "http"], "not a port number: 'http'"),
    ],
)
def test_wrong_usage_is_told_in_a_line_and_exits_2(
    module: str, arguments: list[str], told: str
) -> None:
    shown = run(module, *arguments)
    assert shown.returncode == 2, shown.stderr
    *usage, error = shown.stderr.splitlines()
    assert told in error and "error:" in error
    assert usage[0].startswith("usage: ") and all(line[0] == " " for line in usage[1:])
    assert "Traceback" not in shown.stderr


def test_the_emulator_says_its_usage_in_one_line() -> None:
    shown = run("edeposit.amqp.emulator", "--port", "99999")
    assert shown.stderr.splitlines() == [
        "usage: aleph-emulator [--port N] [--corpus PATH …] [options]",
        "aleph-emulator: error: argument --port: a port is 0 (any free one) to 65535, not 99999",
    ]


@pytest.mark.parametrize("name", ["missing.json", "."])
def test_an_unreadable_export_file_is_named_before_the_broker_is_asked(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    shown = run("edeposit.amqp.cli", "export", str(path))  # NO_BROKER: an attempt would say so
    assert shown.returncode == 2, shown.stderr
    why = "No such file or directory" if name != "." else "Is a directory"
    assert shown.stderr == f"aleph: cannot read {path}: {why}\n"


def test_aleph_reads_a_settings_file_named_by_config(tmp_path: Path) -> None:
    missing = run("edeposit.amqp.cli", "--config", str(tmp_path / "none.json"), "validate", "1")
    assert missing.returncode == 78
    assert f"{tmp_path / 'none.json'}: settings file named by EDEPOSIT_AMQP_CONFIG" in (
        missing.stderr
    )
    config = tmp_path / "site.json"
    config.write_text('{"RABBITMQ_PORT": "5672"}')
    wrong = run("edeposit.amqp.cli", "validate", "1", "--config", str(config))
    assert wrong.returncode == 78
    assert wrong.stderr == f"aleph: {config}: setting RABBITMQ_PORT must be int, not '5672'\n"


def closed_output(module: str, *arguments: str, **env: str) -> tuple[int, str]:
    """Run a command whose standard output is closed before it writes: (exit code, stderr)."""
    process = subprocess.Popen(
        [sys.executable, "-m", module, *arguments],
        env={**os.environ, **NO_BROKER, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # like `| head -0`: the reader is gone before the output
    code = process.wait(60)
    errors = process.stderr.read()
    process.stderr.close()
    return code, errors


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("module", COMMANDS.values())
def test_help_into_a_closed_pipe_is_141(module: str, unbuffered: bool) -> None:
    """Buffered output (a pipe, as users have it) meets the closed pipe when it is flushed
    at the end; unbuffered (PYTHONUNBUFFERED, as services often run) when argparse writes,
    which would swallow the error: either way the command says 141, not 0 or a complaint."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    if unbuffered:
        environment["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--help"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    assert process.wait(60) == 141
    assert process.stderr.read() == ""
    process.stderr.close()


def test_the_daemon_and_the_emulator_end_141_on_a_closed_pipe(tmp_path: Path) -> None:
    pidfile = str(tmp_path / "alephdaemon.pid")
    assert closed_output("edeposit.amqp.alephdaemon", "status", ALEPH_DAEMON_PIDFILE=pidfile) == (
        141,
        "",
    )
    code, errors = closed_output(
        "edeposit.amqp.emulator", "--index-dir", str(tmp_path), "--log-level", "ERROR"
    )
    assert (code, errors) == (141, "")
