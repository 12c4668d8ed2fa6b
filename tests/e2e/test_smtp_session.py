"""The SMTP session's command loop and its state, over real sockets against a
real gateway process (gateway.smtp runs its own loop over aiosmtpd's commands,
and builds each session from a template of the first)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.fuzz import edge, hostile
from tests.e2e.harness import Gateway, Sink, shared_sink
from tests.e2e.test_hostile_smtp import Client

COMMAND_TIMEOUT = 1.5


sink = shared_sink()


@pytest.fixture(scope="module")
def gateway(sink: Sink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    # One worker: every session of a test is built from the same template.
    server = edge.start(tmp_path_factory.mktemp("session"), sink.port,
                        {"workers": 1, "smtp": {"command_timeout": COMMAND_TIMEOUT, "pre_mail_timeout": 60}})
    yield server
    server.stop()


def _greeted(gateway: Gateway) -> Client:
    client = Client(gateway.port, timeout=10)
    assert client.reply().startswith("220 ")
    return client


def test_malformed_commands_get_aiosmtpds_replies_and_the_session_goes_on(gateway: Gateway) -> None:
    client = _greeted(gateway)
    try:
        assert client.command("").startswith("500 Error: bad syntax")
        assert client.command("N\xc3\xa9OP").startswith("500 Error: bad syntax")   # not ASCII
        assert client.command("HELO client.test").startswith("250 ")
        assert client.command("NOOP " + "x" * 600).startswith("500 Command line too long")   # over 512
        client.sock.sendall(b"NOOP " + b"y" * 70_000 + b"\r\n")   # over the reader's line limit
        assert client.reply().startswith("500 Command line too long")
        assert client.command("NOOP").startswith("250 ")
        assert client.command("FROB").startswith("500 5.5.2 Error: command not recognized")
        assert client.command("MAIL FROM:<clerk@lancaster.example>").startswith("250 ")
        assert client.command("RCPT TO:<someone@outside.example>").startswith("250 ")
        assert client.command("DATA").startswith("354")
        client.sock.sendall(hostile.message(b"Hello\r\n", "clerk@lancaster.example") + b"\r\n.\r\n")
        assert client.reply().startswith("250 ")
        assert client.command("QUIT").startswith("221 ")
        assert client.file.read() == b""   # and the gateway closed the connection
    finally:
        client.close()


def test_the_fifth_unknown_command_ends_the_session(gateway: Gateway) -> None:
    client = _greeted(gateway)
    try:
        # Anything can be sent as a command, a value too: logged, never quoted.
        answers = [client.command(f"X{n}19456789") for n in range(2, 7)]
        assert all(a.startswith("500 ") for a in answers[:4]), answers
        assert answers[4].startswith("502 5.5.1"), answers
        assert not any("19456789" in a for a in answers), answers
        assert client.reply() == "closed"
    finally:
        client.close()
    gateway.wait_log("too many unrecognised SMTP commands")
    assert "19456789" not in gateway.log_text()
    assert sum(e.get("msg") == "unrecognised SMTP command" for e in gateway.log_entries()) >= 4


def test_help_lists_every_command_with_its_syntax(gateway: Gateway) -> None:
    client = _greeted(gateway)
    try:
        listed = client.command("HELP")
        assert listed.startswith("250 Supported commands:"), listed
        for command in ("EHLO", "HELO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT"):
            assert command in listed.split(), (command, listed)
        assert client.command("HELP QUIT").startswith("250 Syntax: QUIT")
    finally:
        client.close()


def test_ehlo_in_one_session_keeps_its_mail_limit_when_others_connect(gateway: Gateway) -> None:
    # EHLO announces SIZE and SMTPUTF8, which lengthen MAIL by 36 characters
    # (512 + 36). aiosmtpd kept that limit in a dict all sessions share and
    # cleared it whenever a session began: a client's long MAIL could be
    # refused because another client had just connected.
    client = _greeted(gateway)
    try:
        assert client.command("EHLO client.test").startswith("250")
        others = [_greeted(gateway) for _ in range(3)]
        for other in others:
            other.close()
        sender = "a" * 470 + "@lancaster.example"
        line = f"MAIL FROM:<{sender}> SIZE=1000 SMTPUTF8"
        assert 512 < len(line) <= 548
        assert client.command(line).startswith("250 "), "the session's own MAIL limit was lost"
        assert client.command("RSET").startswith("250 ")
        assert client.command(f"MAIL FROM:<{sender}> SIZE=1000 SMTPUTF8 " + "x" * 60).startswith("500 Command line too long")
    finally:
        client.close()


def test_the_command_timer_closes_a_silent_session_but_not_a_busy_one(gateway: Gateway) -> None:
    busy = _greeted(gateway)
    silent = _greeted(gateway)
    try:
        for client in (busy, silent):
            assert client.command("HELO client.test").startswith("250 ")
            assert client.command("MAIL FROM:<clerk@lancaster.example>").startswith("250 ")  # past the pre-MAIL clock
        began = time.monotonic()
        while time.monotonic() - began < COMMAND_TIMEOUT * 2.5:
            assert busy.command("NOOP").startswith("250 "), "an active session was timed out"
            time.sleep(COMMAND_TIMEOUT / 4)
        silent.sock.settimeout(COMMAND_TIMEOUT * 4)
        try:
            left = silent.file.read()
        except TimeoutError:
            pytest.fail("a silent session outlived its command timeout")
        assert left == b""
    finally:
        busy.close()
        silent.close()


def test_sessions_are_counted_back_to_zero(gateway: Gateway) -> None:
    for _ in range(5):
        client = _greeted(gateway)
        assert client.command("QUIT").startswith("221 ")
        client.close()
    deadline = time.monotonic() + 10
    while gateway.metric("dlp_smtp_sessions_in_flight") != 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert gateway.metric("dlp_smtp_sessions_in_flight") == 0


def test_sessions_after_a_reload_take_the_new_settings(sink: Sink, tmp_path: Path) -> None:
    # The template of a session is made again after a reload (GatewayState.apply).
    gateway = edge.start(tmp_path, sink.port, {"workers": 1, "smtp": {"max_message_size": 2_000_000}})
    try:
        client = _greeted(gateway)
        assert "250-SIZE 2000000" in client.command("EHLO client.test")
        client.close()
        gateway.settings["smtp"]["max_message_size"] = 1_500_000
        gateway.write_config()
        gateway.signal(signal.SIGHUP)
        gateway.wait_log("configuration reloaded")
        client = _greeted(gateway)
        assert "250-SIZE 1500000" in client.command("EHLO client.test")
        client.close()
    finally:
        gateway.stop()


@pytest.mark.parametrize(("command_timeout", "data_timeout"), [(0.8, 2.5), (30, 1.0)])
def test_the_data_timeout_moves_the_session_timer_either_way(
        sink: Sink, tmp_path: Path, command_timeout: float, data_timeout: float) -> None:
    # One timer a session (GatewaySMTP._reset_timeout): DATA's longer deadline
    # outlasts the command timeout's, a shorter one comes sooner.
    gateway = edge.start(tmp_path, sink.port, {"workers": 1, "smtp": {
        "command_timeout": command_timeout, "data_timeout": data_timeout, "data_rate_grace": 60}})
    client = _greeted(gateway)
    try:
        assert client.command("HELO client.test").startswith("250 ")
        assert client.command("MAIL FROM:<clerk@lancaster.example>").startswith("250 ")
        assert client.command("RCPT TO:<someone@outside.example>").startswith("250 ")
        began = time.monotonic()
        assert client.command("DATA").startswith("354")
        if data_timeout > command_timeout:
            time.sleep(command_timeout + 0.6)
            client.sock.sendall(b"Subject: still here\r\n")   # the session is still open
        client.sock.settimeout(20)
        assert client.file.read() == b""   # closed by the data timeout, silently
        waited = time.monotonic() - began
        assert data_timeout - 0.2 <= waited < (20 if data_timeout > command_timeout else command_timeout), waited
    finally:
        client.close()
        gateway.stop()
