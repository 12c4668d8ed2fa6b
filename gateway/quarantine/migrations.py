"""Versioned schema migrations for the quarantine store, per SQL dialect.

``MIGRATIONS[dialect][n]`` is the list of statements that moves a database from
version ``n`` to ``n + 1``. The ``schema_version`` table records each applied
version; opening a store applies the missing steps in one transaction,
so applying twice is a no-op. A database at a newer version than this code knows
is refused rather than guessed at. Append new steps; never edit shipped ones.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.quarantine.records import QuarantineError

VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
)

_HELD_COLUMNS = """
    id TEXT PRIMARY KEY,
    received_at {ts} NOT NULL,
    mail_from TEXT NOT NULL,
    rcpt_tos TEXT NOT NULL,
    subject TEXT NOT NULL,
    profile TEXT NOT NULL,
    action TEXT NOT NULL,
    reasons TEXT NOT NULL,
    findings TEXT NOT NULL,
    size BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('held', 'released', 'deleted')),
    decided_by TEXT,
    decided_at {ts},
    note TEXT,
    key_id TEXT NOT NULL,
    content {blob} NOT NULL
"""

SQLITE: list[list[str]] = [
    [
        f"CREATE TABLE held_messages ({_HELD_COLUMNS.format(ts='TEXT', blob='BLOB')})",
        "CREATE INDEX held_messages_received ON held_messages (received_at)",
        "CREATE INDEX held_messages_status ON held_messages (status, received_at)",
        "CREATE TABLE audit_log (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " at TEXT NOT NULL, event TEXT NOT NULL, actor TEXT NOT NULL,"
        " message_id TEXT, details TEXT NOT NULL)",
        "CREATE INDEX audit_log_at ON audit_log (at)",
    ],
    [
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
        " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
        " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    ],
]

# v3: a release in progress is claimed first (so two reviewers or two gateways
# cannot both relay it), and a release the downstream refused keeps its error.
_CLAIM = [
    "ALTER TABLE held_messages ADD COLUMN claimed_by TEXT",
    "ALTER TABLE held_messages ADD COLUMN claimed_at {ts}",
    "ALTER TABLE held_messages ADD COLUMN last_error TEXT",
]
SQLITE.append([step.format(ts="TEXT") for step in _CLAIM])

POSTGRES: list[list[str]] = [
    [
        f"CREATE TABLE held_messages ({_HELD_COLUMNS.format(ts='TIMESTAMPTZ', blob='BYTEA')})",
        "CREATE INDEX held_messages_received ON held_messages (received_at)",
        "CREATE INDEX held_messages_status ON held_messages (status, received_at)",
        "CREATE TABLE audit_log (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " at TIMESTAMPTZ NOT NULL, event TEXT NOT NULL, actor TEXT NOT NULL,"
        " message_id TEXT, details TEXT NOT NULL)",
        "CREATE INDEX audit_log_at ON audit_log (at)",
    ],
    [
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log"
        " FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
    ],
]

POSTGRES.append([step.format(ts="TIMESTAMPTZ") for step in _CLAIM])

# v4: accounts of the review app, and indexes for its queue filters and for
# counting recent failed logins.
_REVIEW = [
    "CREATE TABLE review_users (name TEXT PRIMARY KEY,"
    " role TEXT NOT NULL CHECK (role IN ('reviewer', 'admin')),"
    " profiles TEXT NOT NULL, password_hash TEXT NOT NULL,"
    " disabled INTEGER NOT NULL DEFAULT 0, created_at {ts} NOT NULL)",
    "CREATE INDEX held_messages_profile ON held_messages (profile, status, received_at)",
    "CREATE INDEX audit_log_event ON audit_log (event, at)",
]
SQLITE.append([step.format(ts="TEXT") for step in _REVIEW])
POSTGRES.append([step.format(ts="TIMESTAMPTZ") for step in _REVIEW])

# v5: a per-account session epoch, carried in the review app's session cookie;
# logging out or disabling the account bumps it, which ends every session.
_SESSIONS = ["ALTER TABLE review_users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0"]
SQLITE.append(list(_SESSIONS))
POSTGRES.append(list(_SESSIONS))

# v6: a digest of Message-ID, envelope and content, so that a client's retry of
# a hold whose reply was lost (a store past its deadline) finds the first copy.
_RETRY_KEY = [
    "ALTER TABLE held_messages ADD COLUMN retry_key TEXT",
    "CREATE INDEX held_messages_retry_key ON held_messages (retry_key, received_at)",
]
SQLITE.append(list(_RETRY_KEY))
POSTGRES.append(list(_RETRY_KEY))

MIGRATIONS: dict[str, list[list[str]]] = {"sqlite": SQLITE, "postgres": POSTGRES}


class SchemaTooNewError(QuarantineError):
    """The database schema is newer than this code understands."""


def latest(dialect: str) -> int:
    """Return the schema version this code migrates ``dialect`` up to."""
    return len(MIGRATIONS[dialect])


def pending(dialect: str, current: int, where: str) -> list[tuple[int, list[str]]]:
    """Return ``(new_version, statements)`` steps still to apply after ``current``."""
    known = latest(dialect)
    if current > known:
        raise SchemaTooNewError(
            f"quarantine database {where} is at schema version {current}, but this "
            f"gateway only knows up to version {known}; upgrade the gateway"
        )
    steps = MIGRATIONS[dialect]
    return [(n + 1, steps[n]) for n in range(current, known)]


def apply_step(run: Callable[[str], None], version: int, statements: list[str]) -> None:
    """Run one migration step and record its version (caller owns the transaction)."""
    for statement in statements:
        run(statement)
    run(
        "INSERT INTO schema_version (version, applied_at) "
        f"VALUES ({int(version)}, CAST(CURRENT_TIMESTAMP AS TEXT))"
    )
