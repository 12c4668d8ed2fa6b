"""The quarantine store interface and the SQL logic both backends share.

Envelope, subject, verdict reasons and masked findings live in clear columns so
the review app can search them; the original message is only ever stored as
AES-GCM ciphertext (see ``crypto``). Every write is a single statement in its
own committed transaction, so ``put`` is durable before it returns and
``decide`` is an atomic compare-and-set on ``status = 'held'``.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import secrets
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from gateway import failpoints, siem
from gateway.quarantine.crypto import ContentDecryptError, Key, seal, unseal

_T = TypeVar("_T")

HELD = "held"
DECISIONS = frozenset({"released", "deleted"})

Row = Sequence[object]
# Runs one statement inside the caller's transaction: (rowcount, first row or None).
Execute = Callable[[str, Sequence[object]], tuple[int, "Row | None"]]

_COLUMNS = (
    "id, received_at, mail_from, rcpt_tos, subject, profile, action, reasons, "
    "findings, size, status, decided_by, decided_at, note, last_error"
)
_USER_COLUMNS = "name, role, profiles, password_hash, disabled, created_at, session_epoch"
# A release claim older than this is taken to belong to a process that died.
CLAIM_STALE = timedelta(minutes=15)


class QuarantineError(Exception):
    """Base class for quarantine store failures."""


class ContentErasedError(ContentDecryptError):
    """The message was deleted: its content is gone, its record stays."""


class UnknownMessageError(QuarantineError, KeyError):
    """No held message has the requested id."""


class LastAdminError(QuarantineError):
    """Disabling this account would leave no enabled admin."""


class DatabaseError(QuarantineError):
    """The database refused a statement; the text never includes row values."""

    @classmethod
    def from_driver(cls, exc: Exception, code: str | None) -> DatabaseError:
        """Summarise a driver error by class and code only.

        Driver messages can quote the failing row (PostgreSQL's "Failing row
        contains ..."), which would put subjects or addresses into logs.
        """
        return cls(f"quarantine database error: {type(exc).__name__} ({code or 'no code'})")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit record to write together with a store change."""

    event: str
    actor: str
    details: dict[str, object]


@dataclass(frozen=True, slots=True)
class HeldMessage:
    """What is stored in clear about a quarantined message."""

    id: str
    received_at: datetime
    mail_from: str
    rcpt_tos: tuple[str, ...]
    subject: str
    profile: str
    action: str
    reasons: tuple[str, ...]
    findings: tuple[dict[str, object], ...]
    size: int
    status: str
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    last_error: str | None = None   # why the last release attempt failed


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """Filters over held messages for the review app; None means any.

    ``allowed`` limits the profiles at all (a reviewer's own); ``text``
    searches sender and subject; ``received_from`` is inclusive and
    ``received_until`` exclusive.
    """

    status: str | None = None
    allowed: tuple[str, ...] | None = None
    profile: str | None = None
    entity: str | None = None
    sender: str | None = None
    recipient_domain: str | None = None
    received_from: datetime | None = None
    received_until: datetime | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters over the audit log; None means any."""

    event: str | None = None
    actor: str | None = None
    message_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    profiles: tuple[str, ...] | None = None   # records naming one of these profiles


@dataclass(frozen=True, slots=True)
class ReviewUser:
    """An account of the review app; ``profiles`` empty means every profile."""

    name: str
    role: str                      # "reviewer" or "admin"
    profiles: tuple[str, ...]
    password_hash: str = field(repr=False)
    disabled: bool = False
    created_at: datetime | None = None
    # Bumped by logout and disable; a session cookie carrying an older one is refused.
    # Session bookkeeping, not part of the account, so it takes no part in equality.
    session_epoch: int = field(default=0, compare=False)


class QuarantineStore(Protocol):
    """Durable, encrypted storage for held messages plus an audit log."""

    def put(self, message: HeldMessage, content: bytes, audit: AuditEntry | None = None) -> int | None: ...
    def hold(self, message: HeldMessage, content: bytes, audit: AuditEntry | None, key: str,
             since: datetime) -> tuple[str, int | None]: ...
    def get(self, id: str) -> HeldMessage | None: ...
    def content(self, id: str) -> bytes: ...
    def list(
        self, *, status: str | None = None, profile: str | None = None,
        limit: int = 50, offset: int = 0,
    ) -> builtins.list[HeldMessage]: ...
    def count(self, status: str | None = HELD) -> int: ...
    def decide(self, id: str, status: str, by: str, note: str | None = None,
               audit: AuditEntry | None = None, force: bool = False) -> bool: ...
    def claim(self, id: str, by: str, force: bool = False) -> bool: ...
    def keep_claim(self, id: str, by: str, error: str) -> None: ...
    def unclaim(self, id: str, by: str, error: str | None) -> None: ...
    def audit(
        self, event: str, actor: str, message_id: str | None, details: dict[str, object]
    ) -> int: ...
    def audit_since(self, since: datetime) -> builtins.list[dict[str, object]]: ...
    def close(self) -> None: ...


class ReviewStore(QuarantineStore, Protocol):
    """What the review app needs beyond the gateway's own use of the store."""

    def search(self, query: MessageQuery, limit: int = 50, offset: int = 0) -> builtins.list[HeldMessage]: ...
    def search_count(self, query: MessageQuery) -> int: ...
    def summary(self, allowed: tuple[str, ...] | None = None) -> builtins.list[tuple[str, str, int]]: ...
    def audit_page(self, query: AuditQuery, limit: int = 100, offset: int = 0, *,
                   before: int | None = None) -> builtins.list[dict[str, object]]: ...
    def audit_count(self, query: AuditQuery) -> int: ...
    def audit_daily(self, since: datetime, events: Sequence[str],
                    profiles: tuple[str, ...] | None = None) -> dict[tuple[str, str], int]: ...
    def count_audit(self, event: str, since: datetime, *, actor: str | None = None,
                    detail: tuple[str, str] | None = None) -> int: ...
    def add_user(self, user: ReviewUser, audit: AuditEntry | None = None) -> bool: ...
    def get_user(self, name: str) -> ReviewUser | None: ...
    def users(self) -> builtins.list[ReviewUser]: ...
    def disable_user(self, name: str, audit: AuditEntry | None = None) -> bool: ...
    def end_sessions(self, name: str, audit: AuditEntry | None = None) -> None: ...
    def set_password_hash(self, name: str, password_hash: str) -> None: ...


def retry_key(message_id: str | None, mail_from: str, rcpt_tos: Sequence[str], content: bytes) -> str:
    """A digest naming one message as a client sends it: the same Message-ID,
    envelope and content on a retry give the same key.

    >>> retry_key("<a@b>", "x@y", ["z@w"], b"hi") == retry_key("<a@b>", "x@y", ["z@w"], b"hi")
    True
    >>> retry_key("<a@b>", "x@y", ["z@w"], b"hi") == retry_key("<a@b>", "x@y", ["z@w"], b"ho")
    False
    """
    digest = hashlib.sha256()
    for part in (message_id or "", mail_from, *rcpt_tos):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()


def new_id() -> str:
    """Return a fresh random quarantine id: "Q" and 16 hex digits."""
    return "Q" + secrets.token_hex(8).upper()


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def require_aware(value: datetime, name: str) -> datetime:
    """Return ``value`` in UTC, refusing naive datetimes."""
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def _json_tuple(text: object) -> tuple[object, ...]:
    """Decode a JSON list column into a tuple."""
    value = json.loads(str(text))
    if not isinstance(value, list):
        raise QuarantineError("corrupt JSON list column")
    return tuple(value)


def _findings(text: object) -> tuple[dict[str, object], ...]:
    """Decode the masked-findings column."""
    items = _json_tuple(text)
    if not all(isinstance(item, dict) for item in items):
        raise QuarantineError("corrupt findings column")
    return tuple(dict(item) for item in items if isinstance(item, dict))


class SqlStore(ABC):
    """QuarantineStore over one DB-API connection; subclasses supply the dialect.

    SQL is written with ``?`` placeholders; a dialect may rewrite them. One
    connection per store, serialised by a lock, so a store may be shared by threads.
    """

    def __init__(self, key: Key, old_keys: Sequence[Key] = ()) -> None:
        self._key = key
        self._keys = (key, *old_keys)
        self._lock = threading.Lock()
        # audit records also go to the SIEM, once committed
        self._transaction = siem.audited(self._transaction)  # type: ignore[method-assign, assignment]

    # -- dialect hooks -------------------------------------------------------

    @abstractmethod
    def _transaction(self, work: Callable[[Execute], _T]) -> _T:
        """Run ``work`` inside one committed transaction (rolled back if it raises)."""

    def _write(self, sql: str, params: Sequence[object]) -> int:
        """Run one statement in its own committed transaction; return rowcount."""
        return self._transaction(lambda run: run(sql, params)[0])

    def _serialise(self, run: Execute, key: str) -> None:
        """Serialise writers of ``key`` until commit, across connections (a
        no-op where writers are serialised anyway)."""

    @abstractmethod
    def _read(self, sql: str, params: Sequence[object]) -> builtins.list[Row]:
        """Run one query and return all rows."""

    @abstractmethod
    def _time_in(self, value: datetime) -> object:
        """Return ``value`` (aware UTC) as the database stores it."""

    @abstractmethod
    def _time_out(self, value: object) -> datetime:
        """Return a stored timestamp as an aware UTC datetime."""

    @abstractmethod
    def migrate(self) -> None:
        """Apply pending schema migrations (a no-op when up to date)."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection."""

    # -- QuarantineStore -----------------------------------------------------

    def put(self, message: HeldMessage, content: bytes, audit: AuditEntry | None = None) -> int | None:
        """Store ``message`` and its encrypted content, committed before return.

        With ``audit``, its record is written in the same transaction (both or
        neither) and its sequence number returned.
        """
        return self._transaction(self._insert(message, content, audit, None))

    def hold(self, message: HeldMessage, content: bytes, audit: AuditEntry | None, key: str,
             since: datetime) -> tuple[str, int | None]:
        """Store ``message`` unless a copy with the same retry ``key`` was stored
        since ``since``; return the id actually held and the audit sequence number
        (None for a retry that found its first copy).

        A hold whose commit came after the client had given up (451) is found
        again on the client's retry instead of being held twice.
        """
        insert = self._insert(message, content, audit, key)
        find = "SELECT id FROM held_messages WHERE retry_key = ? AND received_at >= ?"
        after = self._time_in(require_aware(since, "since"))

        def work(run: Execute) -> tuple[str, int | None]:
            self._serialise(run, key)
            _, row = run(find, [key, after])
            if row is not None:
                return str(row[0]), None
            return message.id, insert(run)

        return self._transaction(work)

    def _insert(self, message: HeldMessage, content: bytes, audit: AuditEntry | None,
                key: str | None) -> Callable[[Execute], int | None]:
        """The work of one insert (with its audit record) inside a transaction."""
        received = require_aware(message.received_at, "received_at")
        decided = message.decided_at
        params: builtins.list[object] = [
            message.id, self._time_in(received), message.mail_from,
            json.dumps(list(message.rcpt_tos)), message.subject, message.profile,
            message.action, json.dumps(list(message.reasons)),
            json.dumps(list(message.findings), sort_keys=True), message.size,
            message.status, message.decided_by,
            None if decided is None else self._time_in(require_aware(decided, "decided_at")),
            message.note, message.last_error, self._key.key_id,
            seal(self._key, message.id, content), key,
        ]
        insert = (f"INSERT INTO held_messages ({_COLUMNS}, key_id, content, retry_key) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")

        def work(run: Execute) -> int | None:
            run(insert, params)
            seq = None if audit is None else self._append(run, audit, message.id)
            failpoints.reached("quarantine-before-commit")
            return seq

        return work

    def get(self, id: str) -> HeldMessage | None:
        """Return the held message with ``id``, or None."""
        rows = self._read(f"SELECT {_COLUMNS} FROM held_messages WHERE id = ?", [id])
        return self._message(rows[0]) if rows else None

    def content(self, id: str) -> bytes:
        """Return the decrypted original message."""
        rows = self._read("SELECT key_id, content FROM held_messages WHERE id = ?", [id])
        if not rows:
            raise UnknownMessageError(id)
        key_id, blob = rows[0]
        data = _as_bytes(blob)
        if not data:
            raise ContentErasedError(f"the content of {id} was erased when it was deleted")
        return unseal(self._keys, str(key_id), id, data)

    def list(
        self, *, status: str | None = None, profile: str | None = None,
        limit: int = 50, offset: int = 0,
    ) -> builtins.list[HeldMessage]:
        """Return messages newest first, optionally filtered."""
        where, params = self._filters(status=status, profile=profile)
        rows = self._read(
            f"SELECT {_COLUMNS} FROM held_messages{where} "
            "ORDER BY received_at DESC, id DESC LIMIT ? OFFSET ?",
            [*params, max(0, limit), max(0, offset)],
        )
        return [self._message(row) for row in rows]

    def count(self, status: str | None = HELD) -> int:
        """Return how many messages have ``status`` (all when None)."""
        where, params = self._filters(status=status, profile=None)
        rows = self._read(f"SELECT COUNT(*) FROM held_messages{where}", params)
        return int(str(rows[0][0]))

    def decide(self, id: str, status: str, by: str, note: str | None = None,
               audit: AuditEntry | None = None, force: bool = False) -> bool:
        """Move ``id`` from held to ``status``; False if it was no longer held
        (or someone else has claimed it for a release).

        With ``audit``, its record is written in the same transaction, and only
        when the decision took effect.
        """
        if status not in DECISIONS:
            raise ValueError(f"decision must be one of {sorted(DECISIONS)}")
        # A message being released may be released only by its claimant, and deleted by no one.
        # Deleting erases the content (the envelope, reasons and masked findings stay, for the record).
        erase = ", content = ?" if status == "deleted" else ""
        update = ("UPDATE held_messages SET status = ?, decided_by = ?, decided_at = ?, note = ?, "
                  f"claimed_by = NULL, claimed_at = NULL, last_error = NULL{erase} WHERE id = ? AND status = ? "
                  "AND (claimed_by IS NULL OR (claimed_by = ? AND ? = 'released') OR claimed_at < ?)")
        # force: a claim left by a release that died midway (stale) no longer stands in the way
        stale = self._time_in(utc_now() - CLAIM_STALE) if force else None
        params = [status, by, self._time_in(utc_now()), note, *([b""] if erase else []), id, HELD, by, status,
                  stale]

        def work(run: Execute) -> bool:
            changed = run(update, params)[0] == 1
            if changed and audit is not None:
                self._append(run, audit, id)
            return changed

        return self._transaction(work)

    def claim(self, id: str, by: str, force: bool = False) -> bool:
        """Claim held ``id`` for a release in progress; False if someone holds it.

        Only one claimant wins, across connections and gateway instances. A
        claim left by a release that died midway (the message may or may not
        have gone out) is taken over only with ``force``, and only once it is
        older than CLAIM_STALE: a person decides that it did not go out.
        """
        now = utc_now()
        stale = self._time_in(now - CLAIM_STALE) if force else None
        return self._write(
            "UPDATE held_messages SET claimed_by = ?, claimed_at = ? WHERE id = ? AND status = ? "
            "AND (claimed_at IS NULL OR claimed_at < ?)",
            [by, self._time_in(now), id, HELD, stale],
        ) == 1

    def keep_claim(self, id: str, by: str, error: str) -> None:
        """A release whose outcome is unknown (the link dropped after the message
        was sent): the claim stays, so nobody re-sends it by accident, but it is
        dated back so that a person who checked the downstream may force it at once."""
        self._write(
            "UPDATE held_messages SET claimed_at = ?, last_error = ? "
            "WHERE id = ? AND status = ? AND claimed_by = ?",
            [self._time_in(datetime(2000, 1, 1, tzinfo=UTC)), error, id, HELD, by],
        )

    def unclaim(self, id: str, by: str, error: str | None) -> None:
        """Give up ``by``'s claim: the message stays held, with ``error`` shown."""
        self._write(
            "UPDATE held_messages SET claimed_by = NULL, claimed_at = NULL, last_error = ? "
            "WHERE id = ? AND status = ? AND claimed_by = ?",
            [error, id, HELD, by],
        )

    def audit(
        self, event: str, actor: str, message_id: str | None, details: dict[str, object]
    ) -> int:
        """Append one record to the audit log; return its sequence number."""
        entry = AuditEntry(event, actor, details)
        return self._transaction(lambda run: self._append(run, entry, message_id))

    def _append(self, run: Execute, entry: AuditEntry, message_id: str | None) -> int:
        """Insert one audit record inside the caller's transaction."""
        _, row = run(
            "INSERT INTO audit_log (at, event, actor, message_id, details) "
            "VALUES (?, ?, ?, ?, ?) RETURNING seq",
            [self._time_in(utc_now()), entry.event, entry.actor, message_id,
             json.dumps(entry.details, sort_keys=True)],
        )
        if row is None:
            raise QuarantineError("audit insert returned no sequence number")
        return int(str(row[0]))

    def audit_since(self, since: datetime) -> builtins.list[dict[str, object]]:
        """Return audit records at or after ``since``, oldest first."""
        rows = self._read(
            "SELECT seq, at, event, actor, message_id, details FROM audit_log "
            "WHERE at >= ? ORDER BY seq",
            [self._time_in(require_aware(since, "since"))],
        )
        return [
            {"seq": int(str(seq)), "at": self._time_out(at), "event": event,
             "actor": actor, "message_id": mid, "details": json.loads(str(details))}
            for seq, at, event, actor, mid, details in rows
        ]

    # -- review app: search, summaries, audit browsing, accounts --------------

    def search(self, query: MessageQuery, limit: int = 50, offset: int = 0) -> builtins.list[HeldMessage]:
        """Return messages matching ``query``, newest first."""
        where, params = self._query(query)
        rows = self._read(
            f"SELECT {_COLUMNS} FROM held_messages{where} "
            "ORDER BY received_at DESC, id DESC LIMIT ? OFFSET ?",
            [*params, max(0, limit), max(0, offset)],
        )
        return [self._message(row) for row in rows]

    def search_count(self, query: MessageQuery) -> int:
        """Return how many messages match ``query``."""
        where, params = self._query(query)
        return int(str(self._read(f"SELECT COUNT(*) FROM held_messages{where}", params)[0][0]))

    def summary(self, allowed: tuple[str, ...] | None = None) -> builtins.list[tuple[str, str, int]]:
        """Return (profile, status, count) for every pair that has messages."""
        where, params = self._query(MessageQuery(allowed=allowed))
        rows = self._read(f"SELECT profile, status, COUNT(*) FROM held_messages{where} "
                          "GROUP BY profile, status ORDER BY profile, status", params)
        return [(str(p), str(s), int(str(n))) for p, s, n in rows]

    def audit_page(self, query: AuditQuery, limit: int = 100, offset: int = 0, *,
                   before: int | None = None) -> builtins.list[dict[str, object]]:
        """Return audit records matching ``query``, newest first; with ``before``,
        only those with a lower sequence number (keyset paging: records appended
        meanwhile do not shift the pages)."""
        where, params = self._audit_query(query)
        if before is not None:
            where += " AND seq < ?"
            params.append(before)
        rows = self._read(
            f"SELECT seq, at, event, actor, message_id, details FROM audit_log{where} "
            "ORDER BY seq DESC LIMIT ? OFFSET ?", [*params, max(0, limit), max(0, offset)])
        return [self._audit_record(row) for row in rows]

    def audit_count(self, query: AuditQuery) -> int:
        """Return how many audit records match ``query``."""
        where, params = self._audit_query(query)
        return int(str(self._read(f"SELECT COUNT(*) FROM audit_log{where}", params)[0][0]))

    def audit_daily(self, since: datetime, events: Sequence[str],
                    profiles: tuple[str, ...] | None = None) -> dict[tuple[str, str], int]:
        """Return {(UTC day "YYYY-MM-DD", event): count} of ``events`` since ``since``."""
        if not events:
            return {}
        where, params = self._audit_query(AuditQuery(since=since, profiles=profiles))
        marks = ", ".join("?" for _ in events)
        day = self._day("at")
        rows = self._read(
            f"SELECT {day}, event, COUNT(*) FROM audit_log{where} AND event IN ({marks}) "
            f"GROUP BY {day}, event", [*params, *events])
        return {(str(d), str(e)): int(str(n)) for d, e, n in rows}

    def count_audit(self, event: str, since: datetime, *, actor: str | None = None,
                    detail: tuple[str, str] | None = None) -> int:
        """Return how many ``event`` records since ``since`` have ``actor`` and
        the string ``detail`` (key, value) in their details."""
        where, params = self._audit_query(AuditQuery(event=event, actor=actor, since=since))
        if detail is not None:
            where += f" AND {self._contains('details')}"
            params.append(json.dumps({detail[0]: detail[1]})[1:-1])
        return int(str(self._read(f"SELECT COUNT(*) FROM audit_log{where}", params)[0][0]))

    def add_user(self, user: ReviewUser, audit: AuditEntry | None = None) -> bool:
        """Create ``user``; False when the name is taken."""
        if self.get_user(user.name) is not None:
            return False
        insert = ("INSERT INTO review_users (name, role, profiles, password_hash, disabled, created_at) "
                  "VALUES (?, ?, ?, ?, ?, ?)")
        params = [user.name, user.role, json.dumps(list(user.profiles)), user.password_hash,
                  int(user.disabled), self._time_in(utc_now())]

        def work(run: Execute) -> bool:
            run(insert, params)
            if audit is not None:
                self._append(run, audit, None)
            return True

        return self._transaction(work)

    def get_user(self, name: str) -> ReviewUser | None:
        """Return the account called ``name``, or None."""
        rows = self._read(f"SELECT {_USER_COLUMNS} FROM review_users WHERE name = ?", [name])
        return self._user(rows[0]) if rows else None

    def users(self) -> builtins.list[ReviewUser]:
        """Return every account, by name."""
        return [self._user(row) for row in
                self._read(f"SELECT {_USER_COLUMNS} FROM review_users ORDER BY name", [])]

    def disable_user(self, name: str, audit: AuditEntry | None = None) -> bool:
        """Disable ``name`` and end its sessions; False when there is no such enabled account.

        Raises LastAdminError instead of disabling the last enabled admin.
        """
        # The enabled admins are locked first (PostgreSQL; SQLite writers are serialised
        # anyway), so two admins disabling each other at once cannot both succeed.
        admins = ("SELECT COUNT(*) FROM (SELECT name FROM review_users WHERE role = 'admin' "
                  f"AND disabled = 0{self._for_update()}) AS enabled_admins")

        def work(run: Execute) -> bool:
            _, count = run(admins, [])
            _, target = run("SELECT role FROM review_users WHERE name = ? AND disabled = 0", [name])
            if target is None:
                return False
            if str(target[0]) == "admin" and count is not None and int(str(count[0])) <= 1:
                raise LastAdminError(f"{name!r} is the last enabled admin")
            run("UPDATE review_users SET disabled = 1, session_epoch = session_epoch + 1 WHERE name = ?",
                [name])
            if audit is not None:
                self._append(run, audit, None)
            return True

        return self._transaction(work)

    def end_sessions(self, name: str, audit: AuditEntry | None = None) -> None:
        """Bump ``name``'s session epoch, so every session issued to it so far is refused."""
        def work(run: Execute) -> None:
            run("UPDATE review_users SET session_epoch = session_epoch + 1 WHERE name = ?", [name])
            if audit is not None:
                self._append(run, audit, None)

        self._transaction(work)

    def set_password_hash(self, name: str, password_hash: str) -> None:
        """Replace the stored hash (a rehash with newer parameters)."""
        self._write("UPDATE review_users SET password_hash = ? WHERE name = ?", [password_hash, name])

    @abstractmethod
    def _day(self, column: str) -> str:
        """Return SQL for the UTC calendar day of timestamp ``column`` as YYYY-MM-DD."""

    @abstractmethod
    def _contains(self, column: str) -> str:
        """Return SQL true when text ``column`` contains the next parameter, exactly (case too)."""

    @abstractmethod
    def _for_update(self) -> str:
        """Return the clause that locks the rows a SELECT reads until commit ("" when writers are serialised)."""

    def _query(self, query: MessageQuery) -> tuple[str, builtins.list[object]]:
        """Return a WHERE clause and parameters for ``query``."""
        clauses: builtins.list[str] = []
        params: builtins.list[object] = []
        for column, value in (("status", query.status), ("profile", query.profile)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if query.allowed is not None:
            clauses.append(_in("profile", query.allowed))
            params.extend(query.allowed)
        likes = (("findings", query.entity and json.dumps({"entity": query.entity})[1:-1]),
                 ("mail_from", query.sender),
                 ("rcpt_tos", query.recipient_domain and f'@{query.recipient_domain}"'))
        for column, fragment in likes:
            if fragment:
                clauses.append(f"LOWER({column}) LIKE ? ESCAPE '!'")
                params.append("%" + _like(fragment.lower()) + "%")
        if query.text:
            clauses.append("(LOWER(mail_from) LIKE ? ESCAPE '!' OR LOWER(subject) LIKE ? ESCAPE '!')")
            params.extend(["%" + _like(query.text.lower()) + "%"] * 2)
        for op, moment in ((">=", query.received_from), ("<", query.received_until)):
            if moment is not None:
                clauses.append(f"received_at {op} ?")
                params.append(self._time_in(require_aware(moment, "received")))
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    def _audit_query(self, query: AuditQuery) -> tuple[str, builtins.list[object]]:
        """Return a WHERE clause (never empty) and parameters for ``query``."""
        clauses = ["1 = 1"]
        params: builtins.list[object] = []
        for column, value in (("event", query.event), ("actor", query.actor),
                              ("message_id", query.message_id)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        for op, moment in ((">=", query.since), ("<", query.until)):
            if moment is not None:
                clauses.append(f"at {op} ?")
                params.append(self._time_in(require_aware(moment, "audit time")))
        if query.profiles is not None:
            ors = [self._contains("details") for _ in query.profiles] or ["1 = 0"]
            clauses.append("(" + " OR ".join(ors) + ")")
            params.extend(json.dumps({"profile": p})[1:-1] for p in query.profiles)
        return " WHERE " + " AND ".join(clauses), params

    def _audit_record(self, row: Row) -> dict[str, object]:
        """Build an audit record dict from a row."""
        seq, at, event, actor, mid, details = row
        return {"seq": int(str(seq)), "at": self._time_out(at), "event": event,
                "actor": actor, "message_id": mid, "details": json.loads(str(details))}

    def _user(self, row: Row) -> ReviewUser:
        """Build a ReviewUser from a row in ``_USER_COLUMNS`` order."""
        name, role, profiles, password_hash, disabled, created, epoch = row
        return ReviewUser(str(name), str(role), tuple(str(p) for p in _json_tuple(profiles)),
                          str(password_hash), bool(int(str(disabled))),
                          None if created is None else self._time_out(created), int(str(epoch)))

    # -- helpers -------------------------------------------------------------

    @staticmethod
    def _filters(*, status: str | None, profile: str | None) -> tuple[str, builtins.list[object]]:
        """Return a WHERE clause and its parameters."""
        clauses: builtins.list[str] = []
        params: builtins.list[object] = []
        for column, value in (("status", status), ("profile", profile)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    def _message(self, row: Row) -> HeldMessage:
        """Build a HeldMessage from a row in ``_COLUMNS`` order."""
        (id_, received, mail_from, rcpts, subject, profile, action, reasons,
         findings, size, status, decided_by, decided_at, note, last_error) = row
        return HeldMessage(
            id=str(id_), received_at=self._time_out(received), mail_from=str(mail_from),
            rcpt_tos=tuple(str(r) for r in _json_tuple(rcpts)), subject=str(subject),
            profile=str(profile), action=str(action),
            reasons=tuple(str(r) for r in _json_tuple(reasons)),
            findings=_findings(findings), size=int(str(size)), status=str(status),
            decided_by=None if decided_by is None else str(decided_by),
            decided_at=None if decided_at is None else self._time_out(decided_at),
            note=None if note is None else str(note),
            last_error=None if last_error is None else str(last_error),
        )


def _as_bytes(value: object) -> bytes:
    """Return a BLOB/BYTEA column value as bytes."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise QuarantineError("content column is not binary")


def _like(text: str) -> str:
    """Escape LIKE wildcards in ``text`` (the escape character is ``!``)."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def _in(column: str, values: tuple[str, ...]) -> str:
    """Return ``column IN (?, ...)``, or a false condition for no values."""
    return f"{column} IN ({', '.join('?' for _ in values)})" if values else "1 = 0"
