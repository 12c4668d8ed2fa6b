"""Quarantine store contract tests, run against real SQLite and real PostgreSQL.

PostgreSQL runs when DLP_TEST_POSTGRES_URL is set (each test gets its own
schema, dropped afterwards); otherwise those cases skip, or fail under CI.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.quarantine import (
    AuditEntry,
    ContentDecryptError,
    DatabaseError,
    HeldMessage,
    Key,
    KeyFileError,
    QuarantineError,
    SchemaTooNewError,
    UnknownMessageError,
    new_id,
    open_store,
)
from gateway.quarantine.crypto import seal, unseal
from gateway.quarantine.migrations import latest
from gateway.quarantine.sql import SqlStore
from tests.conftest import require_system

ROOT = Path(__file__).resolve().parents[2]
SSN = "219-45-6789"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CONTENT = (
    b"From: a@citrus.example\r\nSubject: payroll\r\n\r\nSSN " + SSN.encode()
    + b"\r\n\xff\xfe\x00\x80 8-bit \xe9t\xe9\r\n"
)


@dataclass
class Backend:
    """A fresh, empty database plus raw access to it for the tests."""

    kind: str
    url: str  # the same database as an open_store URL
    opener: Callable[[Key, tuple[Key, ...]], SqlStore]
    raw_rows: Callable[[str], list[tuple[object, ...]]]
    raw_execute: Callable[[str], None]
    raw_bytes: Callable[[], bytes]

    def open(self, key: Key, *old_keys: Key) -> SqlStore:
        """Open a new store (its own connection) on this database."""
        return self.opener(key, old_keys)


def _sqlite_backend(path: Path) -> Backend:
    from gateway.quarantine.sqlite import SqliteStore

    def rows(query: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(path) as conn:
            result = list(conn.execute(query).fetchall())
        conn.close()
        return result

    def execute(statement: str) -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute(statement)
        finally:
            conn.close()

    def raw() -> bytes:
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))

    return Backend("sqlite", f"sqlite:///{path}", lambda key, old: SqliteStore(path, key, old), rows, execute, raw)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield _sqlite_backend(tmp_path / "quarantine.sqlite")
        return
    url = os.environ.get("DLP_TEST_POSTGRES_URL")
    if not url:
        require_system("DLP_TEST_POSTGRES_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)")
        return
    yield from _postgres_backend(url)


def _postgres_backend(url: str) -> Iterator[Backend]:
    import psycopg
    from psycopg import sql

    from gateway.quarantine.postgres import PostgresStore

    schema = f"dlp_test_{random.getrandbits(48):012x}"
    admin = psycopg.connect(url, autocommit=True)
    admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))

    def rows(query: str) -> list[tuple[object, ...]]:
        admin.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        return list(admin.execute(query).fetchall())

    def execute(statement: str) -> None:
        admin.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        admin.execute(statement)

    def raw() -> bytes:
        values = rows("SELECT * FROM held_messages") + rows("SELECT * FROM audit_log")
        return b"|".join(
            v if isinstance(v, bytes) else str(v).encode() for row in values for v in row
        )

    try:
        yield Backend(
            "postgres", f"{url}{'&' if '?' in url else '?'}schema={schema}", lambda key, old: PostgresStore(url, key, old, schema=schema),
            rows, execute, raw
        )
    finally:
        admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        admin.close()


@pytest.fixture
def key() -> Key:
    return Key.generate()


@pytest.fixture
def store(backend: Backend, key: Key) -> Iterator[SqlStore]:
    opened = backend.open(key)
    try:
        yield opened
    finally:
        opened.close()


def held(received_at: datetime = T0, **changes: object) -> HeldMessage:
    """Return a held message with masked findings only."""
    message = HeldMessage(
        id=new_id(), received_at=received_at, mail_from="clerk@citrus.example",
        rcpt_tos=("a@example.com", "b@example.org"), subject="Payroll for March",
        profile="lancaster-lce", action="quarantine", reasons=("sensitive-data",),
        findings=({"entity": "US_SSN", "segment": "body", "start": 42, "end": 53,
                   "score": 0.85, "masked": "***-**-6789"},),
        size=len(CONTENT), status="held", decided_by=None, decided_at=None, note=None,
    )
    return replace(message, **changes)  # type: ignore[arg-type]


# -- storing and reading -------------------------------------------------------

def test_put_then_get_returns_equal_message(store: SqlStore) -> None:
    message = held()
    store.put(message, CONTENT)
    assert store.get(message.id) == message
    assert store.get("Q0000000000000000") is None
    with pytest.raises(UnknownMessageError):
        store.content("Q0000000000000000")


def test_list_newest_first_with_filters_and_count(store: SqlStore) -> None:
    messages = [held(T0 + timedelta(minutes=i), profile="p1" if i % 2 else "p2")
                for i in range(6)]
    for message in random.sample(messages, len(messages)):
        store.put(message, CONTENT)
    newest_first = [m.id for m in reversed(messages)]
    assert [m.id for m in store.list()] == newest_first
    assert [m.id for m in store.list(limit=2, offset=1)] == newest_first[1:3]
    assert [m.profile for m in store.list(profile="p1")] == ["p1"] * 3
    assert store.count() == 6 and store.count(None) == 6
    assert store.decide(messages[0].id, "released", "reviewer")
    assert store.count() == 5 and store.count("released") == 1 and store.count(None) == 6
    assert [m.id for m in store.list(status="released")] == [messages[0].id]
    assert [m.id for m in store.list(status="held", profile="p2")] == [
        messages[4].id, messages[2].id]


def test_content_round_trips_every_byte(store: SqlStore) -> None:
    every_byte = bytes(range(256)) * 4 + b"\r\n.\r\n" + CONTENT
    message = held(size=len(every_byte))
    store.put(message, every_byte)
    assert store.content(message.id) == every_byte


def test_content_is_encrypted_at_rest(store: SqlStore, backend: Backend, key: Key) -> None:
    message = held()
    store.put(message, CONTENT)
    assert SSN.encode() in store.content(message.id)
    raw = backend.raw_bytes()
    assert message.id.encode() in raw and b"***-**-6789" in raw  # the rows are there
    assert SSN.encode() not in raw and b"219456789" not in raw
    assert b"payroll\r\n" not in raw  # no plaintext body either
    [(key_id,)] = backend.raw_rows("SELECT key_id FROM held_messages")
    assert key_id == key.key_id


def test_wrong_key_is_a_clear_error(backend: Backend, key: Key) -> None:
    message = held()
    first = backend.open(key)
    first.put(message, CONTENT)
    first.close()
    other = backend.open(Key.generate())
    try:
        with pytest.raises(ContentDecryptError, match="key id"):
            other.content(message.id)
        assert other.get(message.id) == message  # clear columns still readable
    finally:
        other.close()


def test_old_keys_still_decrypt_after_rotation(backend: Backend, key: Key) -> None:
    message = held()
    first = backend.open(key)
    first.put(message, CONTENT)
    first.close()
    new_key = Key.generate()
    store = backend.open(new_key, key)
    try:
        assert store.content(message.id) == CONTENT
        second = held()
        store.put(second, CONTENT)
        assert store.content(second.id) == CONTENT
        rows = {i: k for i, k in backend.raw_rows("SELECT id, key_id FROM held_messages")}
        assert rows == {message.id: key.key_id, second.id: new_key.key_id}
    finally:
        store.close()


def test_database_errors_never_quote_row_values(store: SqlStore) -> None:
    message = held(subject=f"SSN {SSN}")
    store.put(message, CONTENT)
    for bad in (message, held(subject=f"SSN {SSN}", status="bogus")):
        with pytest.raises(DatabaseError) as caught:
            store.put(bad, CONTENT)
        shown = "".join(traceback.format_exception(caught.value))
        assert SSN not in shown and "Failing row" not in shown
    assert store.count(None) == 1


def test_open_store_by_url_reaches_the_same_database(
    backend: Backend, key: Key, tmp_path: Path
) -> None:
    message = held()
    first = open_store(backend.url, tmp_path / "unused", key)
    try:
        first.put(message, CONTENT)
    finally:
        first.close()
    second = backend.open(key)
    try:
        assert second.content(message.id) == CONTENT
    finally:
        second.close()


# -- decisions -------------------------------------------------------------------

def test_decide_happens_exactly_once(store: SqlStore) -> None:
    message = held()
    store.put(message, CONTENT)
    with pytest.raises(ValueError):
        store.decide(message.id, "held", "reviewer")
    assert store.decide(message.id, "released", "alice", "checked with sender")
    assert not store.decide(message.id, "deleted", "bob")
    assert not store.decide(message.id, "released", "bob")
    assert not store.decide("Q0000000000000000", "released", "bob")
    decided = store.get(message.id)
    assert decided is not None
    assert (decided.status, decided.decided_by, decided.note) == (
        "released", "alice", "checked with sender")
    assert decided.decided_at is not None and decided.decided_at.tzinfo is not None


def test_racing_releases_from_separate_connections_win_once(
    store: SqlStore, backend: Backend, key: Key
) -> None:
    message = held()
    store.put(message, CONTENT)
    stores = [backend.open(key) for _ in range(8)]
    barrier = threading.Barrier(len(stores))
    results: list[bool] = []
    lock = threading.Lock()

    def release(s: SqlStore, n: int) -> None:
        barrier.wait()
        won = s.decide(message.id, "released", f"reviewer-{n}")
        with lock:
            results.append(won)

    threads = [threading.Thread(target=release, args=(s, n)) for n, s in enumerate(stores)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        for s in stores:
            s.close()
    assert sorted(results) == [False] * 7 + [True]
    assert store.count("released") == 1


# -- audit log -------------------------------------------------------------------

def test_audit_appends_and_reads_since(store: SqlStore, backend: Backend) -> None:
    since = datetime.now(UTC)
    store.audit("quarantined", "gateway", "Q1", {"profile": "p1", "entities": ["US_SSN"]})
    store.audit("released", "alice", "Q1", {})
    store.audit("login", "alice", None, {"ip": "127.0.0.1"})
    records = store.audit_since(since)
    assert [(r["event"], r["actor"], r["message_id"]) for r in records] == [
        ("quarantined", "gateway", "Q1"), ("released", "alice", "Q1"), ("login", "alice", None)]
    assert records[0]["details"] == {"entities": ["US_SSN"], "profile": "p1"}
    assert all(isinstance(r["at"], datetime) and r["at"] >= since for r in records)
    assert store.audit_since(datetime.now(UTC) + timedelta(seconds=5)) == []
    with pytest.raises(ValueError):
        store.audit_since(datetime(2026, 1, 1))  # naive
    with pytest.raises(Exception, match="append-only"):
        backend.raw_execute("DELETE FROM audit_log")
    assert len(store.audit_since(since)) == 3


def test_audit_returns_increasing_sequence_numbers(store: SqlStore) -> None:
    first = store.audit("exception", "gateway", None, {"purpose": "collections"})
    second = store.audit("exception", "gateway", None, {"purpose": "collections"})
    assert second > first > 0
    assert [r["seq"] for r in store.audit_since(T0)] == [first, second]


def test_put_with_audit_writes_both_or_neither(store: SqlStore) -> None:
    message = held()
    seq = store.put(message, CONTENT, AuditEntry("quarantine", "gateway", {"profile": "p1"}))
    assert seq is not None
    [record] = store.audit_since(T0)
    assert (record["seq"], record["event"], record["message_id"]) == (seq, "quarantine", message.id)
    with pytest.raises(DatabaseError):  # duplicate id: the audit record must not be written either
        store.put(message, CONTENT, AuditEntry("quarantine", "gateway", {}))
    assert len(store.audit_since(T0)) == 1 and store.count(None) == 1


def test_decide_with_audit_records_only_the_decision_that_took_effect(store: SqlStore) -> None:
    message = held()
    store.put(message, CONTENT)
    entry = AuditEntry("release", "alice", {"note": "approved"})
    assert store.decide(message.id, "released", "alice", "approved", audit=entry)
    assert not store.decide(message.id, "deleted", "bob", audit=AuditEntry("delete", "bob", {}))
    assert [(r["event"], r["actor"]) for r in store.audit_since(T0)] == [("release", "alice")]


# -- migrations ------------------------------------------------------------------

def test_migrations_apply_once(store: SqlStore, backend: Backend, key: Key) -> None:
    store.put(held(), CONTENT)
    store.migrate()
    again = backend.open(key)
    again.close()
    versions = backend.raw_rows("SELECT version FROM schema_version ORDER BY version")
    assert [v for (v,) in versions] == list(range(1, latest(backend.kind) + 1))
    assert store.count() == 1


def test_newer_schema_is_refused(store: SqlStore, backend: Backend, key: Key) -> None:
    backend.raw_execute(
        "INSERT INTO schema_version (version, applied_at) VALUES (999, 'future')")
    with pytest.raises(SchemaTooNewError, match="version 999"):
        backend.open(key)


# -- keys ------------------------------------------------------------------------

def test_key_file_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "quarantine.key"
    key = Key.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_bytes()) == 32
    assert Key.load_or_create(path) == key  # never overwritten
    assert len(key.key_id) == 8 and key.material.hex() not in repr(key)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_insecure_key_file_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "quarantine.key"
    Key.load_or_create(path)
    path.chmod(mode)
    with pytest.raises(KeyFileError, match=str(path)):
        Key.load_or_create(path)


def test_truncated_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "quarantine.key"
    path.write_bytes(b"short")
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="32 bytes"):
        Key.load_or_create(path)


def test_ciphertext_is_bound_to_its_message_id() -> None:
    key = Key.generate()
    blob = seal(key, "QAAAA", CONTENT)
    assert unseal([key], key.key_id, "QAAAA", blob) == CONTENT
    with pytest.raises(ContentDecryptError, match="failed authentication"):
        unseal([key], key.key_id, "QBBBB", blob)
    assert seal(key, "QAAAA", CONTENT) != blob  # fresh nonce each time


# -- opening ---------------------------------------------------------------------

def test_open_store_picks_sqlite_paths(tmp_path: Path) -> None:
    key = Key.generate()
    default = open_store(None, tmp_path, key)
    default.close()
    assert (tmp_path / "quarantine.sqlite").exists()
    explicit = open_store(f"sqlite:///{tmp_path}/other.sqlite", tmp_path, key)
    explicit.close()
    assert (tmp_path / "other.sqlite").exists()
    with pytest.raises(QuarantineError):
        open_store("mysql://x", tmp_path, key)


def test_sqlite_uses_wal_with_full_sync(tmp_path: Path) -> None:
    from gateway.quarantine.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "q.sqlite", Key.generate())
    try:
        assert store._conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert store._conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    finally:
        store.close()


_CHILD = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from gateway.quarantine import HeldMessage, Key, open_store

store = open_store(None, Path(sys.argv[1]), Key.load_or_create(Path(sys.argv[2])))
store.put(HeldMessage(
    id=sys.argv[3], received_at=datetime.now(UTC), mail_from="a@x", rcpt_tos=("b@y",),
    subject="s", profile="p", action="quarantine", reasons=("r",), findings=(), size=3,
    status="held", decided_by=None, decided_at=None, note=None), b"\\xffok")
print("stored", flush=True)
time.sleep(120)
"""


