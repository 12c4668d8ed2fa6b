"""A bounded fault matrix: clients that retry like an MTA, an accounting sink
that records every Message-ID it accepts, and faults on both sides -- the
downstream deferring and dropping at random and killed, the gateway killed
(SIGKILL) and stopped (SIGTERM) under load. Every 250 is accounted for (in the
sink or in quarantine), nothing is held twice, clean mail never gets a 5xx.

A delivery whose 250 from the downstream is lost with a killed gateway is sent
again on the client's retry (SMTP cannot tell): duplicates in the sink are
allowed only in the kill test, at most one per session in flight per kill.
"""

from __future__ import annotations

import random
import re
import signal
import smtplib
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.e2e.harness import Gateway, Sink, SinkHandler

StartGateway = Callable[..., Gateway]
CLIENTS = 6
_ID = re.compile(rb"Message-ID: <(m\d+)@fault\.test>")


@dataclass
class AccountingHandler(SinkHandler):
    """Accepts, defers (4xx) or drops during DATA at random; records what it accepts."""

    defer: float = 0.0
    drop: float = 0.0
    ids: list[str] = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(12))

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        roll = self.rng.random()
        if roll < self.defer:
            return "451 4.3.0 chaos: try again later"
        if roll < self.defer + self.drop:
            server.transport.abort()           # the connection drops, no reply
            return "451 4.3.0 never seen"
        found = _ID.search(envelope.original_content)
        self.ids.append(found.group(1).decode() if found else "?")
        return "250 2.0.0 accepted"


@dataclass
class Fate:
    outcomes: dict[str, str] = field(default_factory=dict)   # id -> "delivered" | "held" | "5xx ..." | "gave up"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, mid: str, outcome: str) -> None:
        with self.lock:
            self.outcomes[mid] = outcome


def message(mid: str, sensitive: bool) -> bytes:
    text = "SSN 219-45-6789 as requested." if sensitive else "Nothing sensitive here."
    if int(mid[1:]) % 3 == 1:   # ~100 kB: scanned in a thread while others scan on the loop
        text += "\r\n" + "Invoice 2026-0042 of 11 21 2026, order 4471-22 shipped.\r\n" * 1800
    return (f"From: clerk@citrus.example\r\nTo: resident@example.com\r\nSubject: {mid}\r\n"
            f"Message-ID: <{mid}@fault.test>\r\n\r\n{text}\r\n").encode()


def deliver_with_retries(port: Callable[[], int], mid: str, body: bytes, fate: Fate, until: float) -> None:
    """Send like an MTA: retry on 4xx and on lost connections until a final answer."""
    while time.monotonic() < until:
        try:
            with smtplib.SMTP("127.0.0.1", port(), timeout=30) as smtp:
                smtp.ehlo()
                code, text = smtp.mail("clerk@citrus.example")
                if code == 250:
                    code, text = smtp.rcpt("resident@example.com")
                if code == 250:
                    try:
                        code, text = smtp.data(body)
                    except smtplib.SMTPDataError as refused:
                        code, text = refused.smtp_code, refused.smtp_error
        except (OSError, smtplib.SMTPException):
            time.sleep(0.2)
            continue
        if code == 250:
            fate.record(mid, "held" if b"held for review" in text else "delivered")
            return
        if code >= 500:
            fate.record(mid, f"{code} {text!r}")
            return
        time.sleep(0.2)
    fate.record(mid, "gave up")


def run_load(port: Callable[[], int], count: int, fate: Fate, seconds: float = 90) -> list[threading.Thread]:
    until = time.monotonic() + seconds
    mids = [f"m{n:04d}" for n in range(count)]

    def client(mine: list[str]) -> None:
        for mid in mine:
            deliver_with_retries(port, mid, message(mid, sensitive=int(mid[1:]) % 4 == 0), fate, until)

    threads = [threading.Thread(target=client, args=(mids[i::CLIENTS],)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    return threads


def held_subjects(gateway: Gateway) -> list[str]:
    with sqlite3.connect(gateway.workdir / "var" / "quarantine.sqlite") as db:
        return [str(s) for (s,) in db.execute("SELECT subject FROM held_messages")]


def account(fate: Fate, sink_ids: list[str], held: list[str], count: int, allowed_duplicates: int) -> None:
    outcomes = fate.outcomes
    assert len(outcomes) == count
    failures = {m: o for m, o in outcomes.items() if o not in ("delivered", "held")}
    assert not failures, failures                  # no 5xx for clean mail, nothing left undecided
    delivered = Counter(sink_ids)
    held_count = Counter(held)
    lost = [m for m, o in outcomes.items()
            if (o == "delivered" and not delivered[m]) or (o == "held" and not held_count[m])]
    assert lost == []
    assert [m for m, n in held_count.items() if n > 1] == []         # never held twice
    duplicates = sum(n - 1 for n in delivered.values() if n > 1)
    assert duplicates <= allowed_duplicates, delivered.most_common(5)
    assert sum(1 for o in outcomes.values() if o == "held") == count // 4


def test_downstream_deferring_dropping_and_killed(start_gateway: StartGateway) -> None:
    handler = AccountingHandler(defer=0.15, drop=0.1)
    sink = Sink()
    sink.handler = sink.controller.handler = handler
    sink.start()
    gateway = start_gateway(sink.port, {"relay": {"timeout": 5}}, workers=2)
    fate = Fate()
    count = 60
    threads = run_load(lambda: gateway.port, count, fate)
    time.sleep(2)
    sink.stop()                                     # the downstream dies for a while
    time.sleep(1.5)
    sink = Sink(port=sink.port)
    sink.handler = sink.controller.handler = handler
    sink.start()
    try:
        for t in threads:
            t.join(100)
    finally:
        sink.stop()
    account(fate, handler.ids, held_subjects(gateway), count, allowed_duplicates=0)


def test_gateway_killed_and_stopped_under_load(start_gateway: StartGateway) -> None:
    handler = AccountingHandler()
    sink = Sink()
    sink.handler = sink.controller.handler = handler
    sink.start()
    gateway = start_gateway(sink.port)
    fate = Fate()
    count = 48
    try:
        threads = run_load(lambda: gateway.port, count, fate)
        for stop in (signal.SIGKILL, signal.SIGTERM):
            time.sleep(1.5)
            assert gateway.process is not None
            gateway.process.send_signal(stop)
            gateway.process.wait(30)
            gateway.start()
        for t in threads:
            t.join(100)
    finally:
        sink.stop()
    account(fate, handler.ids, held_subjects(gateway), count, allowed_duplicates=CLIENTS)
