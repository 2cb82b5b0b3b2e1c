"""The deployment files: the systemd unit (directives, sandbox score) and the system user
(the monitoring files: tests/test_monitoring.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
UNIT = DEPLOY / "alephdaemon.service"


def unit_directives(path: Path) -> dict[str, list[str]]:
    """``Section.Key`` → its values, in order (systemd allows a key more than once)."""
    directives: dict[str, list[str]] = defaultdict(list)
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        directives[f"{section}.{key.strip()}"].append(value.strip())
    return directives


@pytest.mark.parametrize(
    ("directive", "value"),
    [
        ("Service.Type", "notify"),
        ("Service.NotifyAccess", "main"),
        ("Service.ExecStart", "/opt/edeposit-amqp/bin/alephdaemon --foreground"),
        ("Service.User", "edeposit"),
        ("Service.RestartPreventExitStatus", "78"),
        ("Service.RuntimeDirectory", "edeposit"),
        ("Service.Environment", "ALEPH_DAEMON_PIDFILE=/run/edeposit/alephdaemon.pid"),
        ("Service.NoNewPrivileges", "yes"),
        ("Service.ProtectSystem", "strict"),
        ("Service.ProtectHome", "yes"),
        ("Service.PrivateTmp", "yes"),
        ("Service.PrivateDevices", "yes"),
        ("Service.ProtectKernelTunables", "yes"),
        ("Service.ProtectKernelModules", "yes"),
        ("Service.ProtectKernelLogs", "yes"),
        ("Service.ProtectControlGroups", "yes"),
        ("Service.RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
        ("Service.SystemCallFilter", "@system-service"),
        ("Service.CapabilityBoundingSet", ""),
        ("Service.UMask", "0077"),
        ("Install.WantedBy", "multi-user.target"),
    ],
)
def test_unit_directive(directive: str, value: str) -> None:
    assert value in unit_directives(UNIT)[directive]


def test_unit_watchdog_outlasts_reconnect_pauses() -> None:
    """The daemon pings at half of WatchdogSec while its I/O loop ticks or pauses between
    connection attempts; a stop waits for requests in flight."""
    directives = unit_directives(UNIT)
    assert int(directives["Service.WatchdogSec"][0]) >= 20
    assert directives["Service.Restart"] == ["on-failure"]
    assert int(directives["Service.TimeoutStopSec"][0]) > 30  # ALEPH_DAEMON_SHUTDOWN_TIMEOUT
    assert "StateDirectory" in str(directives) and "LogsDirectory" in str(directives)


def test_unit_sandbox_rating() -> None:
    """`systemd-analyze security` rates the unit at most 3.0 (OK)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed (apt-get install systemd)")
    run = subprocess.run(
        [analyze, "security", "--offline=true", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if "--offline" in run.stderr and "unrecognized" in run.stderr:
        pytest.skip("this systemd-analyze has no --offline (systemd < 250)")
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", run.stdout)
    assert found, run.stdout + run.stderr
    assert float(found.group(1)) <= 3.0, run.stdout


def test_system_user() -> None:
    lines = [
        line.split()
        for line in (DEPLOY / "edeposit.sysusers.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert [fields[:3] for fields in lines] == [["u", "edeposit", "-"]]