def test_sqlite_put_survives_sigkill_right_after_return(tmp_path: Path) -> None:
    key_path, message_id = tmp_path / "q.key", new_id()
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(tmp_path), str(key_path), message_id],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "stored"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    store = open_store(None, tmp_path, Key.load_or_create(key_path))
    try:
        assert store.content(message_id) == b"\xffok"
        assert store.count() == 1
    finally:
        store.close()


# -- review app queries ------------------------------------------------------------

def test_search_filters_like_the_review_queue(store: SqlStore) -> None:
    from gateway.quarantine.store import MessageQuery

    a = held(T0, profile="cerritos", mail_from="Clerk@Cerritos.example", subject="Payroll 100%_done",
             rcpt_tos=("x@partner.example",))
    b = held(T0 + timedelta(days=1), profile="citrus-water", mail_from="billing@citrus.example",
             subject="Water bill", findings=({"entity": "CREDIT_CARD", "segment": "body", "start": 0,
                                              "end": 19, "score": 1.0, "masked": "**** 1111"},))
    c = held(T0 + timedelta(days=2), profile="cerritos", subject="Pension", rcpt_tos=("y@example.com",))
    for m in (a, b, c):
        store.put(m, CONTENT)
    store.decide(c.id, "deleted", "alice")

    def ids(**kw: object) -> list[str]:
        query = MessageQuery(**kw)  # type: ignore[arg-type]
        found = [m.id for m in store.search(query)]
        assert store.search_count(query) == len(found)
        return found

    assert ids() == [c.id, b.id, a.id]
    assert ids(status="held") == [b.id, a.id]
    assert ids(allowed=("cerritos",)) == [c.id, a.id] and ids(allowed=()) == []
    assert ids(allowed=("cerritos",), profile="citrus-water") == []
    assert ids(entity="CREDIT_CARD") == [b.id] and ids(entity="US_SSN") == [c.id, a.id]
    assert ids(sender="clerk@cerritos") == [a.id]          # case-insensitive substring
    assert ids(recipient_domain="partner.example") == [a.id]
    assert ids(recipient_domain="example") == []           # the whole domain, not a piece
    assert ids(text="BILL") == [b.id] and ids(text="billing@") == [b.id]
    assert ids(text="100%_") == [a.id] and ids(text="%") == [a.id] and ids(text="_") == [a.id]
    assert ids(received_from=T0 + timedelta(days=1)) == [c.id, b.id]
    assert ids(received_until=T0 + timedelta(days=1)) == [a.id]
    assert [m.id for m in store.search(MessageQuery(), limit=1, offset=1)] == [b.id]
    assert store.summary() == [("cerritos", "deleted", 1), ("cerritos", "held", 1), ("citrus-water", "held", 1)]
    assert store.summary(("citrus-water",)) == [("citrus-water", "held", 1)]


