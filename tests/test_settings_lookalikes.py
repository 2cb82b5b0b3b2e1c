"""Environment variables that look like settings but are not (DESIGN §6): a warning naming
the closest setting, once per process; RabbitMQ's own variables and the project's other
variables are left alone."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from edeposit.amqp import config_lookalikes, settings
from edeposit.amqp.config import _SETTING_NAMES
from edeposit.amqp.config_lookalikes import (
    NOT_SETTINGS,
    RABBITMQ_SERVER_VARIABLES,
    distance,
    lookalikes,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("variable", "meant"),
    [
        ("RABBITMQ_HOTS", "RABBITMQ_HOST"),  # two letters swapped
        ("RABBITMQ_HSOT", "RABBITMQ_HOST"),
        ("RABBITMQ_PROT", "RABBITMQ_PORT"),
        ("RABITMQ_HOST", "RABBITMQ_HOST"),  # a letter missing, no prefix of ours
        ("LOGLEVEL", "LOG_LEVEL"),
        ("rabbitmq_host", "RABBITMQ_HOST"),  # case
        ("ALEPH_URI", "ALEPH_URL"),
        ("ALEPH_DAEMON_WORKER", "ALEPH_DAEMON_WORKERS"),
        ("ALEPH_WIRE_GENERATIONS", "ALEPH_WIRE_GENERATION"),
        ("ALEPH_FLEET_BUDGET", "ALEPH_FLEET_RATE_LIMIT"),  # ours by its prefix, far
        ("ALEPH_WORKERS", "ALEPH_DAEMON_WORKERS"),
        ("RABBITMQ_ALEPH_VHOST", "RABBITMQ_ALEPH_VIRTUALHOST"),
        ("RABBITMQ_ALEPH_QUEUE", "RABBITMQ_ALEPH_QUEUE_TYPE"),
        ("EDEPOSIT_AMQP_CONFG", "EDEPOSIT_AMQP_CONFIG"),
    ],
)
def test_a_lookalike_names_the_setting_it_most_likely_meant(variable: str, meant: str) -> None:
    assert lookalikes([variable], _SETTING_NAMES) == [(variable, meant)]


def _project_variables() -> set[str]:
    """The variables the project's scripts, CI, units, benchmarks and tests read."""
    patterns = [
        r"environ(?:\.get)?\(?\[?\"([A-Z][A-Z0-9_]+)\"",  # os.environ["X"], environ.get("X"
        r"getenv\(\"([A-Z][A-Z0-9_]+)\"",
        r"\$\{([A-Z][A-Z0-9_]+)",  # ${X:-default}
        r"Environment=([A-Z][A-Z0-9_]+)=",  # systemd units
    ]
    folders = ["src", "tests", "bench", "scripts", ".ci", "deploy"]
    found: set[str] = set()
    for folder in folders:
        for path in (PROJECT_ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix not in {".json", ".pyc"}:
                text = path.read_text(encoding="utf-8", errors="replace")
                for pattern in patterns:
                    found.update(re.findall(pattern, text))
    return found


def test_what_is_not_a_lookalike() -> None:
    project = _project_variables()
    assert "EDEPOSIT_SHARED_DIR" in project
    left_alone = [
        *_SETTING_NAMES,
        *NOT_SETTINGS,
        *RABBITMQ_SERVER_VARIABLES,
        *project,
        *os.environ,
        "RABBITMQ_NODES_LIST",  # RabbitMQ's namespace, far from every setting
        "ALEPH",
        "PATH",
        "HOME",
    ]
    assert lookalikes(left_alone, _SETTING_NAMES) == []
    assert "RABBITMQ_HOME" in RABBITMQ_SERVER_VARIABLES  # two letters from RABBITMQ_HOST
    assert distance("RABBITMQ_HOME", "RABBITMQ_HOST") == 2


def test_distance_counts_letters() -> None:
    assert distance("kitten", "sitting") == 3
    assert distance("RABBITMQ_HOTS", "RABBITMQ_HOST") == 1
    assert distance("", "abc") == 3
    assert distance("kitten", "sitting", limit=1) == 2  # stopped early, above the limit


def test_warned_once_per_process_through_logging(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(config_lookalikes, "_warned", set())
    monkeypatch.setenv("RABBITMQ_HOTS", "mq1.example")
    monkeypatch.setenv("RABBITMQ_NODENAME", "rabbit@mq1")
    monkeypatch.setenv("EDEPOSIT_AMQP_SYSTEM_CONFIG", "/nonexistent/amqp.json")
    with caplog.at_level(logging.WARNING, logger=config_lookalikes.__name__):
        loaded = settings.reload()
        settings.reload()
    assert loaded.RABBITMQ_HOST == "127.0.0.1", "a lookalike is not a setting"
    assert [record.getMessage() for record in caplog.records] == [
        "environment variable RABBITMQ_HOTS is not a setting and is ignored;"
        " did you mean RABBITMQ_HOST?"
    ]


@pytest.mark.parametrize(
    "command",
    [
        ["edeposit.amqp.alephdaemon", "status"],
        ["edeposit.amqp.amqp_tool", "--list"],
        ["edeposit.amqp.cli", "validate", "80-251-0225-4"],  # nothing listens on port 1
    ],
    ids=["alephdaemon", "amqp_tool", "aleph"],
)
def test_a_command_shows_the_warning_on_stderr(command: list[str], tmp_path: Path) -> None:
    config = tmp_path / "amqp.json"
    config.write_text("{}")
    environment = {
        **os.environ,
        "RABBITMQ_HOTS": "mq1.example",
        "RABBITMQ_PORT": "1",
        "RABBITMQ_NODENAME": "rabbit@mq1",
        "EDEPOSIT_AMQP_CONFIG": str(config),
        "ALEPH_DAEMON_PIDFILE": str(tmp_path / "alephdaemon.pid"),
    }
    shown = subprocess.run(
        [sys.executable, "-m", *command],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    warnings = [line for line in shown.stderr.splitlines() if "is not a setting" in line]
    assert len(warnings) == 1, shown.stderr
    assert "RABBITMQ_HOTS" in warnings[0] and "did you mean RABBITMQ_HOST?" in warnings[0]
    assert "RABBITMQ_NODENAME" not in shown.stderr and "EDEPOSIT_AMQP_CONFIG" not in shown.stderr
