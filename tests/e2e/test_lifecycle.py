"""Signals, reloads and workers of a real ``dlp-gateway serve`` process."""

from __future__ import annotations

import signal
import smtplib
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.harness import Gateway, Sink

StartGateway = Callable[..., Gateway]
BODY = b"Subject: lifecycle\r\nMessage-ID: <life@citrus.example>\r\n\r\nhello\r\n"


def test_sigterm_lets_the_session_in_flight_finish(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port)
    client = smtplib.SMTP("127.0.0.1", gateway.port, timeout=10)
    client.ehlo()
    assert client.mail("a@citrus.example")[0] == 250
    assert client.rcpt("b@example.com")[0] == 250
    gateway.signal(signal.SIGTERM)
    gateway.wait_log("draining")
    with pytest.raises(OSError):  # no longer accepting
        socket.create_connection(("127.0.0.1", gateway.port), timeout=2).close()
    code, _ = client.data(BODY)
    assert code == 250
    assert len(sink.wait_for(1)) == 1
    client.quit()
    assert gateway.stop(timeout=10) == 0


def test_sigterm_closes_idle_sessions_at_once(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port)
    client = smtplib.SMTP("127.0.0.1", gateway.port, timeout=10)
    client.ehlo()
    started = time.monotonic()
    assert gateway.stop(timeout=10) == 0
    assert time.monotonic() - started < 5  # well inside shutdown_grace (10 s)
    client.close()


def test_sigterm_bounds_a_stuck_session(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port, {"shutdown_grace": 1})
    client = smtplib.SMTP("127.0.0.1", gateway.port, timeout=10)
    client.ehlo()
    client.mail("a@citrus.example")  # a transaction that never finishes
    started = time.monotonic()
    assert gateway.stop(timeout=10) == 0
    assert time.monotonic() - started < 5
    assert sink.messages == []
    client.close()


def test_sighup_with_broken_file_keeps_the_old_configuration(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port)
    gateway.write_config("relay:\n  starttls: off\nsmtp:\n  max_recipients: lots\n")
    gateway.signal(signal.SIGHUP)
    entry = gateway.wait_log("configuration reload failed; keeping the running configuration")
    assert "gateway.yaml:4: smtp.max_recipients: Input should be a valid integer" in entry["problem"]
    with smtplib.SMTP("127.0.0.1", gateway.port) as client:
        assert client.sendmail("a@citrus.example", ["b@example.com", "c@example.com"], BODY) == {}
    assert len(sink.wait_for(1)) == 1
    assert gateway.process is not None and gateway.process.poll() is None


def test_sighup_applies_a_valid_change(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port)
    gateway.settings["smtp"]["max_recipients"] = 1
    gateway.write_config()
    gateway.signal(signal.SIGHUP)
    gateway.wait_log("configuration reloaded")
    with smtplib.SMTP("127.0.0.1", gateway.port) as client:
        refused = client.sendmail("a@citrus.example", ["b@example.com", "c@example.com"], BODY)
    assert refused == {"c@example.com": (452, b"4.5.3 Too many recipients")}


def test_two_workers_share_the_port_and_the_metrics(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port, workers=2)
    deadline = time.monotonic() + 10
    while len({e["pid"] for e in gateway.log_entries() if e.get("msg") == "listening"}) < 2:
        assert time.monotonic() < deadline, gateway.log_text()
        time.sleep(0.05)
    for i in range(30):
        with smtplib.SMTP("127.0.0.1", gateway.port) as client:
            assert client.sendmail("a@citrus.example", [f"r{i}@example.com"], BODY) == {}
    assert len(sink.wait_for(30)) == 30
    pids = {e["pid"] for e in gateway.log_entries() if e.get("msg") == "message"}
    assert len(pids) == 2, "both workers should have taken connections"
    assert gateway.metric('dlp_messages_total{action="deliver",profile="citrus-water"}') == 30
    gateway.signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while sum(e.get("msg") == "configuration reloaded" for e in gateway.log_entries()) < 2:
        assert time.monotonic() < deadline, gateway.log_text()
        time.sleep(0.05)
    assert gateway.stop() == 0
    assert sum(e.get("msg") == "stopped" for e in gateway.log_entries()) == 2


@pytest.mark.parametrize("workers", [1, 2])
def test_port_in_use_fails_with_a_clear_error(sink: Sink, tmp_path: Path, workers: int) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        gateway = Gateway(tmp_path, sink.port, workers=workers)
        gateway.settings["smtp"]["listen"] = f"127.0.0.1:{taken.getsockname()[1]}"
        gateway.write_config()
        import subprocess
        import sys
        result = subprocess.run([sys.executable, "-m", "gateway.cli", "serve", "--config",
                                 str(gateway.config_dir)], capture_output=True, text=True, timeout=30)
        assert result.returncode == 1
        assert "cannot start: SMTP listen address 127.0.0.1:" in result.stderr
        assert "Address already in use" in result.stderr
    finally:
        taken.close()