def test_audit_pages_days_and_counts(store: SqlStore) -> None:
    from gateway.quarantine.store import AuditQuery

    since = datetime.now(UTC) - timedelta(seconds=1)
    store.audit("quarantine", "gateway", "Q1", {"profile": "cerritos"})
    store.audit("release", "alice", "Q1", {"profile": "cerritos", "note": "ok"})
    store.audit("block", "gateway", None, {"profile": "citrus-water"})
    store.audit("login-failed", "mallory", None, {"ip": "10.0.0.9", "reason": "bad-credentials"})
    store.audit("login-failed", "mallory", None, {"ip": "10.0.0.99", "reason": "bad-credentials"})
    assert [r["event"] for r in store.audit_page(AuditQuery())][:3] == ["login-failed", "login-failed", "block"]
    assert store.audit_count(AuditQuery(actor="alice")) == 1
    assert [r["event"] for r in store.audit_page(AuditQuery(message_id="Q1"))] == ["release", "quarantine"]
    assert [r["event"] for r in store.audit_page(AuditQuery(profiles=("cerritos",)))] == ["release", "quarantine"]
    assert store.audit_count(AuditQuery(profiles=())) == 0
    assert store.audit_page(AuditQuery(), limit=2, offset=4)[0]["event"] == "quarantine"
    today = datetime.now(UTC).date().isoformat()
    assert store.audit_daily(since, ("block", "quarantine", "release")) == {
        (today, "block"): 1, (today, "quarantine"): 1, (today, "release"): 1}
    assert store.audit_daily(since, ("block", "release"), ("cerritos",)) == {(today, "release"): 1}
    assert store.count_audit("login-failed", since, actor="mallory") == 2
    assert store.count_audit("login-failed", since, detail=("ip", "10.0.0.9")) == 1   # not 10.0.0.99
    assert store.count_audit("login-failed", datetime.now(UTC) + timedelta(seconds=5), actor="mallory") == 0


