"""Downstream unreachable at MAIL: the session goes on detached, so mail that
must be held is held and mail that must be blocked is blocked; only mail to
deliver gets 451 4.4.1 (the client keeps it)."""

from __future__ import annotations

import smtplib
from collections.abc import Callable

from tests.e2e.harness import Gateway, Sink, free_port

StartGateway = Callable[..., Gateway]
SSN = "219-45-6789"


def send(gateway: Gateway, sender: str, rcpt: str, body: bytes) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=30) as smtp:
        smtp.ehlo()
        code, text = smtp.mail(sender)
        assert code == 250, text
        code, text = smtp.rcpt(rcpt)
        assert code == 250, text
        return smtp.data(body)


def test_holds_and_blocks_go_on_while_the_downstream_is_down(start_gateway: StartGateway) -> None:
    gateway = start_gateway(free_port())     # nothing listens there
    sensitive = f"Subject: account\r\n\r\nSSN {SSN} as requested.\r\n".encode()
    held = send(gateway, "clerk@citrus.example", "someone@example.com", sensitive)
    assert held[0] == 250 and b"held for review as Q" in held[1], held
    blocked = send(gateway, "clerk@lancaster.example", "someone@example.com", sensitive)
    assert blocked[0] == 550 and blocked[1].startswith(b"5.7.1"), blocked
    clean = send(gateway, "clerk@citrus.example", "someone@example.com", b"Subject: hi\r\n\r\nhello\r\n")
    assert (clean[0], clean[1][:5]) == (451, b"4.4.1")
    actions = [e["action"] for e in gateway.log_entries() if e.get("msg") == "message"]
    assert actions == ["quarantine", "block", "error"]


def test_lockstep_while_the_downstream_is_up(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port)
    sink.handler.refuse["nobody@example.com"] = "550 5.1.1 No such user"
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=30) as smtp:
        smtp.ehlo()
        smtp.mail("clerk@citrus.example")
        assert smtp.rcpt("nobody@example.com") == (550, b"5.1.1 No such user")
