"""The metrics listener's health endpoints and per-process metrics, on a real
gateway: /healthz, /readyz (named checks, 503 when one fails, back to 200
when the cause goes away), 404 elsewhere, process_* for every worker."""

from __future__ import annotations

import signal
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.harness import Gateway, Sink, free_port
from tests.e2e.ops_helpers import start_gateway  # noqa: F401  (fixture)

# Starts gateways (each worker loads the detectors) on a shared, loaded machine.
pytestmark = pytest.mark.timeout(300)

# Prometheus' default scrape interval; /readyz must follow a change within it.
SCRAPE_INTERVAL = 15.0


def get(gateway: Gateway, path: str) -> tuple[int, str]:
    url = f"http://127.0.0.1:{gateway.metrics_port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_ready(gateway: Gateway, status: int) -> str:
    """The /readyz body once it answers ``status``, within one scrape interval."""
    deadline = time.monotonic() + SCRAPE_INTERVAL
    body = ""
    while time.monotonic() < deadline:
        code, body = get(gateway, "/readyz")
        if code == status:
            return body
        time.sleep(0.2)
    raise AssertionError(f"/readyz did not answer {status} within {SCRAPE_INTERVAL}s: {body}")


def test_health_readiness_and_404(start_gateway: Callable[..., Gateway]) -> None:
    sink = Sink().start()
    gateway = start_gateway(sink.port, workers=2)
    assert get(gateway, "/healthz") == (200, "ok\n")
    body = wait_ready(gateway, 200)
    assert body.splitlines()[0] == "ready"
    for check in ("config ok", "downstream ok", "store ok"):
        assert any(line.startswith(check) for line in body.splitlines()), body
    for path in ("/", "/metricsx", "/readyz/extra", "/favicon.ico"):
        assert get(gateway, path)[0] == 404, path

    # The downstream goes away, then comes back on the same port.
    sink.stop()
    body = wait_ready(gateway, 503)
    assert body.splitlines()[0] == "not ready" and "downstream FAIL" in body, body
    assert "store ok" in body and get(gateway, "/healthz")[0] == 200
    back = Sink(port=sink.port).start()
    try:
        wait_ready(gateway, 200)
    finally:
        back.stop()


def test_readyz_fails_while_the_store_cannot_be_written(
        sink: Sink, start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway(sink.port)
    wait_ready(gateway, 200)
    db = Path(gateway.settings["data_dir"]) / "quarantine.sqlite"
    holder = sqlite3.connect(db, isolation_level=None, timeout=30)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        body = wait_ready(gateway, 503)
        assert "store FAIL: locked" in body and "downstream ok" in body, body
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    wait_ready(gateway, 200)


def test_process_metrics_for_every_worker(sink: Sink, start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway(sink.port, workers=2)
    wait_ready(gateway, 200)
    text = gateway.metrics()
    for process in ("main", "worker-0", "worker-1"):
        for name in ("process_resident_memory_bytes", "process_cpu_seconds_total",
                     "process_open_fds", "process_start_time_seconds"):
            assert f'{name}{{process="{process}"}}' in text, (name, process)


@pytest.mark.parametrize("workers", [1, 2])
def test_readyz_follows_a_reloaded_downstream(
        workers: int, sink: Sink, start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway(sink.port, workers=workers)
    wait_ready(gateway, 200)
    dead = free_port()
    gateway.settings["relay"]["address"] = f"127.0.0.1:{dead}"
    gateway.write_config()
    gateway.signal(signal.SIGHUP)
    body = wait_ready(gateway, 503)
    assert f"downstream FAIL: 127.0.0.1:{dead}" in body, body
    gateway.settings["relay"]["address"] = f"127.0.0.1:{sink.port}"
    gateway.write_config()
    gateway.signal(signal.SIGHUP)
    wait_ready(gateway, 200)
