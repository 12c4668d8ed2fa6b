"""A pooled downstream connection closed right after our MAIL (an idle
timeout, a restart) is replaced before the first recipient, not a 451; one
closed right after our last RCPT is replaced at DATA (MAIL, RCPT, DATA again
on another connection), since the downstream has not seen the message."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.e2e.harness import Gateway, Sink, SinkHandler

StartGateway = Callable[..., Gateway]


@dataclass
class ClosingAfterSecondMail(SinkHandler):
    """Answers MAIL, then closes the connection when it was not its first transaction."""

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        session.mails = getattr(session, "mails", 0) + 1
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        if session.mails > 1:
            asyncio.get_running_loop().call_soon(server.transport.close)   # after the 250
        return "250 2.1.0 OK"


def _three_sessions(start_gateway: StartGateway, handler: SinkHandler) -> tuple[Gateway, list[Any]]:
    """Three messages through the gateway, a session each, to a sink that behaves as ``handler``:
    the gateway and what the sink received."""
    sink = Sink()
    sink.handler = sink.controller.handler = handler
    sink.start()
    try:
        gateway = start_gateway(sink.port)
        for i in range(3):
            with smtplib.SMTP("127.0.0.1", gateway.port, timeout=30) as client:
                assert client.sendmail("a@citrus.example", [f"r{i}@example.com"],
                                       b"Subject: pool\r\n\r\nhello\r\n") == {}
        return gateway, sink.wait_for(3)
    finally:
        sink.stop()


def test_pooled_connection_closed_after_mail_is_replaced(start_gateway: StartGateway) -> None:
    gateway, received = _three_sessions(start_gateway, ClosingAfterSecondMail())
    assert len(received) == 3
    assert gateway.metric('dlp_relay_errors_total{reason="lost"}') == 0


@dataclass
class ClosingAfterSecondRcpt(SinkHandler):
    """Answers RCPT, then closes the connection when it was not its first transaction."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        session.rcpts = getattr(session, "rcpts", 0) + 1
        if session.rcpts > 1:
            asyncio.get_running_loop().call_soon(server.transport.close)   # after the 250
        return await super().handle_RCPT(server, session, envelope, address, options)


def test_pooled_connection_closed_after_rcpt_is_replayed_at_data(start_gateway: StartGateway) -> None:
    handler = ClosingAfterSecondRcpt()
    gateway, received = _three_sessions(start_gateway, handler)
    assert [m.rcpt_tos for m in received] == [["r0@example.com"], ["r1@example.com"], ["r2@example.com"]]
    assert handler.connections == 3   # the first, then one for each replay
    assert gateway.metric('dlp_relay_errors_total{reason="lost"}') == 0
