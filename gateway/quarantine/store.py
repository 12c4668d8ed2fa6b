"""The quarantine store interface and the SQL logic both backends share.

Envelope, subject, verdict reasons and masked findings live in clear columns so
the review app can search them; the original message is only ever stored as
AES-GCM ciphertext (see ``crypto``). Every write is a single statement in its
own committed transaction, so ``put`` is durable before it returns and
``decide`` is an atomic compare-and-set on ``status = 'held'``.
"""

from __future__ import annotations

import builtins
import json
import secrets
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from gateway.quarantine.crypto import Key, seal, unseal

HELD = "held"
DECISIONS = frozenset({"released", "deleted"})

Row = Sequence[object]

_COLUMNS = (
    "id, received_at, mail_from, rcpt_tos, subject, profile, action, reasons, "
    "findings, size, status, decided_by, decided_at, note"
)


class QuarantineError(Exception):
    """Base class for quarantine store failures."""


class UnknownMessageError(QuarantineError, KeyError):
    """No held message has the requested id."""


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


class QuarantineStore(Protocol):
    """Durable, encrypted storage for held messages plus an audit log."""

    def put(self, message: HeldMessage, content: bytes) -> None: ...
    def get(self, id: str) -> HeldMessage | None: ...
    def content(self, id: str) -> bytes: ...
    def list(
        self, *, status: str | None = None, profile: str | None = None,
        limit: int = 50, offset: int = 0,
    ) -> builtins.list[HeldMessage]: ...
    def count(self, status: str | None = HELD) -> int: ...
    def decide(self, id: str, status: str, by: str, note: str | None = None) -> bool: ...
    def audit(
        self, event: str, actor: str, message_id: str | None, details: dict[str, object]
    ) -> None: ...
    def audit_since(self, since: datetime) -> builtins.list[dict[str, object]]: ...
    def close(self) -> None: ...


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

    # -- dialect hooks -------------------------------------------------------

    @abstractmethod
    def _write(self, sql: str, params: Sequence[object]) -> int:
        """Run one statement in its own committed transaction; return rowcount."""

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

    def put(self, message: HeldMessage, content: bytes) -> None:
        """Store ``message`` and its encrypted content, committed before return."""
        received = require_aware(message.received_at, "received_at")
        decided = message.decided_at
        params: builtins.list[object] = [
            message.id, self._time_in(received), message.mail_from,
            json.dumps(list(message.rcpt_tos)), message.subject, message.profile,
            message.action, json.dumps(list(message.reasons)),
            json.dumps(list(message.findings), sort_keys=True), message.size,
            message.status, message.decided_by,
            None if decided is None else self._time_in(require_aware(decided, "decided_at")),
            message.note, self._key.key_id, seal(self._key, message.id, content),
        ]
        self._write(
            f"INSERT INTO held_messages ({_COLUMNS}, key_id, content) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params,
        )

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
        return unseal(self._keys, str(key_id), id, _as_bytes(blob))

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

    def decide(self, id: str, status: str, by: str, note: str | None = None) -> bool:
        """Move ``id`` from held to ``status``; False if it was no longer held."""
        if status not in DECISIONS:
            raise ValueError(f"decision must be one of {sorted(DECISIONS)}")
        changed = self._write(
            "UPDATE held_messages SET status = ?, decided_by = ?, decided_at = ?, note = ? "
            "WHERE id = ? AND status = ?",
            [status, by, self._time_in(utc_now()), note, id, HELD],
        )
        return changed == 1

    def audit(
        self, event: str, actor: str, message_id: str | None, details: dict[str, object]
    ) -> None:
        """Append one record to the audit log."""
        self._write(
            "INSERT INTO audit_log (at, event, actor, message_id, details) "
            "VALUES (?, ?, ?, ?, ?)",
            [self._time_in(utc_now()), event, actor, message_id,
             json.dumps(details, sort_keys=True)],
        )

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
         findings, size, status, decided_by, decided_at, note) = row
        return HeldMessage(
            id=str(id_), received_at=self._time_out(received), mail_from=str(mail_from),
            rcpt_tos=tuple(str(r) for r in _json_tuple(rcpts)), subject=str(subject),
            profile=str(profile), action=str(action),
            reasons=tuple(str(r) for r in _json_tuple(reasons)),
            findings=_findings(findings), size=int(str(size)), status=str(status),
            decided_by=None if decided_by is None else str(decided_by),
            decided_at=None if decided_at is None else self._time_out(decided_at),
            note=None if note is None else str(note),
        )


def _as_bytes(value: object) -> bytes:
    """Return a BLOB/BYTEA column value as bytes."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise QuarantineError("content column is not binary")
