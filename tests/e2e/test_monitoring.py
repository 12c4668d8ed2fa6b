"""The shipped alert rules and dashboard: `promtool check rules` and
`promtool test rules` pass, every alert has a unit test, and the dashboard
shows what the operator's manual promises."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.conftest import require_system

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "dlp-gateway.rules.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "dlp-gateway.rules.test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dlp-gateway.json"
ALERTS = {"DlpGatewayDown", "DlpGatewayRelayErrors", "DlpGatewayTempFailuresRising",
          "DlpGatewayHeldMessagesGrowing", "DlpGatewayProcessingSlow", "DlpGatewayNoTraffic",
          "DlpSiemEventsDropped"}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    require_system(None if tool else "promtool is not installed (Debian: prometheus)")
    assert tool is not None
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=120, cwd=RULES.parent)


def test_rules_are_valid() -> None:
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass() -> None:
    result = promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr


def test_every_alert_is_shipped_and_unit_tested() -> None:
    rules = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]}
    assert rules == ALERTS
    tested = {case["alertname"] for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
              for case in test.get("alert_rule_test", [])}
    assert tested == ALERTS
    for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for case in test.get("alert_rule_test", []):
            assert "exp_alerts" in case


def test_dashboard_has_the_promised_panels() -> None:
    board = json.loads(DASHBOARD.read_text())
    exprs = " ".join(t["expr"] for p in board["panels"] for t in p["targets"])
    for needle in ("sum by (action) (rate(dlp_messages_total", "sum by (profile) (rate(dlp_messages_total",
                   "sum by (entity) (rate(dlp_findings_total", "histogram_quantile(0.99",
                   "sum by (class) (rate(dlp_smtp_replies_total", "dlp_relay_errors_total",
                   "dlp_quarantine_messages", "dlp_smtp_sessions_in_flight"):
        assert needle in exprs, needle
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)) and board["uid"] == "dlp-gateway"
    for panel in board["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}" and panel["targets"], panel["title"]
