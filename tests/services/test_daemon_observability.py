"""What an operator sees of a running daemon: JSON log lines naming each request, a
completion line with outcome and duration, metrics, health and readiness over HTTP, and a
log file that follows logrotate."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from edeposit.amqp import aleph
from edeposit.amqp.emulator import AlephEmulator
from edeposit.amqp.serializers import serialize
from tests.services.support import DaemonFactory, Peer

RAYMOND = aleph.ISBNQuery("80-251-0225-4")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:  # noqa: S310 - local test server
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (0 when absent)."""
    shown = ",".join(f'{key}="{value}"' for key, value in labels.items())
    wanted = f"{name}{{{shown}}}" if labels else name
    for line in metrics.splitlines():
        if line.startswith(wanted + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_health_readiness_and_json_logs(
    start_daemon: DaemonFactory, peer: Peer, emulator: AlephEmulator, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    start_daemon(ALEPH_DAEMON_METRICS_PORT=str(port), LOG_FORMAT="json", ALEPH_RETRY_BACKOFF="0.01")
    assert get(base + "/healthz") == (200, "ok\n")
    assert get(base + "/readyz") == (200, "ready\n")

    peer.publish(serialize(aleph.SearchRequest(RAYMOND)), {"UUID": "ok-1"})
    peer.publish(serialize(aleph.SearchRequest(aleph.DocumentQuery(999999998))), {"UUID": "no-2"})
    peer.publish(b"{not json", {"UUID": "bad-3"})
    peer.publish(serialize(aleph.CountRequest(RAYMOND)), None)  # no UUID: dropped
    assert len(peer.receive(3)) == 3
    emulator.set_faults(malformed_rate=1.0)
    peer.publish(serialize(aleph.CountRequest(RAYMOND)), {"UUID": "retry-4"})
    assert len(peer.receive(1)) == 1
    emulator.clear_faults()

    deadline = time.monotonic() + 10
    while (
        sample(
            metrics := get(base + "/metrics")[1],
            "edeposit_requests_total",
            kind="CountRequest",
            outcome="failed",
        )
        < 1
    ):
        assert time.monotonic() < deadline, metrics
        time.sleep(0.1)
    assert sample(metrics, "edeposit_requests_total", kind="SearchRequest", outcome="result") == 1
    assert sample(metrics, "edeposit_requests_total", kind="SearchRequest", outcome="refused") == 1
    assert sample(metrics, "edeposit_requests_total", kind="undecodable", outcome="refused") == 1
    assert sample(metrics, "edeposit_request_duration_seconds_count", kind="SearchRequest") == 2
    assert sample(metrics, "edeposit_dropped_total", reason="without_uuid") == 1
    assert sample(metrics, "edeposit_catalogue_calls_total", op="find", outcome="ok") == 1
    assert sample(metrics, "edeposit_catalogue_calls_total", op="ill_get_doc", outcome="ok") == 1
    assert sample(metrics, "edeposit_catalogue_retries_total", op="find") == 3
    assert (
        sample(metrics, "edeposit_catalogue_calls_total", op="find", outcome="AlephProtocolError")
        == 1
    )
    assert sample(metrics, "edeposit_catalogue_call_duration_seconds_count", op="find") == 2
    assert sample(metrics, "edeposit_rate_limit_wait_seconds_count") >= 3
    assert sample(metrics, "edeposit_broker_connected") == 1
    assert sample(metrics, "edeposit_broker_node", node="127.0.0.1:5672") == 1
    assert sample(metrics, "edeposit_broker_reconnects_total") == 0
    assert sample(metrics, "edeposit_requests_in_flight") == 0
    assert 'edeposit_build_info{python="' in metrics

    records = json_lines(tmp_path / "alephdaemon-0.log")
    assert all({"ts", "level", "logger", "message"} <= set(record) for record in records)
    done = {r["uuid"]: r for r in records if r["message"].startswith("answered (")}
    assert done["ok-1"]["outcome"] == "result" and done["ok-1"]["kind"] == "SearchRequest"
    assert done["no-2"]["outcome"] == "refused"
    assert done["bad-3"]["kind"] == "undecodable"
    assert all(isinstance(r["duration_ms"], float) for r in done.values())
    retries = [r for r in records if "retry" in r["message"] and r["level"] == "WARNING"]
    assert len(retries) == 3
    assert {(r["uuid"], r["kind"]) for r in retries} == {("retry-4", "CountRequest")}
    assert get(base + "/nothing")[0] == 404


def test_readiness_follows_the_broker_connection(
    start_daemon: DaemonFactory, broker_env: dict[str, str]
) -> None:
    port = free_port()
    daemon = start_daemon(wait=False, RABBITMQ_PORT="5999", ALEPH_DAEMON_METRICS_PORT=str(port))
    deadline = time.monotonic() + 10
    status, text = 0, ""
    while "Connection refused" not in text:
        assert time.monotonic() < deadline and daemon.poll() is None, text
        time.sleep(0.1)
        try:
            status, text = get(f"http://127.0.0.1:{port}/readyz")
        except urllib.error.URLError:
            continue
    assert status == 503 and text.startswith("not ready: not connected")
    assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200, "reconnecting is not stuck"


def test_a_taken_metrics_port_is_a_configuration_error(
    start_daemon: DaemonFactory, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        daemon = start_daemon(wait=False, ALEPH_DAEMON_METRICS_PORT=str(port))
        assert daemon.wait(30) == 78
    assert "cannot serve metrics on 127.0.0.1" in (tmp_path / "alephdaemon-0.log").read_text()


def test_the_detached_daemons_log_follows_logrotate(
    broker_env: dict[str, str], emulator: AlephEmulator, peer: Peer
) -> None:
    env = {**os.environ, **broker_env, "ALEPH_URL": emulator.url}
    command = [sys.executable, "-m", "edeposit.amqp.alephdaemon"]
    started = subprocess.run(
        [*command, "start"], env=env, capture_output=True, timeout=60, check=False
    )
    assert started.returncode == 0, started.stderr
    try:
        log = Path(broker_env["ALEPH_DAEMON_LOGFILE"])
        log.rename(log.with_suffix(".log.1"))  # what logrotate does
        peer.publish(serialize(aleph.CountRequest(RAYMOND)), {"UUID": "rotated"})
        assert peer.receive(1)
        deadline = time.monotonic() + 10
        while not log.exists() or "answered (result)" not in log.read_text():
            assert time.monotonic() < deadline, "no new log file after the rotation"
            time.sleep(0.1)
        assert "UUID 'rotated' CountRequest: answered (result) in" in log.read_text()
    finally:
        subprocess.run([*command, "stop"], env=env, capture_output=True, timeout=60, check=False)
