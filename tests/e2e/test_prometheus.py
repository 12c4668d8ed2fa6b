"""A real Prometheus (Debian's package) scrapes a gateway that carried traffic:
the target is up, the shipped alert rules load and evaluate, and every query
of the shipped Grafana dashboard returns data."""

from __future__ import annotations

import json
import math
import shutil
import smtplib
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import require_system
from tests.e2e.harness import ROOT, Gateway, Sink, free_port
from tests.e2e.ops_helpers import start_gateway  # noqa: F401  (fixture)
from tests.e2e.test_quarantine import data, held_message

# Starts gateways (each worker loads the detectors) on a shared, loaded machine.
pytestmark = pytest.mark.timeout(300)

RULES = ROOT / "deploy" / "prometheus" / "dlp-gateway.rules.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dlp-gateway.json"
PROMETHEUS = shutil.which("prometheus")
# Grafana's variables as a query of the whole range would expand them.
VARIABLES = {"$__rate_interval": "30s", "$job": ".+"}


def api(port: int, path: str, **params: str) -> Any:
    url = f"http://127.0.0.1:{port}/api/v1/{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = json.loads(resp.read())
    assert body["status"] == "success", body
    return body["data"]


def until(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except OSError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout}s; last: {last}")


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[int], int]]:
    require_system(None if PROMETHEUS else "prometheus is not installed (Debian: prometheus)")
    started: list[subprocess.Popen[bytes]] = []

    def start(metrics_port: int) -> int:
        port = free_port()
        config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                  "rule_files": [str(RULES)],
                  "scrape_configs": [{"job_name": "dlp-gateway",
                                      "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}]}]}
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        log = (tmp_path / "prometheus.log").open("wb")
        started.append(subprocess.Popen(
            [str(PROMETHEUS), f"--config.file={tmp_path / 'prometheus.yml'}",
             f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=log, stderr=log))
        log.close()
        return port

    yield start
    for process in started:
        process.terminate()
        process.wait(30)


def traffic(gateway: Gateway, marker: str) -> None:
    """A delivered, a held and a blocked message."""
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=30) as client:
        assert client.sendmail("a@citrus.example", ["b@example.com"], b"Subject: hi\r\n\r\nhello\r\n") == {}
    assert data(gateway, held_message(f"{marker}-hold"))[0] == 250
    assert data(gateway, held_message(f"{marker}-block", "clerk@pomona.example"), "clerk@pomona.example")[0] == 550


def dashboard_queries() -> list[tuple[str, str]]:
    board = json.loads(DASHBOARD.read_text())
    queries = []
    for panel in board["panels"]:
        for target in panel["targets"]:
            expr = target["expr"]
            for name, value in VARIABLES.items():
                expr = expr.replace(name, value)
            queries.append((panel["title"], expr))
    return queries


def test_prometheus_scrapes_rules_load_and_every_panel_has_data(
        sink: Sink, start_gateway: Callable[..., Gateway], prometheus: Callable[[int], int]) -> None:
    siem = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)   # a collector for the SIEM panel
    siem.bind(("127.0.0.1", 0))
    try:
        gateway = start_gateway(sink.port, {"siem": {"address": f"127.0.0.1:{siem.getsockname()[1]}"}},
                                workers=2)
        traffic(gateway, "before")
        port = prometheus(gateway.metrics_port)

        def target_up() -> bool:
            targets = api(port, "targets")["activeTargets"]
            return bool(targets) and all(t["health"] == "up" for t in targets)
        until(target_up, "the gateway target is up")
        traffic(gateway, "after")   # increases between scrapes, for rate()

        names = {rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]}

        def rules_ok() -> list[dict[str, Any]]:
            loaded = [r for g in api(port, "rules")["groups"] for r in g["rules"]]
            return loaded if {r["name"] for r in loaded} == names and all(r["health"] == "ok" for r in loaded) else []
        loaded = until(rules_ok, "every rule loaded and evaluated")
        assert {r["name"] for r in loaded} == names and not any(r.get("lastError") for r in loaded)
        time.sleep(3)   # a few scrapes after the second burst

        for title, expr in dashboard_queries():
            result = until(lambda expr=expr: api(port, "query", query=expr)["result"],
                           f"panel {title!r}: {expr} returns data", timeout=30)
            values = [float(series["value"][1]) for series in result]
            if title.startswith("Processing latency"):
                assert all(math.isfinite(v) and v > 0 for v in values), (expr, values)
            if title in ("Messages by action", "Findings by entity", "SMTP replies by class"):
                assert any(v > 0 for v in values), (expr, values)
            if title == "Held messages":
                assert values == [2.0], values
        everyone = api(port, "query", query='count by (process) (process_resident_memory_bytes{job="dlp-gateway"})')
        assert {s["metric"]["process"] for s in everyone["result"]} == {"main", "worker-0", "worker-1"}
    finally:
        siem.close()
