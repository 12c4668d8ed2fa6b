"""Real peers for end-to-end tests: a capturing downstream SMTP sink and the
gateway itself as a subprocess (so signals and workers are real)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports: each socket stays bound until all are chosen (one at a time,
    the kernel may hand the port it just freed out again: the review app and the metrics once
    got the same one)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    mail_options: list[str]
    content: bytes
    tls: bool


@dataclass
class SinkHandler:
    """Downstream behaviour, set per test."""

    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> reply
    data_reply: str | None = None
    data_delay: float = 0.0
    reply_delay: float = 0.0   # keep the message, then answer late (a reply lost in the network)
    close_after_data: bool = False
    pipelining: bool = True   # offered, as Postfix does (aiosmtpd reads pipelined commands in order)
    messages: list[Received] = field(default_factory=list)
    connections: int = 0

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        self.connections += 1
        session.host_name = hostname
        if self.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.data_reply:
            return self.data_reply
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      list(envelope.mail_options), envelope.original_content,
                                      session.ssl is not None))
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        if self.close_after_data:
            asyncio.get_running_loop().call_soon(server.transport.close)   # right after the 250
        return "250 2.0.0 Ok: queued by sink"


class _LongLineSMTP(SMTP):
    line_length_limit = 1 << 20  # like Postfix, the sink takes lines over RFC 5321's 1000


class _SinkController(Controller):
    def factory(self) -> SMTP:
        return _LongLineSMTP(self.handler, **self.SMTP_kwargs)


class Sink:
    """A real aiosmtpd server on 127.0.0.1 that records what it accepts."""

    def __init__(self, port: int | None = None, **server_kwargs: Any) -> None:
        self.port = port or free_port()
        self.handler = SinkHandler()
        kwargs = {"enable_SMTPUTF8": True, **server_kwargs}
        self.controller = _SinkController(self.handler, hostname="127.0.0.1", port=self.port,
                                     ready_timeout=10, **kwargs)

    def start(self) -> Sink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


def shared_sink() -> Any:
    """A ``sink`` fixture that every test of a module shares: ``sink = shared_sink()`` at its top."""
    def sink() -> Iterator[Sink]:
        server = Sink().start()
        yield server
        server.stop()
    return pytest.fixture(scope="module", name="sink")(sink)


class Gateway:
    """``dlp-gateway serve`` as a child process with its own config dir."""

    def __init__(self, workdir: Path, relay_port: int, settings: dict[str, Any] | None = None,
                 workers: int = 1) -> None:
        self.workdir = workdir
        self.port, self.metrics_port, review_port = free_ports(3)
        self.config_dir = workdir / "config"
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "gateway.log"
        self.settings: dict[str, Any] = {
            "smtp": {"listen": f"127.0.0.1:{self.port}", "hostname": "gw.test.invalid"},
            "relay": {"address": f"127.0.0.1:{relay_port}", "starttls": "off",
                      "connect_timeout": 2, "timeout": 5},
            "metrics": {"listen": f"127.0.0.1:{self.metrics_port}"},
            "review": {"listen": f"127.0.0.1:{review_port}"},
            "data_dir": str(workdir / "var"),
            "workers": workers,
            "shutdown_grace": 10,
        }
        for key, value in (settings or {}).items():
            if isinstance(value, dict):
                self.settings.setdefault(key, {}).update(value)
            else:
                self.settings[key] = value
        self.process: subprocess.Popen[bytes] | None = None

    def write_config(self, text: str | None = None) -> None:
        body = text if text is not None else yaml.safe_dump(self.settings)
        (self.config_dir / "gateway.yaml").write_text(body, encoding="utf-8")

    def start(self) -> Gateway:
        self.write_config()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "serve", "--config", str(self.config_dir)],
                stdout=log, stderr=log, cwd=self.workdir, env=env)
        try:
            wait_for_port(self.port, timeout=60)   # slow starts on a loaded machine
        except TimeoutError:
            self.stop()
            raise AssertionError(f"gateway did not start:\n{self.log_text()}") from None
        return self

    def signal(self, number: int) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    def stop(self, timeout: float = 20.0) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"gateway ignored SIGTERM:\n{self.log_text()}") from None

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def log_entries(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.log_text().splitlines():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return entries

    def wait_log(self, msg: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in self.log_entries():
                if entry.get("msg") == msg:
                    return entry
            time.sleep(0.05)
        raise AssertionError(f"no log entry {msg!r}:\n{self.log_text()}")

    def metrics(self) -> str:
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as resp:
            return resp.read().decode()

    def metric(self, sample: str) -> float:
        for line in self.metrics().splitlines():
            if line.startswith(sample + " "):
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"no sample {sample}")
