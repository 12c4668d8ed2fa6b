"""Under systemd: `serve` speaks the notify protocol to a real NOTIFY_SOCKET
(a datagram socket this test binds) — READY once the listeners answer,
WATCHDOG while it runs, STOPPING on SIGTERM, in that order — and the shipped
unit passes `systemd-analyze verify`."""

from __future__ import annotations

import json
import os
import re
import shutil
import smtplib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_system
from tests.e2e.harness import ROOT, Gateway, Sink
from tests.e2e.ops_helpers import START_TIMEOUT, launch

# Starts gateways (each worker loads the detectors) on a shared, loaded machine.
pytestmark = pytest.mark.timeout(300)

UNIT = ROOT / "deploy" / "systemd" / "dlp-gateway.service"


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.settimeout(0.2)
    yield sock
    sock.close()


def _messages(sock: socket.socket, until: str, timeout: float = 30.0) -> list[str]:
    """Each datagram's lines, in arrival order, until one carries ``until``."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            data = sock.recv(4096).decode()
        except TimeoutError:
            continue
        seen += data.splitlines()
        if until in data.splitlines():
            return seen
    raise AssertionError(f"no {until} within {timeout}s; got {seen}")


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_notifies_ready_watchdog_stopping(
        workers: int, tmp_path: Path, sink: Sink, notify_socket: socket.socket,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", notify_socket.getsockname())
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")   # ping at least every 0.5 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    gateway = launch(Gateway(tmp_path / "gw", sink.port, workers=workers), wait=False)
    try:
        before_ready = _messages(notify_socket, "READY=1", timeout=START_TIMEOUT)
        assert "WATCHDOG=1" not in before_ready and "STOPPING=1" not in before_ready
        assert f"MAINPID={gateway.process.pid}" in before_ready
        # READY means the SMTP listener answers now, not soon.
        with smtplib.SMTP("127.0.0.1", gateway.port, timeout=10) as client:
            assert client.noop()[0] == 250
        pings = _messages(notify_socket, "WATCHDOG=1")
        _messages(notify_socket, "WATCHDOG=1")   # and again: it keeps pinging
        assert "STOPPING=1" not in pings
        gateway.signal(15)
        after = _messages(notify_socket, "STOPPING=1")
        assert "READY=1" not in after
        assert gateway.process.wait(30) == 0
    finally:
        gateway.stop()


def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    require_system(None if analyze else "systemd-analyze is not installed (Debian: systemd)")
    assert analyze is not None
    # verify needs ExecStart's binary to exist: point it at a stand-in of the same name.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "dlp-gateway"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)

    unit = tmp_path / "dlp-gateway.service"
    unit.write_text(UNIT.read_text().replace("/opt/dlp-gateway/venv/bin/dlp-gateway", str(stand_in)))
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"})
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if "dlp-gateway" in line or "Unknown" in line or "Invalid" in line]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr


def test_unit_has_the_service_settings_the_manual_promises() -> None:
    text = UNIT.read_text()
    settings = {line.split("=", 1)[0] for line in text.splitlines() if "=" in line and not line.startswith("#")}
    for key in ("Type", "ExecStart", "ExecReload", "WatchdogSec", "StateDirectory", "User",
                "ProtectSystem", "NoNewPrivileges", "PrivateTmp", "CapabilityBoundingSet",
                "ReadWritePaths", "NotifyAccess"):
        assert key in settings, key
    assert "Type=notify\n" in text
    assert "ExecReload=/bin/kill -HUP $MAINPID" in text
    assert "ProtectSystem=strict" in text


def test_log_lines_carry_journald_priorities_on_the_journal_stream(tmp_path: Path, sink: Sink) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))   # the review app's port is taken: an error line
    taken.listen()
    gateway = Gateway(tmp_path / "gw", sink.port)
    gateway.settings["review"]["listen"] = f"127.0.0.1:{taken.getsockname()[1]}"
    gateway.write_config()
    try:
        gateway.log_path.parent.mkdir(parents=True, exist_ok=True)
        gateway.log_path.touch()
        info = os.stat(gateway.log_path)
        launch(gateway, {"JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}"})
        assert gateway.stop() == 0
    finally:
        taken.close()
    lines = gateway.log_text().splitlines()
    priorities = {}
    for line in lines:
        match = re.match(r"^<([0-7])>(\{.*\})$", line)
        assert match, line
        priorities[json.loads(match.group(2))["msg"]] = match.group(1)
    assert priorities["listening"] == "6" and priorities["review app not started"] == "3", priorities
