"""Faults found under load: concurrent scans, and failures after a message's
fate is settled. Real gateway subprocess, real SMTP over loopback."""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Callable

import pytest

from tests.e2e.harness import Gateway, Sink

StartGateway = Callable[..., Gateway]


CLEAN = b"Subject: clean\r\nMessage-ID: <clean@citrus.example>\r\n\r\nNothing to see here.\r\n"


def message(n: int, size: int) -> bytes:
    # Digits in the Message-ID: masking it runs the detectors on the event loop
    # while large bodies are scanned in threads.
    head = (f"From: a@citrus.example\r\nTo: b@citrus.example\r\nSubject: load {n}\r\n"
            f"Message-ID: <{n:09d}.4111111111111111@citrus.example>\r\n\r\n").encode()
    line = b"Order 123-45-6789 ref 4111 1111 1111 1111 on 11 21 2026 tel 213 555 0100\r\n"
    return head + line * max(1, size // len(line))


def test_concurrent_scans_in_threads_and_on_the_loop(sink: Sink, start_gateway: StartGateway) -> None:
    # Internal recipients: delivered whatever is found, so every reply must be 250.
    gateway = start_gateway(sink.port, {"detection": {"thread_above": 4096}})
    codes: list[int] = []
    lock = threading.Lock()

    def client(worker: int) -> None:
        with smtplib.SMTP("127.0.0.1", gateway.port, timeout=60) as smtp:
            smtp.ehlo()
            for i in range(6):
                n = worker * 100 + i
                code = smtp.mail("a@citrus.example")[0]
                if code == 250:
                    smtp.rcpt("b@citrus.example")
                    code = smtp.data(message(n, 100_000 if i % 2 else 2_000))[0]
                if code != 250:
                    smtp.rset()
                with lock:
                    codes.append(code)

    threads = [threading.Thread(target=client, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert codes == [250] * 48, sorted(set(codes))
    delivered = sink.wait_for(48)
    ids = [m.content.split(b"Message-ID: <", 1)[1][:9] for m in delivered]
    assert len(ids) == 48 and len(set(ids)) == 48
    assert "ScratchInUse" not in gateway.log_text()


def test_failure_after_delivery_keeps_the_250(sink: Sink, start_gateway: StartGateway,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLP_FAILPOINTS", "record")
    gateway = start_gateway(sink.port)
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=10) as smtp:
        smtp.ehlo()
        for _ in range(2):   # the second MAIL on the connection starts a clean transaction
            assert smtp.mail("a@citrus.example")[0] == 250
            assert smtp.rcpt("b@example.com")[0] == 250
            code, text = smtp.data(CLEAN)
            assert code == 250, text
    assert len(sink.wait_for(2)) == 2
    entry = gateway.wait_log("failure after the message was settled; the reply stands")
    assert entry["stage"] == "record" and entry["problem"] == "FailpointError"
    assert gateway.metric('dlp_internal_errors_total{stage="after-record"}') == 2


def test_exception_during_data_resets_the_envelope(sink: Sink, start_gateway: StartGateway,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLP_FAILPOINTS", "data-handler")
    gateway = start_gateway(sink.port)
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=10) as smtp:
        smtp.ehlo()
        for _ in range(2):
            code, text = smtp.mail("a@citrus.example")
            assert code == 250, text     # never "503 nested MAIL command"
            assert smtp.rcpt("b@example.com")[0] == 250
            code, text = smtp.data(CLEAN)
            assert (code, text[:5]) == (451, b"4.3.0")
    assert sink.messages == []
    assert gateway.metric('dlp_internal_errors_total{stage="session"}') == 2
