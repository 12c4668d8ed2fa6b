"""End to end with a real Postfix: Postfix takes the message, hands it to the
gateway as its content_filter, the gateway relays it to Postfix's
re-injection listener, and Postfix delivers it to a sink."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import require_system
from tests.e2e.harness import Gateway, Sink
from tests.e2e.postfix import PostfixInstance, free_port, postfix_available

StartGateway = Callable[..., Gateway]

BODY = ("Caf\u00e9 au lait \u2014 8-bit body\r\n.leading dot\r\n"
        "Line with trailing spaces   \r\nlast line\r\n").encode()
MESSAGE = (b"From: clerk@citrus.example\r\nTo: resident@example.com, other@example.org\r\n"
           b"Subject: through postfix\r\nMessage-ID: <pf-1@citrus.example>\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\n" + BODY)


@pytest.fixture
def mta(tmp_path: Path, sink: Sink, start_gateway: StartGateway) -> Iterator[tuple[PostfixInstance, Gateway]]:
    require_system(postfix_available())
    reinject = free_port()
    gateway = start_gateway(reinject)
    postfix = PostfixInstance(tmp_path / "postfix", smtpd_port=free_port(), filter_port=gateway.port,
                              reinject_port=reinject, sink_port=sink.port)
    postfix.start()
    yield postfix, gateway
    postfix.stop()


def test_message_passes_through_postfix_and_gateway_intact(mta: tuple[PostfixInstance, Gateway],
                                                           sink: Sink) -> None:
    postfix, gateway = mta
    with smtplib.SMTP("127.0.0.1", postfix.ports["smtpd_port"], timeout=10) as client:
        refused = client.sendmail("clerk@citrus.example", ["resident@example.com", "other@example.org"],
                                  MESSAGE)
    assert refused == {}
    delivered = sink.wait_for(1, timeout=30)
    assert delivered, f"nothing reached the sink\n{postfix.log()}\n{gateway.log_text()}"
    [message] = delivered
    assert sorted(message.rcpt_tos) == ["other@example.org", "resident@example.com"]
    head, _, body = message.content.partition(b"\r\n\r\n")
    assert body == BODY
    assert b"X-DLP-Verdict: deliver; profile=citrus-water" in head
    assert b"(dlp-gateway) with ESMTP id" in head
    assert b"Message-ID: <pf-1@citrus.example>" in head
    entry = gateway.wait_log("message")
    assert entry["message_id"] == "<pf-1@citrus.example>" and entry["recipients"] == 2


def test_postfix_keeps_the_message_while_the_gateway_is_down(mta: tuple[PostfixInstance, Gateway],
                                                             sink: Sink) -> None:
    postfix, gateway = mta
    assert gateway.stop() == 0
    with smtplib.SMTP("127.0.0.1", postfix.ports["smtpd_port"], timeout=10) as client:
        client.sendmail("clerk@citrus.example", ["resident@example.com"], MESSAGE)
    deadline = time.monotonic() + 15
    while not postfix.queue() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.5)
    assert sink.messages == []
    assert postfix.queue(), "the message should wait in Postfix's queue"
    gateway.start()
    assert sink.wait_for(1, timeout=30), postfix.log()
    assert sink.messages[0].content.partition(b"\r\n\r\n")[2] == BODY
