"""PostgreSQL quarantine store (psycopg 3).

The URL is a libpq URL (``postgresql://user@host:port/db``). An optional
``schema`` query parameter, or the ``schema`` argument, selects the schema the
tables live in (it must exist); tests use this for isolation. Commits use the
server's ``synchronous_commit`` (on by default), so ``put`` is durable on return.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from gateway.quarantine import migrations
from gateway.quarantine.crypto import Key
from gateway.quarantine.records import DatabaseError, QuarantineError
from gateway.quarantine.sql import Execute, Row, SqlStore

# Arbitrary constant naming the advisory lock that serialises migrations.
_MIGRATION_LOCK = 0x0D1F_9A7E


def split_schema(url: str) -> tuple[str, str | None]:
    """Return ``url`` without its ``schema`` query parameter, and that schema."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for name, value in query if name == "schema"]
    rest = urlencode([(name, value) for name, value in query if name != "schema"])
    return urlunsplit(parts._replace(query=rest)), (schemas[-1] if schemas else None)


class PostgresStore(SqlStore):
    """QuarantineStore backed by PostgreSQL."""

    def __init__(
        self, url: str, key: Key, old_keys: Sequence[Key] = (), *, schema: str | None = None
    ) -> None:
        super().__init__(key, old_keys)
        conninfo, url_schema = split_schema(url)
        self.schema = schema or url_schema
        self._conninfo = conninfo
        self._conn = psycopg.connect(conninfo, autocommit=False)
        try:
            self._set_search_path()
            self.migrate()
        except BaseException:
            self._conn.close()
            raise

    def _set_search_path(self) -> None:
        """Point unqualified table names at the configured schema."""
        if self.schema is None:
            return
        self._conn.execute(
            sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema))
        )
        self._conn.commit()

    def migrate(self) -> None:
        """Apply pending schema migrations in one transaction."""
        where = f"schema {self.schema or 'public'}"
        with self._lock, self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            self._conn.execute(migrations.VERSION_TABLE)
            row = self._conn.execute(
                "SELECT COALESCE(MAX(version), 0) FROM schema_version"
            ).fetchone()
            current = int(row[0]) if row else 0
            for version, steps in migrations.pending("postgres", current, where):
                migrations.apply_step(self._run, version, steps)

    def _run(self, statement: str) -> None:
        """Execute one statement inside the caller's transaction."""
        self._conn.execute(statement)

    @contextmanager
    def _batch(self) -> Iterator[Execute]:
        def run(query: str, params: Sequence[object]) -> tuple[int, Row | None]:
            cursor = self._conn.execute(_pg(query), tuple(params))
            row = cursor.fetchone() if cursor.description else None
            return cursor.rowcount, row

        try:
            self._reconnect_if_lost()
            with self._conn.transaction():
                yield run
        except psycopg.Error as exc:
            raise DatabaseError.from_driver(exc, exc.sqlstate) from None

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        with self._conn.transaction():   # nested: a savepoint
            yield

    def _driver_error(self, exc: Exception) -> Exception:
        return DatabaseError.from_driver(exc, exc.sqlstate) if isinstance(exc, psycopg.Error) else exc

    def _reconnect_if_lost(self) -> None:
        """A connection the server dropped (restart, failover, idle kill) is
        replaced at the next call; the call that found it lost has failed (451)."""
        if not (self._conn.closed or self._conn.broken):
            return
        self._conn.close()
        self._conn = psycopg.connect(self._conninfo, autocommit=False)
        self._set_search_path()

    def _serialise(self, run: Execute, key: str) -> None:
        run("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", [key])

    def _read(self, query: str, params: Sequence[object]) -> list[Row]:
        with self._lock:
            try:
                self._reconnect_if_lost()
                with self._conn.transaction():
                    return list(self._conn.execute(_pg(query), tuple(params)).fetchall())
            except psycopg.Error as exc:
                raise DatabaseError.from_driver(exc, exc.sqlstate) from None

    def _time_in(self, value: datetime) -> object:
        return value.astimezone(UTC)

    def _time_out(self, value: object) -> datetime:
        if not isinstance(value, datetime):
            raise QuarantineError("timestamp column is not a timestamp")
        return value.astimezone(UTC)

    def _day(self, column: str) -> str:
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"

    def _contains(self, column: str) -> str:
        return f"strpos({column}, ?) > 0"

    def _for_update(self) -> str:
        return " FOR UPDATE"

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _pg(query: str) -> str:
    """Rewrite ``?`` placeholders to psycopg's ``%s``."""
    return query.replace("?", "%s")