def test_review_users_are_stored_and_disabled_with_audit(store: SqlStore) -> None:
    from gateway.quarantine.store import AuditQuery, ReviewUser

    user = ReviewUser("ortiz", "reviewer", ("cerritos",), "$argon2id$fake")
    assert store.add_user(user, AuditEntry("user-add", "admin", {"user": "ortiz"}))
    assert not store.add_user(user)
    got = store.get_user("ortiz")
    assert got is not None and (got.role, got.profiles, got.disabled) == ("reviewer", ("cerritos",), False)
    assert got.created_at is not None and "fake" not in repr(got)
    with pytest.raises(DatabaseError):
        store.add_user(ReviewUser("x", "superuser", (), "h"))
    assert store.disable_user("ortiz", AuditEntry("user-disable", "admin", {"user": "ortiz"}))
    assert not store.disable_user("ortiz", AuditEntry("user-disable", "admin", {"user": "ortiz"}))
    store.set_password_hash("ortiz", "$argon2id$new")
    assert [u.name for u in store.users()] == ["ortiz"]
    assert store.get_user("ortiz") == replace(got, disabled=True, password_hash="$argon2id$new")
    assert [r["event"] for r in store.audit_page(AuditQuery(actor="admin"))] == ["user-disable", "user-add"]


def test_a_claimed_message_is_released_only_by_its_claimant_and_deleted_by_no_one(store: SqlStore) -> None:
    message = held()
    store.put(message, CONTENT)
    assert store.claim(message.id, "alice")
    assert not store.claim(message.id, "bob")
    assert not store.claim(message.id, "bob", force=True)        # fresh: no takeover even with force
    assert not store.decide(message.id, "deleted", "alice")      # not while a release is under way
    assert not store.decide(message.id, "released", "bob")
    store.unclaim(message.id, "bob", "bob cannot give up alice's claim")
    assert not store.claim(message.id, "carol")
    store.unclaim(message.id, "alice", "550 refused")
    got = store.get(message.id)
    assert got is not None and got.last_error == "550 refused" and got.status == "held"
    assert store.claim(message.id, "bob") and store.decide(message.id, "released", "bob")


