"""A real Prometheus scrapes a running daemon: the target is up, the request counters it
stores move with the requests sent through the broker, every sample it got is one the
daemon documents, and the alert rules of deploy/ evaluate without error on real data.

Prometheus runs on a free port with its data in the test's folder and a 1 s scrape
interval; the test skips where the ``prometheus`` binary is missing.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bench.brokers import free_port

from edeposit.amqp import aleph
from edeposit.amqp.serializers import serialize
from tests.metric_names import exported_samples
from tests.services.support import DaemonFactory, Peer

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus-alerts.yml"
RAYMOND = aleph.ISBNQuery("80-251-0225-4")
#: Seconds for Prometheus to start, scrape, or store what it scraped.
WAIT = 15.0


class Prometheus:
    """A Prometheus server scraping ``targets`` as job ``alephdaemon``, with the alert
    rules of deploy/; its API answers :meth:`query`."""

    def __init__(self, folder: Path, targets: list[str]) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            pytest.skip("prometheus not installed (apt-get install prometheus; .ci/run does)")
        self.folder = folder
        self.url = f"http://127.0.0.1:{free_port()}"
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [
                {"job_name": "alephdaemon", "static_configs": [{"targets": targets}]}
            ],
        }
        (folder / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
        self.log = folder / "prometheus.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={folder / 'prometheus.yml'}",
                    f"--storage.tsdb.path={folder / 'data'}",
                    f"--web.listen-address={self.url.removeprefix('http://')}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def get(self, path: str, **params: str) -> Any:
        """The ``data`` of an API answer (or None while the server is not up yet)."""
        url = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:  # noqa: S310 - local server
                answer = json.load(reply)
        except OSError:
            assert self.process.poll() is None, self.log.read_text()
            return None
        assert answer["status"] == "success", answer
        return answer["data"]

    def query(self, expression: str) -> list[dict[str, Any]]:
        """The samples of an instant query (``/api/v1/query``)."""
        data = self.get("/api/v1/query", query=expression)
        return [] if data is None else list(data["result"])

    def value(self, expression: str) -> float | None:
        """The one value of a query, or None when it has no sample."""
        result = self.query(expression)
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    def wait_for(self, expression: str, wanted: float) -> None:
        deadline = time.monotonic() + WAIT
        while (found := self.value(expression)) != wanted:
            if time.monotonic() > deadline:
                targets = self.get("/api/v1/targets")
                pytest.fail(f"{expression} = {found}, not {wanted}; targets: {targets}")
            time.sleep(0.2)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def metrics_port() -> int:
    return free_port()


@pytest.fixture
def prometheus(tmp_path: Path, metrics_port: int) -> Iterator[Prometheus]:
    server = Prometheus(tmp_path, [f"127.0.0.1:{metrics_port}"])
    yield server
    server.stop()


def test_prometheus_scrapes_a_daemon_answering_requests(
    prometheus: Prometheus, start_daemon: DaemonFactory, peer: Peer, metrics_port: int
) -> None:
    start_daemon(ALEPH_DAEMON_METRICS_PORT=str(metrics_port))
    prometheus.wait_for('up{job="alephdaemon"}', 1)
    prometheus.wait_for('edeposit_broker_connected{job="alephdaemon"}', 1)
    assert prometheus.value('sum(edeposit_requests_total{job="alephdaemon"})') is None

    peer.publish(serialize(aleph.SearchRequest(RAYMOND)), {"UUID": "search-1"})
    peer.publish(serialize(aleph.CountRequest(RAYMOND)), {"UUID": "count-2"})
    peer.publish(serialize(aleph.SearchRequest(aleph.DocumentQuery(999999998))), {"UUID": "no-3"})
    assert len(peer.receive(3)) == 3

    prometheus.wait_for('sum(edeposit_requests_total{job="alephdaemon"})', 3)
    requests = 'edeposit_requests_total{job="alephdaemon", kind="%s", outcome="%s"}'
    assert prometheus.value(requests % ("SearchRequest", "result")) == 1
    assert prometheus.value(requests % ("SearchRequest", "refused")) == 1
    assert prometheus.value(requests % ("CountRequest", "result")) == 1
    durations = 'sum(edeposit_request_duration_seconds_count{job="alephdaemon"})'
    assert prometheus.value(durations) == 3
    assert (prometheus.value('sum(edeposit_catalogue_calls_total{job="alephdaemon"})') or 0) >= 3

    names = {
        sample["metric"]["__name__"]
        for sample in prometheus.query('group by (__name__) ({job="alephdaemon"})')
    }
    ours = {name for name in names if name.startswith("edeposit_")}
    assert "edeposit_build_info" in ours
    assert ours <= exported_samples(), sorted(ours - exported_samples())

    deadline = time.monotonic() + WAIT
    while not all(rule["health"] == "ok" for rule in rules(prometheus)):
        assert time.monotonic() < deadline, rules(prometheus)
        time.sleep(0.2)
    assert not prometheus.get("/api/v1/alerts")["alerts"]


def rules(prometheus: Prometheus) -> list[dict[str, Any]]:
    """The alert rules Prometheus loaded from deploy/, each with its evaluation health."""
    groups = prometheus.get("/api/v1/rules")["groups"]
    loaded = [rule for group in groups for rule in group["rules"]]
    assert len(loaded) == RULES.read_text().count("- alert:"), groups
    return loaded
