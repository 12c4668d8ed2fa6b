"""dlp_quarantine_messages is the store's count: true with several workers,
and across gateways sharing one quarantine."""

from __future__ import annotations

import smtplib
import time
import uuid
from collections.abc import Callable

from tests.e2e.harness import Gateway, Sink

StartGateway = Callable[..., Gateway]


def hold(gateway: Gateway) -> None:
    body = (f"Subject: held\r\nMessage-ID: <{uuid.uuid4().hex}@citrus.example>\r\n\r\n"
            "SSN 219-45-6789 as requested.\r\n").encode()
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=30) as smtp:
        smtp.ehlo()
        smtp.mail("clerk@citrus.example")
        smtp.rcpt("resident@example.com")
        code, text = smtp.data(body)
    assert code == 250 and b"held for review" in text, text


def settles_at(gateway: Gateway, expected: float, timeout: float = 4) -> float:
    deadline = time.monotonic() + timeout
    value = -1.0
    while time.monotonic() < deadline:
        value = gateway.metric("dlp_quarantine_messages")
        if value == expected:
            break
        time.sleep(0.3)
    return value


def test_held_gauge_is_the_store_count_across_workers_and_gateways(
        sink: Sink, start_gateway: StartGateway) -> None:
    first = start_gateway(sink.port, workers=2)
    db = first.workdir / "var" / "quarantine.sqlite"
    key = first.workdir / "var" / "quarantine.key"
    for _ in range(12):      # separate connections: both workers take them from the shared socket
        hold(first)
    assert settles_at(first, 12) == 12
    second = start_gateway(sink.port, {"quarantine": {"url": f"sqlite:///{db}", "key_file": str(key)}})
    for _ in range(3):
        hold(second)
    assert settles_at(first, 15) == 15
    assert settles_at(second, 15) == 15