def test_a_stale_claim_is_taken_over_only_with_force(store: SqlStore, backend: Backend) -> None:
    message = held()
    store.put(message, CONTENT)
    assert store.claim(message.id, "alice")
    old = datetime.now(UTC) - timedelta(hours=1)
    stamp = old.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00") if backend.kind == "sqlite" else old.isoformat()
    backend.raw_execute(f"UPDATE held_messages SET claimed_at = '{stamp}'")
    assert not store.claim(message.id, "bob")
    assert store.claim(message.id, "bob", force=True)


def test_a_postgresql_connection_the_server_drops_is_replaced(key: Key) -> None:
    url = os.environ.get("DLP_TEST_POSTGRES_URL")
    if not url:
        require_system("DLP_TEST_POSTGRES_URL is not set")
        return
    from gateway.quarantine.postgres import PostgresStore
    for backend in _postgres_backend(url):
        store = backend.open(key)
        assert isinstance(store, PostgresStore)
        try:
            store.put(held(), CONTENT)
            backend.raw_execute(f"SELECT pg_terminate_backend({store._conn.info.backend_pid})")
            with pytest.raises(DatabaseError):   # the call that finds it lost fails: the client retries
                store.put(held(), CONTENT)
            store.put(held(), CONTENT)           # the next one reconnects
            assert store.count() == 2
        finally:
            store.close()


