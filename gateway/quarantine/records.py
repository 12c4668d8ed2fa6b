"""The quarantine's records: what is stored about held messages, audit entries
and review accounts, the queries over them, and the store's errors.

Plain data, nothing of a database: every layer may import it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from gateway.quarantine.crypto import ContentDecryptError
from gateway.verdict import Status

HELD = Status.HELD
DECISIONS = frozenset({Status.RELEASED, Status.DELETED})
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
