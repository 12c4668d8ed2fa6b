"""SQL of the audit log: append (inside the caller's transaction), read, browse, count."""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from datetime import datetime

from gateway.quarantine.records import (
    AuditEntry,
    AuditQuery,
    QuarantineError,
    require_aware,
    utc_now,
)
from gateway.quarantine.sql.base import Execute, Row, SqlBase


class AuditSql(SqlBase):
    """The audit log's statements."""

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