def test_deleting_erases_the_content_and_keeps_the_record(store: SqlStore, backend: Backend) -> None:
    from gateway.quarantine.store import ContentErasedError
    message = held(subject="payroll")
    store.put(message, CONTENT)
    assert store.decide(message.id, "deleted", "alice", "sent by mistake")
    with pytest.raises(ContentErasedError):
        store.content(message.id)
    kept = store.get(message.id)
    assert kept is not None and (kept.subject, kept.findings) == ("payroll", message.findings)
    [(blob,)] = backend.raw_rows("SELECT content FROM held_messages")
    assert bytes(blob) == b""  # type: ignore[arg-type]


def test_concurrent_writes_commit_together_and_fail_alone(store: SqlStore) -> None:
    duplicate = held()
    store.put(duplicate, CONTENT)
    messages = [held() for _ in range(24)]
    barrier = threading.Barrier(25)
    errors: list[BaseException] = []

    def put(message: HeldMessage) -> None:
        barrier.wait()
        try:
            store.put(message, CONTENT, AuditEntry("quarantine", "gateway", {}))
        except DatabaseError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=put, args=(m,)) for m in [*messages, duplicate]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(errors) == 1            # the duplicate id, and only it
    assert store.count(None) == 25     # every other write committed
    assert len(store.audit_since(T0)) == 24
    assert all(store.content(m.id) == CONTENT for m in messages)


