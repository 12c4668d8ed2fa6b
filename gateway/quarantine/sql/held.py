"""SQL of held messages and release claims: hold, read, decide, claim, search."""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable
from datetime import UTC, datetime

from gateway import failpoints
from gateway.quarantine.crypto import seal, unseal
from gateway.quarantine.records import (
    CLAIM_STALE,
    DECISIONS,
    HELD,
    AuditEntry,
    ContentErasedError,
    HeldMessage,
    MessageQuery,
    QuarantineError,
    UnknownMessageError,
    require_aware,
    utc_now,
)
from gateway.quarantine.sql.audit import AuditSql
from gateway.quarantine.sql.base import Execute, Row, in_, json_tuple

_COLUMNS = (
    "id, received_at, mail_from, rcpt_tos, subject, profile, action, reasons, "
    "findings, size, status, decided_by, decided_at, note, last_error"
)


class HeldSql(AuditSql):
    """Held messages (encrypted content, clear envelope and reasons) and their claims."""

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

    def _query(self, query: MessageQuery) -> tuple[str, builtins.list[object]]:
        """Return a WHERE clause and parameters for ``query``."""
        clauses: builtins.list[str] = []
        params: builtins.list[object] = []
        for column, value in (("status", query.status), ("profile", query.profile)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if query.allowed is not None:
            clauses.append(in_("profile", query.allowed))
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
            rcpt_tos=tuple(str(r) for r in json_tuple(rcpts)), subject=str(subject),
            profile=str(profile), action=str(action),
            reasons=tuple(str(r) for r in json_tuple(reasons)),
            findings=_findings(findings), size=int(str(size)), status=str(status),
            decided_by=None if decided_by is None else str(decided_by),
            decided_at=None if decided_at is None else self._time_out(decided_at),
            note=None if note is None else str(note),
            last_error=None if last_error is None else str(last_error),
        )


def _findings(text: object) -> tuple[dict[str, object], ...]:
    """Decode the masked-findings column."""
    items = json_tuple(text)
    if not all(isinstance(item, dict) for item in items):
        raise QuarantineError("corrupt findings column")
    return tuple(dict(item) for item in items if isinstance(item, dict))


def _as_bytes(value: object) -> bytes:
    """Return a BLOB/BYTEA column value as bytes."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise QuarantineError("content column is not binary")


def _like(text: str) -> str:
    """Escape LIKE wildcards in ``text`` (the escape character is ``!``)."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
