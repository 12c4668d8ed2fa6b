"""At most one release: two gateway instances sharing one PostgreSQL
quarantine, two reviewers clicking Release at the same moment."""

from __future__ import annotations

import os
import random
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway import config
from gateway.quarantine import open_from_settings
from gateway.quarantine import release as releasing
from gateway.quarantine.store import AuditQuery
from tests.conftest import require_system
from tests.e2e.harness import Gateway, Sink, free_port, wait_for_port
from tests.e2e.review.conftest import PASSWORD, add_user
from tests.e2e.review.seed import compose, hold


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    url = os.environ.get("DLP_TEST_POSTGRES_URL")
    if not url:
        require_system("DLP_TEST_POSTGRES_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)")
        return
    import psycopg
    from psycopg import sql
    schema = f"dlp_review_{random.getrandbits(48):012x}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield f"{url}{'&' if '?' in url else '?'}schema={schema}"
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory, pg_url: str) -> Iterator[tuple[list[Gateway], Sink]]:
    """Two gateways, one quarantine: the same database, key and session secret."""
    shared = tmp_path_factory.mktemp("shared")
    sink = Sink().start()
    sink.handler.data_delay = 0.3   # widen the window in which both could relay
    gateways = []
    for n in range(2):
        gateway = Gateway(tmp_path_factory.mktemp(f"gw{n}"), sink.port, {
            "quarantine": {"url": pg_url, "key_file": str(shared / "quarantine.key")},
            "review": {"listen": f"127.0.0.1:{free_port()}", "secret_file": str(shared / "review.secret")}})
        gateway.write_config()
        gateways.append(gateway)
    add_user(gateways[0].config_dir, "alice", "admin", "")
    add_user(gateways[0].config_dir, "dave", "reviewer", "cerritos")
    try:
        for gateway in gateways:
            gateway.start()
            wait_for_port(_port(gateway))
        yield gateways, sink
    finally:
        for gateway in gateways:
            gateway.stop()
        sink.stop()


def _port(gateway: Gateway) -> int:
    return int(str(gateway.settings["review"]["listen"]).rsplit(":", 1)[1])


def _client(gateway: Gateway, name: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=f"http://127.0.0.1:{_port(gateway)}", timeout=30)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token
    reply = client.post("/login", data={"csrf": token.group(1), "name": name, "password": PASSWORD})
    assert reply.status_code == 303, reply.text
    page = client.get("/queue").text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token
    return client, token.group(1)


def test_two_reviewers_on_two_gateways_release_once(twins: tuple[list[Gateway], Sink]) -> None:
    gateways, sink = twins
    settings = config.load(gateways[0].config_dir)
    clients = [_client(gateways[0], "alice"), _client(gateways[1], "dave")]
    for _ in range(3):
        held = hold(settings, compose("a@cerritos.example", ["x@example.com"], "Race", "SSN 219-45-6789\n"),
                    "a@cerritos.example", ["x@example.com"], "cerritos", "Race")
        barrier = threading.Barrier(2)
        replies: list[str] = []

        def click(client: httpx.Client, token: str, barrier: threading.Barrier = barrier,
                  held: Any = held, replies: list[str] = replies) -> None:
            barrier.wait()
            reply = client.post(f"/messages/{held.id}/release", data={"csrf": token, "note": "race"})
            replies.append(client.get(reply.headers["location"]).text if reply.status_code == 303 else reply.text)

        threads = [threading.Thread(target=click, args=pair) for pair in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        delivered = [m for m in sink.messages if f"quarantine={held.id}".encode() in m.content]
        assert len(delivered) == 1
        assert sum("Released " + held.id in text for text in replies) == 1
        assert sum("Not released" in text for text in replies) == 1
        store: Any = open_from_settings(settings)
        try:
            assert store.get(held.id).status == "released"
            assert store.audit_count(AuditQuery(event="release", message_id=held.id)) == 1
        finally:
            store.close()
    for client, _ in clients:
        client.close()


def test_eight_connections_racing_release_deliver_once(twins: tuple[list[Gateway], Sink],
                                                        tmp_path: Path) -> None:
    gateways, sink = twins
    settings = config.load(gateways[0].config_dir)
    held = hold(settings, compose("a@cerritos.example", ["x@example.com"], "Race", "SSN 219-45-6789\n"),
                "a@cerritos.example", ["x@example.com"], "cerritos", "Race")
    stores: list[Any] = [open_from_settings(settings) for _ in range(8)]
    barrier = threading.Barrier(len(stores))
    outcomes: list[releasing.Outcome] = []
    relay = settings.relay

    def go(store: Any, n: int) -> None:
        barrier.wait()
        outcomes.append(releasing.release(store, relay, held.id, f"reviewer-{n}", "supervisor J. Ortiz"))

    threads = [threading.Thread(target=go, args=(s, n)) for n, s in enumerate(stores)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for s in stores:
            s.close()
    assert sorted(o.done for o in outcomes) == [False] * 7 + [True]
    assert len([m for m in sink.messages if f"quarantine={held.id}".encode() in m.content]) == 1