# -- review app: sessions, the last admin, exact audit filters, keyset paging ------

def test_logout_and_disable_bump_the_session_epoch(store: SqlStore) -> None:
    from gateway.quarantine.store import AuditQuery, ReviewUser

    def epoch() -> int:
        user = store.get_user("ortiz")
        assert user is not None
        return user.session_epoch

    store.add_user(ReviewUser("ortiz", "reviewer", (), "$argon2id$fake"))
    assert epoch() == 0
    store.end_sessions("ortiz", AuditEntry("logout", "ortiz", {"ip": "10.0.0.1"}))
    assert epoch() == 1
    assert store.disable_user("ortiz")
    assert epoch() == 2
    [record] = store.audit_page(AuditQuery(event="logout"))
    assert record["actor"] == "ortiz" and record["details"] == {"ip": "10.0.0.1"}


def test_the_last_enabled_admin_cannot_be_disabled(store: SqlStore) -> None:
    from gateway.quarantine.store import AuditQuery, LastAdminError, ReviewUser

    for name, role in (("root", "admin"), ("ops", "admin"), ("ortiz", "reviewer")):
        store.add_user(ReviewUser(name, role, (), "$argon2id$fake"))
    assert store.disable_user("ops", AuditEntry("user-disable", "root", {"user": "ops"}))
    with pytest.raises(LastAdminError):
        store.disable_user("root", AuditEntry("user-disable", "cli", {"user": "root"}))
    assert store.disable_user("ortiz")   # reviewers need no admin left behind
    root = store.get_user("root")
    assert root is not None and not root.disabled
    assert [r["details"] for r in store.audit_page(AuditQuery(event="user-disable"))] == [{"user": "ops"}]


def test_audit_detail_and_profile_filters_match_exactly(store: SqlStore) -> None:
    from gateway.quarantine.store import AuditQuery

    since = datetime.now(UTC) - timedelta(seconds=1)
    store.audit("release", "alice", "Q1", {"profile": "cerritos"})
    store.audit("release", "alice", "Q2", {"profile": "Cerritos"})
    store.audit("release", "alice", "Q3", {"profile": "cerritos-north"})
    store.audit("login-failed", "Mallory", None, {"ip": "fe80::a", "reason": "bad-credentials"})
    store.audit("login-failed", "mallory", None, {"ip": "fe80::A", "reason": "bad-credentials"})
    assert [r["message_id"] for r in store.audit_page(AuditQuery(profiles=("cerritos",)))] == ["Q1"]
    assert store.count_audit("login-failed", since, detail=("ip", "fe80::a")) == 1
    assert store.count_audit("login-failed", since, actor="mallory", detail=("ip", "fe80::A")) == 1
    assert store.count_audit("login-failed", since, actor="mallory", detail=("ip", "fe80::a")) == 0


