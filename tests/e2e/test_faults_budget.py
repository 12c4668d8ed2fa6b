"""The in-flight byte budget per worker: past it, 452 4.3.1 (the client keeps
the message and retries); every message gets through once there is room."""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Callable

from tests.e2e.harness import Gateway, Sink

StartGateway = Callable[..., Gateway]
SIZE = 400_000


def body(n: int) -> bytes:
    head = f"Subject: big {n}\r\nMessage-ID: <big-{n}@citrus.example>\r\n\r\n".encode()
    return head + (b"x" * 98 + b"\r\n") * (SIZE // 100)


def send(gateway: Gateway, n: int, declare: bool) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=60) as smtp:
        smtp.ehlo()
        smtp.mail("a@citrus.example", [f"SIZE={len(body(n))}"] if declare else [])
        smtp.rcpt("b@citrus.example")
        try:
            return smtp.data(body(n))
        except smtplib.SMTPDataError as refused:     # refused at the DATA command, before 354
            return refused.smtp_code, refused.smtp_error


def test_over_the_budget_answers_452_and_retries_get_through(sink: Sink, start_gateway: StartGateway) -> None:
    sink.handler.data_delay = 2.0            # messages stay in flight a while
    gateway = start_gateway(sink.port, {"smtp": {"inflight_bytes": 1_000_000}})
    replies: dict[int, tuple[int, bytes]] = {}

    def client(n: int) -> None:
        replies[n] = send(gateway, n, declare=n % 2 == 0)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    refused = sorted(n for n, (code, _) in replies.items() if code != 250)
    assert refused, "six 400 kB messages at once fit a 1 MB budget?"
    assert all(replies[n][0] == 452 and replies[n][1].startswith(b"4.3.1") for n in refused), replies
    assert len(replies) - len(refused) >= 2
    sink.handler.data_delay = 0
    for n in refused:                         # the MTA's retry
        assert send(gateway, n, declare=True)[0] == 250
    delivered = sink.wait_for(6)
    assert sorted(m.content.split(b"Message-ID: <big-")[1][:1] for m in delivered) == [b"%d" % n for n in range(6)]
    assert gateway.metric("dlp_budget_refusals_total") == len(refused)
