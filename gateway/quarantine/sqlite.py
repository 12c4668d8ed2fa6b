"""SQLite quarantine store: one database file in WAL mode with synchronous=FULL.

WAL with ``synchronous=FULL`` fsyncs the log on every commit, so a committed
``put`` survives a process kill or power loss. Writers take the lock up front
(``BEGIN IMMEDIATE``) and wait up to ``busy_timeout`` for other processes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from gateway.quarantine import migrations
from gateway.quarantine.crypto import Key
from gateway.quarantine.records import DatabaseError, QuarantineError
from gateway.quarantine.sql import Execute, Row, SqlStore

BUSY_TIMEOUT_S = 30.0


class SqliteStore(SqlStore):
    """QuarantineStore backed by a SQLite file."""

    def __init__(self, path: Path, key: Key, old_keys: Sequence[Key] = ()) -> None:
        super().__init__(key, old_keys)
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        try:
            self._configure()
            self.migrate()
        except BaseException:
            self._conn.close()
            raise

    def _configure(self) -> None:
        """Switch to WAL with full fsync on commit."""
        mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()
        if mode is None or str(mode[0]).lower() != "wal":
            raise QuarantineError(f"cannot enable WAL mode on {self.path}")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")

    def migrate(self) -> None:
        """Apply pending schema migrations in one transaction."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(migrations.VERSION_TABLE)
                row = self._conn.execute(
                    "SELECT COALESCE(MAX(version), 0) FROM schema_version"
                ).fetchone()
                current = int(row[0]) if row else 0
                for version, steps in migrations.pending("sqlite", current, str(self.path)):
                    migrations.apply_step(self._run, version, steps)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def _run(self, sql: str) -> None:
        """Execute one statement inside the caller's transaction."""
        self._conn.execute(sql)

    @contextmanager
    def _batch(self) -> Iterator[Execute]:
        def run(sql: str, params: Sequence[object]) -> tuple[int, Row | None]:
            cursor = self._conn.execute(sql, tuple(params))
            row = cursor.fetchone() if cursor.description else None
            return cursor.rowcount, row

        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield run
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise DatabaseError.from_driver(exc, _code(exc)) from None

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        self._conn.execute("SAVEPOINT write")
        try:
            yield
        except Exception:
            self._conn.execute("ROLLBACK TO write")
            self._conn.execute("RELEASE write")
            raise
        self._conn.execute("RELEASE write")

    def _driver_error(self, exc: Exception) -> Exception:
        return DatabaseError.from_driver(exc, _code(exc)) if isinstance(exc, sqlite3.Error) else exc

    def _read(self, sql: str, params: Sequence[object]) -> list[Row]:
        with self._lock:
            try:
                return list(self._conn.execute(sql, tuple(params)).fetchall())
            except sqlite3.Error as exc:
                raise DatabaseError.from_driver(exc, _code(exc)) from None

    def _time_in(self, value: datetime) -> object:
        # Fixed-width ISO 8601 in UTC, so text order is time order.
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")

    def _time_out(self, value: object) -> datetime:
        return datetime.fromisoformat(str(value)).astimezone(UTC)

    def _day(self, column: str) -> str:
        return f"substr({column}, 1, 10)"

    def _contains(self, column: str) -> str:
        return f"instr({column}, ?) > 0"   # unlike LIKE, case-sensitive

    def _for_update(self) -> str:
        return ""   # BEGIN IMMEDIATE already serialises writers

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _code(exc: sqlite3.Error) -> str | None:
    """Return SQLite's error name, e.g. SQLITE_CONSTRAINT_PRIMARYKEY."""
    name = getattr(exc, "sqlite_errorname", None)
    return name if isinstance(name, str) else None