def test_audit_pages_by_sequence(store: SqlStore) -> None:
    from gateway.quarantine.store import AuditQuery

    seqs = [store.audit("release", "alice", f"Q{n}", {}) for n in range(5)]
    first = store.audit_page(AuditQuery(), limit=2)
    assert [r["seq"] for r in first] == [seqs[4], seqs[3]]
    store.audit("release", "alice", "QNEW", {})   # arrives between two pages
    rest = store.audit_page(AuditQuery(), limit=10, before=int(str(first[-1]["seq"])))
    assert [r["seq"] for r in rest] == seqs[2::-1]


def test_two_admins_disabling_each_other_at_once_leave_one(backend: Backend, key: Key) -> None:
    from gateway.quarantine.store import LastAdminError, ReviewUser

    stores = [backend.open(key), backend.open(key)]
    try:
        for name in ("root", "ops"):
            stores[0].add_user(ReviewUser(name, "admin", (), "$argon2id$fake"))
        barrier = threading.Barrier(2)
        outcomes: list[object] = []

        def disable(store: SqlStore, name: str) -> None:
            barrier.wait()
            try:
                outcomes.append(store.disable_user(name))
            except LastAdminError as exc:
                outcomes.append(exc)

        threads = [threading.Thread(target=disable, args=pair) for pair in zip(stores, ("root", "ops"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(map(type, outcomes), key=str) == sorted([bool, LastAdminError], key=str)
        assert [u.disabled for u in stores[0].users()].count(False) == 1
    finally:
        for store in stores:
            store.close()


def test_a_release_with_an_unknown_outcome_can_be_deleted_only_with_force(store: SqlStore) -> None:
    message = held()
    store.put(message, CONTENT)
    assert store.claim(message.id, "alice")
    store.keep_claim(message.id, "alice", "outcome unknown")
    assert not store.claim(message.id, "bob")                        # not sent again by itself
    assert not store.decide(message.id, "deleted", "bob")
    assert store.decide(message.id, "deleted", "bob", "it did go out", force=True)
    got = store.get(message.id)
    assert got is not None and got.status == "deleted"


# -- hold: a retry of the same message finds its first copy ---------------------


def test_hold_is_idempotent_on_the_retry_key(backend: Backend, key: Key) -> None:
    from gateway.quarantine.store import retry_key
    first, second = backend.open(key), backend.open(key)   # two gateways, one database
    try:
        same = retry_key("<m1@x>", "clerk@citrus.example", ["a@example.com"], CONTENT)
        since = T0 - timedelta(days=5)
        results: list[tuple[str, int | None]] = []

        def hold_once(store: SqlStore) -> None:
            audit = AuditEntry("quarantine", "gateway", {"n": 1})
            results.append(store.hold(held(), CONTENT, audit, same, since))

        threads = [threading.Thread(target=hold_once, args=(s,)) for s in (first, second, first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len({held_as for held_as, _ in results}) == 1
        assert sorted(seq is None for _, seq in results) == [False, True, True, True]
        assert first.count() == 1
        other = retry_key("<m1@x>", "clerk@citrus.example", ["a@example.com"], CONTENT + b"x")
        assert first.hold(held(), CONTENT, None, other, since)[0] != results[0][0]
        # Outside the window the same message is held again (a new send, days later).
        later = held(received_at=T0 + timedelta(days=9))
        assert first.hold(later, CONTENT, None, same, T0 + timedelta(days=4))[0] == later.id
        assert first.count() == 3
    finally:
        first.close()
        second.close()
