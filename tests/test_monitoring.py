"""The monitoring files of deploy/: the alert rules load (``promtool check rules``), each
alert fires on the series its unit tests give it and stays silent on the others
(``promtool test rules``), and the dashboard, the rules and the documentation name only
metrics the daemon exports, while the operations guide documents every one of them."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from edeposit.amqp.daemon import metrics
from tests.metric_names import documented, exported_samples, mentioned

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
RULES = DEPLOY / "prometheus-alerts.yml"
RULE_TESTS = DEPLOY / "prometheus-alerts.test.yml"
OPERATIONS = ROOT / "docs" / "operations.md"
#: A row of the metrics table in docs/operations.md: name and type.
TABLE_ROW = re.compile(r"^\| `(edeposit_[a-z_]+)` \| (\w+) \|", re.MULTILINE)


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool not installed (apt-get install prometheus; .ci/run does)")
    return found


def run_promtool(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *arguments],
        cwd=DEPLOY,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def alerts() -> list[str]:
    return [rule["alert"] for group in load(RULES)["groups"] for rule in group["rules"]]


def test_the_alert_rules_pass_promtool_check() -> None:
    checked = run_promtool("check", "rules", RULES.name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in checked.stdout


def test_every_alert_fires_where_it_should_and_nowhere_else() -> None:
    tested = run_promtool("test", "rules", RULE_TESTS.name)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    """promtool passes a file that tests no alert at all; this one tests each, both ways."""
    unit_tests = load(RULE_TESTS)
    assert unit_tests["rule_files"] == [RULES.name]
    firing: set[str] = set()
    silent: set[str] = set()
    for group in unit_tests["tests"]:
        for case in group["alert_rule_test"]:
            (firing if case["exp_alerts"] else silent).add(case["alertname"])
    assert firing == set(alerts()), set(alerts()) ^ firing
    assert silent == set(alerts()), set(alerts()) ^ silent


def dashboard_queries() -> list[str]:
    """Every ``expr`` of the Grafana dashboard."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            found.extend(value for key, value in node.items() if key == "expr")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads((DEPLOY / "grafana-dashboard.json").read_text(encoding="utf-8")))
    return found


def rule_queries() -> list[str]:
    return [rule["expr"] for group in load(RULES)["groups"] for rule in group["rules"]]


def unit_test_series() -> list[str]:
    return [
        series["series"] for group in load(RULE_TESTS)["tests"] for series in group["input_series"]
    ]


@pytest.mark.parametrize(
    "queries",
    [dashboard_queries, rule_queries, unit_test_series],
    ids=["dashboard", "alert rules", "alert unit tests"],
)
def test_queries_and_series_name_metrics_the_daemon_exports(queries: Any) -> None:
    used = mentioned("\n".join(queries()))
    assert used
    assert used <= exported_samples(), sorted(used - exported_samples())


def test_the_dashboard_shows_the_request_queue() -> None:
    """The request queue's depth comes from RabbitMQ's exporter, not the daemon."""
    assert any(
        'rabbitmq_detailed_queue_messages_ready{vhost="aleph", queue="daemon"}' in query
        for query in dashboard_queries()
    )


def documents() -> list[tuple[str, str]]:
    """Each text that documents metrics: README, docs/, the alerts' descriptions, the
    metrics module's docstring."""
    texts = [
        (str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"))
        for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), RULES]
    ]
    module = Path(metrics.__file__)
    texts.append((module.name, ast.get_docstring(ast.parse(module.read_text())) or ""))
    return texts


def test_documented_metrics_exist() -> None:
    known = exported_samples() | set(documented())
    for name, text in documents():
        unknown = mentioned(text) - known
        assert not unknown, f"{name} names metrics no daemon exports: {sorted(unknown)}"


def test_the_operations_guide_documents_every_metric_with_its_type() -> None:
    table = dict(TABLE_ROW.findall(OPERATIONS.read_text(encoding="utf-8")))
    assert set(table) == set(documented()), set(table) ^ set(documented())
    assert table == documented()
