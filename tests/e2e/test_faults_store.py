"""The quarantine store frozen (SIGSTOP on a private PostgreSQL): every store
call meets its deadline with 451 4.3.0, clean mail keeps flowing, and the hold
that commits late is not held a second time on the client's retry."""

from __future__ import annotations

import smtplib
import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

from tests.conftest import require_system
from tests.e2e.harness import Gateway, Sink
from tests.e2e.pgcluster import PgCluster, cluster_available

StartGateway = Callable[..., Gateway]

HOLD = (b"From: clerk@citrus.example\r\nTo: someone@example.com\r\nSubject: frozen store\r\n"
        b"Message-ID: <frozen-1@citrus.example>\r\n\r\nThe customer's SSN is 219-45-6789.\r\n")
CLEAN = b"Subject: clean while frozen\r\n\r\nNothing sensitive.\r\n"


@pytest.fixture
def cluster() -> Iterator[PgCluster]:
    require_system(cluster_available())
    pg = PgCluster().start()
    yield pg
    pg.stop()


def attempt(gateway: Gateway, rcpt: str, body: bytes) -> tuple[int, bytes, float]:
    started = time.monotonic()
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=60) as smtp:
        smtp.ehlo()
        smtp.mail("clerk@citrus.example")
        smtp.rcpt(rcpt)
        code, text = smtp.data(body)
    return code, text, time.monotonic() - started


def held_copies(cluster: PgCluster) -> int:
    with psycopg.connect(cluster.url) as conn:
        row = conn.execute("SELECT COUNT(*) FROM held_messages WHERE subject = 'frozen store'").fetchone()
    assert row is not None
    return int(row[0])


def test_frozen_store_answers_451_at_the_deadline_and_holds_once(
        cluster: PgCluster, sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port, {"quarantine": {"url": cluster.url, "timeout": 2}})
    warm = attempt(gateway, "someone@example.com", HOLD.replace(b"frozen-1", b"warm-up").replace(b"frozen store", b"warm up"))
    assert warm[0] == 250, warm
    cluster.freeze()
    try:
        results: list[tuple[int, bytes, float]] = []
        holds = [threading.Thread(target=lambda: results.append(attempt(gateway, "someone@example.com", HOLD)))
                 for _ in range(3)]
        for t in holds:
            t.start()
        time.sleep(0.5)
        clean = attempt(gateway, "desk@citrus.example", CLEAN)   # needs no store
        for t in holds:
            t.join(60)
        assert clean[0] == 250, clean
        assert [(code, text[:5]) for code, text, _ in results] == [(451, b"4.3.0")] * 3
        assert max(took for _, _, took in results) < 30    # deadline 2 s; generous under load
        assert gateway.metric('dlp_store_errors_total{reason="timeout"}') >= 3
    finally:
        cluster.thaw()
    # The client retries; the attempts that were waiting commit late, but the
    # message is held once and the retry is told its id.
    code, text, _ = attempt(gateway, "someone@example.com", HOLD)
    assert code == 250, text
    time.sleep(1)
    assert held_copies(cluster) == 1
    held_as = text.decode().split("held for review as ")[1].split()[0]
    with psycopg.connect(cluster.url) as conn:
        row = conn.execute("SELECT id FROM held_messages WHERE subject = 'frozen store'").fetchone()
    assert row is not None and row[0] == held_as


def test_sigterm_with_the_store_frozen_stops_within_the_grace(
        cluster: PgCluster, sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port, {"quarantine": {"url": cluster.url, "timeout": 1}, "shutdown_grace": 3})
    assert attempt(gateway, "someone@example.com", HOLD)[0] == 250
    cluster.freeze()
    try:
        code, text, _ = attempt(gateway, "someone@example.com", HOLD.replace(b"frozen-1", b"frozen-2"))
        assert (code, text[:5]) == (451, b"4.3.0")     # a store thread is now stuck in a commit
        started = time.monotonic()
        assert gateway.stop(timeout=30) == 0             # the stuck thread does not hold the exit
        assert time.monotonic() - started < 30
    finally:
        cluster.thaw()
